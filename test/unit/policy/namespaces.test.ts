import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../../src/api/index.js';
import { checkReferences } from '../../../src/hub/references.js';
import { sovereignNamespaceLabels } from '../../../src/hub/namespace-labels.js';
import { policyLabelValue, policyNamespaceLabelKey } from '../../../src/placement/admission.js';
import { describeNamespaceSelector, policySelectsNamespace } from '../../../src/policy/namespaces.js';
import { desiredPolicyStatus } from '../../../src/policy/status.js';

const policy = (spec: Partial<SovereigntyPolicy['spec']> = {}, status?: SovereigntyPolicy['status']) =>
  ({
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name: 'eu-hds', generation: 1 },
    spec: { regions: ['fr-par'], ...spec },
    ...(status ? { status } : {}),
  }) as SovereigntyPolicy;
const hub = (policyName = 'eu-hds', name = 'research') =>
  ({
    metadata: { name, namespace: 'oncology', generation: 1 },
    spec: { policyName, storage: { size: '1Gi', storageClassName: 'encrypted-eu' } },
  }) as HealthDataHub;
const claim = (labels: Record<string, string>): V1PersistentVolumeClaim => ({
  metadata: { name: 'data-old-0', namespace: 'oncology', labels },
});
const TIER = 'tier.example.com/sovereign';

describe('namespaceSelector', () => {
  it('selects every namespace when omitted or empty', () => {
    expect(policySelectsNamespace(policy(), {})).toBe(true);
    expect(policySelectsNamespace(policy({ namespaceSelector: {} }), undefined)).toBe(true);
  });

  it('has metav1.LabelSelector semantics: matchLabels and every expression must hold', () => {
    const p = policy({
      namespaceSelector: {
        matchLabels: { [TIER]: 'true' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'staging'] },
          { key: 'quarantine', operator: 'DoesNotExist' },
          { key: 'team', operator: 'Exists' },
          { key: 'country', operator: 'NotIn', values: ['us'] },
        ],
      },
    });
    const ok = { [TIER]: 'true', env: 'prod', team: 'a' };
    expect(policySelectsNamespace(p, ok)).toBe(true);
    expect(policySelectsNamespace(p, { ...ok, country: 'fr' })).toBe(true);
    expect(policySelectsNamespace(p, { ...ok, [TIER]: 'false' })).toBe(false);
    expect(policySelectsNamespace(p, { ...ok, env: 'dev' })).toBe(false);
    expect(policySelectsNamespace(p, { ...ok, quarantine: '' })).toBe(false);
    expect(policySelectsNamespace(p, { [TIER]: 'true', env: 'prod' })).toBe(false);
    expect(policySelectsNamespace(p, { ...ok, country: 'us' })).toBe(false);
    expect(describeNamespaceSelector(p)).toBe(
      `${TIER}=true, env In [prod, staging], quarantine DoesNotExist, team Exists, country NotIn [us]`,
    );
  });

  it('stalls a hub whose namespace the policy does not select, saying which policy and how to fix', () => {
    const p = policy({ namespaceSelector: { matchLabels: { [TIER]: 'true' } } });
    const [failure, ...rest] = checkReferences(hub(), p, undefined, { other: 'x' });
    expect(rest).toEqual([]);
    expect(failure).toMatchObject({
      type: 'PlacementCompliant',
      status: 'False',
      reason: 'PolicyNotAllowed',
    });
    expect(failure!.message).toContain('SovereigntyPolicy "eu-hds" does not allow namespace oncology');
    expect(failure!.message).toContain(`${TIER}=true`);
    expect(failure!.message).toMatch(/label the namespace or widen the policy's namespaceSelector/);
    expect(checkReferences(hub(), p, undefined, { [TIER]: 'true' })).toEqual([]);
  });
});

