import type {
  CoreV1Api,
  KubernetesObject,
  V1Namespace,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../../src/api/index.js';
import { NamespaceLabeler, sovereignNamespaceLabels } from '../../../src/hub/namespace-labels.js';
import { checkReferences } from '../../../src/hub/references.js';
import type { RetainedClaimRecords } from '../../../src/hub/retained-claims.js';
import { policyLabelValue, policyNamespaceLabelKey } from '../../../src/placement/admission.js';
import { describeNamespaceSelector, policySelectsNamespace } from '../../../src/policy/namespaces.js';
import { desiredPolicyStatus } from '../../../src/policy/status.js';
import type { Writer } from '../../../src/runtime/apply.js';
import type { EventRecorder } from '../../../src/runtime/events.js';
import type { Informer } from '../../../src/runtime/informer.js';
import type { Logger } from '../../../src/runtime/logging.js';
import type { RetainedRecord } from '../../../src/storage/retention.js';

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
    refused: true,
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
    // Stalled as well, for the current generation: Ready=False alone reads as Current to kstatus.
    expect(s.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'AdmissionFailed',
      message: ready!.message,
      observedGeneration: 1,
    });
    expect(ready!.observedGeneration).toBe(1);
    const open = desiredPolicyStatus(policy(), [], 1, new Date(), { ...failure, failClosed: false });
    expect(open.conditions?.find((c) => c.type === 'Ready')!.message).toContain(
      'the fail-closed policy could not be applied either',
    );
  });

  it('reads a failure to answer (5xx, timeout) as work in progress, not as input to fix', () => {
    const transient = {
      message: 'ValidatingAdmissionPolicy hdh-placement-eu-hds: 503: unavailable',
      failClosed: true,
      refused: false,
    };
    const s = desiredPolicyStatus(policy(), [], 1, new Date(), transient);
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'AdmissionFailed',
    });
    // kstatus: Reconciling=True is InProgress; Stalled=True would be Failed while a retry may pass.
    expect(s.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
    expect(s.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'AdmissionFailed',
      observedGeneration: 1,
    });
    // Once applied, the Reconciling of the failure goes with it.
    const applied = desiredPolicyStatus(policy({}, s), [], 1, new Date());
    expect(applied.conditions?.find((c) => c.type === 'Reconciling')).toBeUndefined();
  });

  it('is no longer Stalled once the admission objects apply', () => {
    const failed = policy({}, desiredPolicyStatus(policy(), [], 1, new Date(), failure));
    const s = desiredPolicyStatus(
      failed,
      [{ labels: { 'topology.kubernetes.io/region': 'fr-par' } }],
      1,
      new Date(),
    );
    expect(s.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  });

  it('is reported by every hub using the policy (PlacementCompliant=False AdmissionFailed)', () => {
    const s = desiredPolicyStatus(policy(), [], 1, new Date(), failure);
    const [f] = checkReferences(hub(), policy({}, s));
    expect(f).toMatchObject({ type: 'PlacementCompliant', status: 'False', reason: 'AdmissionFailed' });
    expect(f!.message).toContain('SovereigntyPolicy "eu-hds" is not enforced at admission');
    // A policy that is merely without eligible nodes is not an admission failure.
    expect(checkReferences(hub(), policy({}, desiredPolicyStatus(policy(), [], 1, new Date())))).toEqual([]);
    // Nor does a failure the operator retries (the API server did not answer) stall the hubs.
    const retried = desiredPolicyStatus(policy(), [], 1, new Date(), { ...failure, refused: false });
    expect(checkReferences(hub(), policy({}, retried))).toEqual([]);
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

describe('NamespaceLabeler', () => {
  const key = policyNamespaceLabelKey('eu-hds');
  const cache = <T extends KubernetesObject>(objs: () => T[]) =>
    ({
      get: (name: string) => objs().find((o) => o.metadata?.name === name),
      list: (f?: (o: T) => boolean) => (f ? objs().filter(f) : objs()),
      // The namespace index only.
      byIndex: (_index: string, ns: string) => objs().filter((o) => o.metadata?.namespace === ns),
    }) as unknown as Informer<T>;
  const setup = () => {
    const namespaces = new Map<string, V1Namespace>();
    const hubs: HealthDataHub[] = [];
    const records: RetainedRecord[] = [];
    const claims: V1PersistentVolumeClaim[] = [];
    const calls = { recordLists: 0, writes: [] as Record<string, string>[] };
    const labeler = new NamespaceLabeler({
      writer: {
        apply: async (o: V1Namespace) => {
          calls.writes.push(o.metadata!.labels!);
          const ns = namespaces.get(o.metadata!.name!)!;
          ns.metadata!.labels = { ...ns.metadata!.labels, ...o.metadata!.labels };
          return o;
        },
      } as unknown as Writer,
      core: {
        readNamespace: async ({ name }: { name: string }) => namespaces.get(name),
        listNamespacedPersistentVolumeClaim: async () => ({ items: claims }),
      } as unknown as CoreV1Api,
      namespaces: cache(() => [...namespaces.values()]),
      hubs: cache(() => hubs),
      claims: cache(() => claims),
      records: {
        list: async () => {
          calls.recordLists++;
          return records;
        },
        remove: async () => {},
      } as unknown as RetainedClaimRecords,
      events: { record: async () => {} } as unknown as EventRecorder,
      log: { warn: () => {} } as unknown as Logger,
      operatorNamespace: 'hdh-system',
    });
    const ns = (name: string, labels: Record<string, string> = {}) =>
      namespaces.set(name, { metadata: { name, labels } });
    return { labeler, namespaces, hubs, records, claims, calls, ns };
  };

  it('writes nothing to, and lists no records again for, a namespace it does not hold', async () => {
    const t = setup();
    t.ns('unrelated', { team: 'a' });
    await t.labeler.sync('unrelated');
    await t.labeler.sync('unrelated');
    expect(t.calls.writes).toEqual([]);
    expect(t.calls.recordLists).toBe(1);
  });

  it('lists no records on the hot path: a namespace whose labels its hubs explain', async () => {
    const t = setup();
    t.ns('oncology');
    t.hubs.push(hub());
    await t.labeler.sync('oncology');
    expect(t.calls.writes).toEqual([{ [key]: 'true' }]);
    const lists = t.calls.recordLists;
    await t.labeler.sync('oncology');
    await t.labeler.sync('oncology');
    expect(t.calls.recordLists).toBe(lists);
    expect(t.calls.writes).toHaveLength(1);
  });

  it('reads the records once its hub is gone, and keeps the label a record holds', async () => {
    const t = setup();
    t.ns('oncology');
    t.hubs.push(hub());
    await t.labeler.sync('oncology');
    // Deleted with its data kept: the record names the policy; the tenant unmarked the claim.
    t.hubs.pop();
    t.claims.push({ metadata: { ...claim({}).metadata, uid: 'c-1' } });
    t.records.push({
      name: 'retained-claim-c-1',
      namespace: 'oncology',
      claim: 'data-research-0',
      claimUid: 'c-1',
      hub: 'research',
      hubUid: 'uid-1',
      policy: 'eu-hds',
    });
    const lists = t.calls.recordLists;
    // Someone removes the label; the record restores it.
    t.namespaces.get('oncology')!.metadata!.labels = {};
    await t.labeler.sync('oncology');
    expect(t.calls.recordLists).toBeGreaterThan(lists);
    expect(t.namespaces.get('oncology')!.metadata!.labels).toEqual({ [key]: 'true' });
  });
});
