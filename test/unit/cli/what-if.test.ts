import { explainReadError, parsePolicy } from '../../../src/cli/what-if.js';

const POLICY = `apiVersion: hdh.sovereign.eu/v1alpha1
kind: SovereigntyPolicy
metadata:
  name: eu-hds
spec:
  regions: [fr-par, eu-west-3]
  enforcement: Audit
`;

describe('parsePolicy', () => {
  it('reads one SovereigntyPolicy', () => {
    const p = parsePolicy(POLICY, 'p.yaml');
    expect(p.metadata.name).toBe('eu-hds');
    expect(p.spec).toEqual({ regions: ['fr-par', 'eu-west-3'], enforcement: 'Audit' });
  });

  it.each([
    ['', 'expected one SovereigntyPolicy, found 0 YAML documents'],
    [`${POLICY}---\n${POLICY}`, 'found 2 YAML documents'],
    ['a: [1', 'not valid YAML'],
    ['- 1\n', 'not a SovereigntyPolicy: not an object'],
    [POLICY.replace('hdh.sovereign.eu/v1alpha1', 'v1'), 'apiVersion is "v1", not hdh.sovereign.eu/v1alpha1'],
    [POLICY.replace('kind: SovereigntyPolicy', 'kind: HealthDataHub'), 'kind is "HealthDataHub"'],
    [POLICY.replace('  name: eu-hds\n', '  labels: {}\n'), 'metadata.name is missing'],
    [POLICY.replace('[fr-par, eu-west-3]', '[]'), 'spec.regions must list at least one region'],
    [POLICY.replace('enforcement: Audit', 'enforcement: Warn'), 'spec.enforcement must be Enforce or Audit'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(message);
  });
});

describe('explainReadError', () => {
  const server = 'https://k8s.example.eu:6443';
  const api = (code: number, message: string) => ({ code, body: JSON.stringify({ message }) });

  it.each([
    [
      api(403, 'pods is forbidden'),
      'list',
      'pods',
      'team-a',
      'forbidden: cannot list pods in namespace team-a (403: pods is forbidden)',
    ],
    [
      api(403, 'nodes is forbidden'),
      'list',
      'nodes',
      undefined,
      'forbidden: cannot list nodes (403: nodes is forbidden)',
    ],
    [
      api(404, 'the server could not find the requested resource'),
      'list',
      'sovereigntypolicies.hdh.sovereign.eu',
      undefined,
      'the CRDs are not installed: the API server at https://k8s.example.eu:6443 does not serve sovereigntypolicies.hdh.sovereign.eu',
    ],
    [
      api(401, 'Unauthorized'),
      'list',
      'nodes',
      undefined,
      "unauthorized at https://k8s.example.eu:6443: the kubeconfig's credentials were refused",
    ],
    [
      new Error('connect ECONNREFUSED 127.0.0.1:6443'),
      'list',
      'nodes',
      undefined,
      'no cluster reachable at https://k8s.example.eu:6443: connect ECONNREFUSED',
    ],
  ])('%j on %s %s', (error, verb, resource, namespace, message) => {
    expect(explainReadError(error, verb, resource, namespace, server).message).toContain(message);
  });
});