describe('admission failure', () => {
  const failure = {
    message: 'ValidatingAdmissionPolicy hdh-placement-eu-hds: 403: forbidden',
    failClosed: true,
  };

  it('makes the policy Ready=False AdmissionFailed with the API server message, whatever the nodes', () => {
    const s = desiredPolicyStatus(
      policy(),
      [{ labels: { 'topology.kubernetes.io/region': 'fr-par' } }],
      1,
      new Date(),
      failure,
    );
    const ready = s.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'AdmissionFailed' });
    expect(ready!.message).toContain('hdh-placement-eu-hds: 403: forbidden');
    expect(ready!.message).toContain('fail closed');
    const open = desiredPolicyStatus(policy(), [], 1, new Date(), { ...failure, failClosed: false });
    expect(open.conditions?.find((c) => c.type === 'Ready')!.message).toContain(
      'the fail-closed policy could not be applied either',
    );
  });

  it('is reported by every hub using the policy (PlacementCompliant=False AdmissionFailed)', () => {
    const s = desiredPolicyStatus(policy(), [], 1, new Date(), failure);
    const [f] = checkReferences(hub(), policy({}, s));
    expect(f).toMatchObject({ type: 'PlacementCompliant', status: 'False', reason: 'AdmissionFailed' });
    expect(f!.message).toContain('SovereigntyPolicy "eu-hds" is not enforced at admission');
    // A policy that is merely without eligible nodes is not an admission failure.
    expect(checkReferences(hub(), policy({}, desiredPolicyStatus(policy(), [], 1, new Date())))).toEqual([]);
  });
});

describe('sovereignNamespaceLabels', () => {
  const key = policyNamespaceLabelKey('eu-hds');

  it('labels the namespace for the policy of every hub in it', () => {
    expect(sovereignNamespaceLabels([hub(), hub('us-any', 'other')])).toEqual({
      [key]: 'true',
      [policyNamespaceLabelKey('us-any')]: 'true',
    });
    expect(sovereignNamespaceLabels([])).toEqual({});
  });

  const record = (policyName: string, claimUid = 'c-1') => ({
    name: `retained-claim-${claimUid}`,
    namespace: 'oncology',
    claim: 'data-research-0',
    claimUid,
    hub: 'research',
    hubUid: 'uid-1',
    policy: policyName,
  });
  const marked = (labels: Record<string, string>, uid = 'c-1') => {
    const c = claim(labels);
    c.metadata = { ...c.metadata, uid };
    return c;
  };

  it('keeps the label of a deleted hub while its record of a retained claim remains', () => {
    const retained = marked({ 'hdh.sovereign.eu/retained-from': 'uid-1' });
    expect(sovereignNamespaceLabels([], [retained], {}, [record('eu-hds')])).toEqual({ [key]: 'true' });
    // The record, not the claim the tenant may edit, names the policy and holds the namespace.
    const relabelled = marked({
      'hdh.sovereign.eu/retained-from': 'uid-1',
      'hdh.sovereign.eu/policy': policyLabelValue('lab-global'),
    });
    expect(sovereignNamespaceLabels([], [relabelled], {}, [record('eu-hds')])).toEqual({ [key]: 'true' });
    expect(sovereignNamespaceLabels([], [marked({})], {}, [record('eu-hds')])).toEqual({ [key]: 'true' });
    // A claim label alone labels nothing for a policy it names.
    expect(sovereignNamespaceLabels([], [claim({ 'hdh.sovereign.eu/policy': 'eu-hds' })], {}, [])).toEqual(
      {},
    );
  });

  it('keeps every policy label when a claim marked retained has no record (kept by an older version)', () => {
    const legacy = claim({ 'hdh.sovereign.eu/retained-from': 'uid-1' });
    const live = { [key]: 'true', [policyNamespaceLabelKey('us-any')]: 'true', team: 'a' };
    expect(sovereignNamespaceLabels([], [legacy], live)).toEqual({
      [key]: 'true',
      [policyNamespaceLabelKey('us-any')]: 'true',
    });
  });

  it('maps a long policy name to the same key as the namespace label', () => {
    const long = 'p'.repeat(120);
    expect(Object.keys(sovereignNamespaceLabels([], [], {}, [record(long)]))).toEqual([
      policyNamespaceLabelKey(long),
    ]);
  });
});
