// hdh-gotools' own contract: kind configs decoded strictly with kind's types, kstatus on single
// objects and Lists, and a clear refusal of bad input (the cluster tests rely on all three).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goTools, kindConfig, kstatus } from '../../support/gotools.js';

const dir = mkdtempSync(join(tmpdir(), 'hdh-gotools-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const GOOD = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: hdh
nodes:
  - role: control-plane
  - role: worker
    labels:
      topology.kubernetes.io/region: fr-par
      sovereign.node-restriction.kubernetes.io/jurisdiction: EU
  - role: worker
`;

describe('kind-config', () => {
  it('summarises a valid config: every node with its role and labels', () => {
    expect(kindConfig(file('good.yaml', GOOD))).toEqual({
      name: 'hdh',
      nodes: [
        { role: 'control-plane', labels: {} },
        {
          role: 'worker',
          labels: {
            'topology.kubernetes.io/region': 'fr-par',
            'sovereign.node-restriction.kubernetes.io/jurisdiction': 'EU',
          },
        },
        { role: 'worker', labels: {} },
      ],
    });
  });

  it.each([
    [
      'an unknown field',
      GOOD.replace('    labels:', '    label:'),
      /field label not found in type v1alpha4.Node/,
    ],
    ['a misspelt top-level field', `${GOOD}networkin: {}\n`, /field networkin not found/],
    ['an unknown role', GOOD.replace('role: worker', 'role: master'), /"master" is not a valid node role/],
    ['no control plane', GOOD.replace('role: control-plane', 'role: worker'), /at least one control-plane/],
    [
      'another apiVersion',
      GOOD.replace('v1alpha4', 'v1alpha3'),
      /unknown apiVersion: kind.x-k8s.io\/v1alpha3/,
    ],
  ])('refuses %s', (_what, text, message) => {
    const r = goTools(['kind-config', file('bad.yaml', text)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

describe('kstatus', () => {
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'n' } };
  const stale = {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'HealthDataHub',
    metadata: { name: 'h', namespace: 'n', generation: 2 },
    status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] },
  };

  it('reads one object or every item of a List', () => {
    expect(kstatus(configMap)).toEqual([
      {
        kind: 'ConfigMap',
        namespace: 'n',
        name: 'a',
        status: 'Current',
        message: 'Resource is always ready',
      },
    ]);
    expect(
      kstatus({ apiVersion: 'v1', kind: 'List', items: [configMap, stale] }).map((r) => r.status),
    ).toEqual(['Current', 'InProgress']);
  });

  it.each([
    ['empty input', '', /no object on stdin/],
    ['not JSON', 'kind: ConfigMap', /not a JSON object/],
    ['no kind', '{"apiVersion": "v1"}', /not a Kubernetes object/],
  ])('refuses %s', (_what, input, message) => {
    const r = goTools(['kstatus'], input);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('refuses an unknown subcommand with the usage', () => {
    const r = goTools(['status']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown subcommand "status"[\s\S]*usage:/);
  });
});
