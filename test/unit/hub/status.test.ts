import { refusalReport } from '../../../src/hub/refusal.js';
import type {
  Condition,
  HealthDataHub,
  PlacementViolation,
  SovereigntyPolicy,
} from '../../../src/api/index.js';
import {
  desiredHubStatus,
  hubOwnedStatus,
  keysReadiness,
  suspendedHubStatus,
  systemNamespaceHubStatus,
} from '../../../src/hub/status.js';
import { desiredPlacementSection } from '../../../src/placement/hub-status.js';
import { systemNamespaceRefusal } from '../../../src/api/system-namespaces.js';
import { statusUnchanged } from '../../../src/runtime/status.js';
import { renderHubTable, shortAge } from '../../../src/hub/table.js';

const policy: SovereigntyPolicy = {
  apiVersion: 'hdh.sovereign.eu/v1alpha1',
  kind: 'SovereigntyPolicy',
  metadata: { name: 'eu-hds', generation: 1 },
  spec: {
    regions: ['fr-par', 'de-fra'],
    nodeSelectorRequirements: [{ key: 'j', operator: 'In', values: ['EU'] }],
    keyProviders: ['builtin', 'pkcs11'],
  },
};
const hub = (spec: Partial<HealthDataHub['spec']> = {}, generation = 1): HealthDataHub => ({
  apiVersion: 'hdh.sovereign.eu/v1alpha1',
  kind: 'HealthDataHub',
  metadata: { name: 'h', namespace: 'n', generation, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
  spec: {
    policyName: 'eu-hds',
    storage: { size: '1Gi', storageClassName: 'enc' },
    ...spec,
  } as HealthDataHub['spec'],
});
const nodes = [
  { labels: { 'topology.kubernetes.io/region': 'fr-par', j: 'EU' } },
  { labels: { 'topology.kubernetes.io/region': 'us-east-1', j: 'US' } },
];
const t0 = new Date('2026-11-01T10:00:00Z');
const t1 = new Date('2026-11-01T11:00:00Z');
const cond = (s: ReturnType<typeof desiredHubStatus>, type: string) =>
  s.conditions?.find((c) => c.type === type);
const outside = {
  pod: 'web-1',
  node: 'us-east-1a',
  reason: 'region us-east-1 is not one of [fr-par, de-fra]',
};

/**
 * The hub with PlacementCompliant and status.placement as the placement controller writes them
 * for this audit (src/placement/hub-status.ts), beside what its status already holds.
 */
function placed(
  h: HealthDataHub,
  violations: readonly PlacementViolation[] = [],
  p: SovereigntyPolicy = policy,
  now = t0,
): HealthDataHub {
  const section = desiredPlacementSection({ hub: h, policy: p, nodes, violations, refusals: [] }, now)!;
  const others = (h.status?.conditions ?? []).filter((c) => c.type !== 'PlacementCompliant');
  return {
    ...h,
    status: { ...h.status, conditions: [...others, section.condition], placement: section.placement },
  };
}

describe('desiredHubStatus', () => {
  it('summarises the storage, keys and datastore components into Ready, with their status sections', () => {
    const c = (type: string, status: 'True' | 'False', reason: string) => ({
      type,
      status,
      reason,
      message: reason,
      observedGeneration: 1,
    });
    const components = {
      conditions: [
        c('StorageReady', 'True', 'ClaimsBound'),
        c('KeysReady', 'True', 'KeyAvailable'),
        c('DatastoreReady', 'True', 'ReplicasReady'),
      ],
      storage: { claims: [{ name: 'data-h-0', volumeName: 'pv', region: 'fr-par' }] },
      datastore: { replicas: 1, readyReplicas: 1 },
    };
    const obs = { hub: placed(hub()), policy, nodes, components };
    const s = desiredHubStatus(obs, t0);
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', reason: 'AllReady' });
    // kstatus: Current (Reconciling False, no Stalled, observedGeneration matches); False rather
    // than absent, so `kubectl wait --for=condition=Reconciling=False` returns.
    expect(cond(s, 'Reconciling')).toMatchObject({
      status: 'False',
      reason: 'AllReady',
      observedGeneration: 1,
    });
    expect(cond(s, 'Stalled')).toBeUndefined();
    expect(s.observedGeneration).toBe(1);
    expect(s.storage).toEqual(components.storage);
    expect(s.datastore).toEqual({ replicas: 1, readyReplicas: 1 });

    components.conditions[0] = c('StorageReady', 'False', 'VolumeOutsideJurisdiction');
    const bad = desiredHubStatus({ ...obs, hub: { ...hub(), status: s } }, t1);
    // Read, never made: the placement controller's condition comes back as it was.
    expect(cond(bad, 'PlacementCompliant')).toEqual(cond(s, 'PlacementCompliant'));
    expect(cond(bad, 'Ready')).toMatchObject({ status: 'False', reason: 'VolumeOutsideJurisdiction' });
    expect(cond(bad, 'Reconciling')).toMatchObject({ status: 'True' });
    // Without components (input to fix first), no component conditions are claimed.
    const stalled = desiredHubStatus({ hub: hub(), policy: undefined, nodes, components }, t0);
    expect(cond(stalled, 'StorageReady')).toBeUndefined();
  });

  it('reports a missing policy as Stalled with a fix, and Ready False', () => {
    const s = desiredHubStatus({ hub: hub(), policy: undefined, nodes }, t0);
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PolicyNotFound',
      observedGeneration: 1,
    });
    expect(cond(s, 'Ready')!.message).toMatch(/SovereigntyPolicy "eu-hds" does not exist: create it/);
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'True', reason: 'PolicyNotFound' });
    expect(s.observedGeneration).toBe(1);
  });

  it('refuses regions outside the policy and providers it does not allow', () => {
    const s = desiredHubStatus(
      {
        hub: hub({ placement: { regions: ['us-east-1'] }, encryption: { provider: 'transit' } as never }),
        policy,
        nodes,
      },
      t0,
    );
    expect(cond(s, 'PlacementCompliant')).toMatchObject({ status: 'False', reason: 'RegionNotAllowed' });
    expect(cond(s, 'PlacementCompliant')!.message).toContain('[us-east-1]');
    expect(cond(s, 'KeysReady')).toMatchObject({ status: 'False', reason: 'KeyProviderNotAllowed' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'RegionNotAllowed' });
  });

  it('waits for placement, then stalls on the NoEligibleNodes the placement controller reported', () => {
    const ok = desiredHubStatus({ hub: hub(), policy, nodes }, t0);
    expect(cond(ok, 'Stalled')).toBeUndefined();
    expect(cond(ok, 'Reconciling')).toMatchObject({ status: 'True' });
    expect(cond(ok, 'Reconciling')!.message).toContain('with 1 eligible node(s)');
    expect(cond(ok, 'Ready')).toMatchObject({ status: 'Unknown' });
    expect(cond(ok, 'Ready')!.message).toContain('PlacementCompliant is not reported yet');
    const narrowed = hub({ placement: { regions: ['de-fra'] } });
    const none = desiredHubStatus({ hub: placed(narrowed, [outside]), policy, nodes }, t0);
    expect(cond(none, 'PlacementCompliant')).toMatchObject({ status: 'False', reason: 'NoEligibleNodes' });
    // Nothing the operator does creates a node: Stalled, not work in progress.
    expect(cond(none, 'Stalled')).toMatchObject({ status: 'True', reason: 'NoEligibleNodes' });
    expect(cond(none, 'Stalled')!.message).toContain('nothing is deleted meanwhile');
    expect(cond(none, 'Reconciling')).toMatchObject({ status: 'False', reason: 'NoEligibleNodes' });
    expect(cond(none, 'Ready')).toMatchObject({ status: 'False', reason: 'NoEligibleNodes' });
  });

  it('reads PlacementCompliant only for the current generation', () => {
    const audited = placed(hub());
    const s = desiredHubStatus(
      { hub: { ...audited, metadata: { ...audited.metadata, generation: 2 } }, policy, nodes },
      t0,
    );
    // Not audited for generation 2 yet: pending, and not carried over as if it were.
    expect(cond(s, 'PlacementCompliant')).toBeUndefined();
    expect(cond(s, 'Ready')).toMatchObject({ status: 'Unknown', observedGeneration: 2 });
    expect(cond(s, 'Ready')!.message).toContain('PlacementCompliant is not reported yet');
  });

  it('keeps lastTransitionTime while a status holds, drops conditions that no longer apply', () => {
    const first = desiredHubStatus({ hub: hub(), policy: undefined, nodes }, t0);
    const again = desiredHubStatus({ hub: { ...hub(), status: first }, policy: undefined, nodes }, t1);
    expect(cond(again, 'Ready')!.lastTransitionTime).toBe(cond(first, 'Ready')!.lastTransitionTime);
    // The PolicyNotFound of PlacementCompliant is the placement controller's, which writes it anew.
    const fixed = desiredHubStatus({ hub: { ...hub(), status: hubOwnedStatus(first) }, policy, nodes }, t1);
    expect(cond(fixed, 'Stalled')).toBeUndefined();
    expect(cond(fixed, 'PlacementCompliant')).toBeUndefined();
    expect(cond(fixed, 'Ready')!.status).toBe('Unknown');
    expect(cond(fixed, 'Ready')!.lastTransitionTime).toBe('2026-11-01T11:00:00Z');
  });
});

describe('placement in the hub status', () => {
  it('is not Ready while pods are outside the policy', () => {
    const s = desiredHubStatus({ hub: placed(hub(), [outside]), policy, nodes }, t1);
    expect(cond(s, 'PlacementCompliant')).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
    // The placement section is the placement controller's: passed through, never remade.
    expect(s.placement).toEqual(placed(hub(), [outside]).status!.placement);
  });

  it('is done reconciling when the only thing not ready is a violation the policy only reports', () => {
    const ok = (type: string, reason: string) => ({
      type,
      status: 'True' as const,
      reason,
      message: reason,
      observedGeneration: 1,
    });
    const components = {
      conditions: [
        ok('StorageReady', 'ClaimsBound'),
        ok('KeysReady', 'KeyAvailable'),
        ok('DatastoreReady', 'ReplicasReady'),
      ],
    };
    const report = { ...policy, spec: { ...policy.spec, onViolation: 'Report' as const } };
    const audit = { ...policy, spec: { ...policy.spec, enforcement: 'Audit' as const } };
    for (const p of [report, audit]) {
      const s = desiredHubStatus({ hub: placed(hub(), [outside], p), policy: p, nodes, components }, t0);
      // Nothing the operator does will move the pod: kstatus and Argo CD must not read it as work
      // in progress forever (Argo CD reads Ready False without Reconciling as Degraded).
      expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
      expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
      expect(cond(s, 'Stalled')).toBeUndefined();
    }
    // Evict: the operator is removing the pods, which is work in progress.
    const e = desiredHubStatus({ hub: placed(hub(), [outside]), policy, nodes, components }, t0);
    expect(cond(e, 'Reconciling')).toMatchObject({ status: 'True' });
    // Report, but keys still pending: still in progress.
    const pending = {
      conditions: [
        components.conditions[0]!,
        { ...components.conditions[1]!, status: 'False' as const, reason: 'KeyPending' },
        components.conditions[2]!,
      ],
    };
    const r = desiredHubStatus(
      { hub: placed(hub(), [outside], report), policy: report, nodes, components: pending },
      t0,
    );
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'True' });
  });

  it('reports placement even while something else blocks the hub', () => {
    const keysBlocked = hub({ encryption: { provider: 'transit' } as never });
    const s = desiredHubStatus({ hub: placed(keysBlocked, [outside]), policy, nodes }, t0);
    expect(cond(s, 'KeysReady')).toMatchObject({ status: 'False', reason: 'KeyProviderNotAllowed' });
    expect(cond(s, 'PlacementCompliant')).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
    expect(cond(s, 'Stalled')).toMatchObject({ reason: 'KeyProviderNotAllowed' });
    // Ready reports the first failing component: placement.
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
  });

  it('keeps the audit of a suspended hub, changing nothing else', () => {
    const running = desiredHubStatus({ hub: placed(hub()), policy, nodes }, t0);
    // Setting spec.suspend is a spec change: a new generation, which the status says it observed.
    const suspended = { ...hub({ suspend: true }, 2), status: running };
    // The placement controller goes on auditing it.
    const audited = placed(suspended, [outside], policy, t1);
    const s = suspendedHubStatus({ hub: audited, policy, nodes: [] }, t1);
    expect(s.observedGeneration).toBe(2);
    expect(cond(s, 'PlacementCompliant')).toMatchObject({
      status: 'False',
      reason: 'PodsOutsidePolicy',
      observedGeneration: 2,
    });
    // Nothing is worked on while suspended: Reconciling False (kstatus then reads Ready: InProgress),
    // not the Reconciling True of the generation before.
    expect(cond(running, 'Reconciling')).toMatchObject({ status: 'True' });
    expect(cond(s, 'Reconciling')).toMatchObject({
      status: 'False',
      reason: 'Suspended',
      observedGeneration: 2,
    });
    expect(cond(s, 'Stalled')).toBeUndefined();
    expect(s.placement).toEqual({
      eligibleNodes: 1,
      violations: [outside],
      lastAuditTime: '2026-11-01T11:00:00Z',
    });
  });

  it('says Suspended while a suspended hub has never been reconciled', () => {
    for (const fresh of [hub({ suspend: true }), placed(hub({ suspend: true }))]) {
      const s = suspendedHubStatus({ hub: fresh, policy, nodes: [] }, t1);
      expect(cond(s, 'Ready')).toMatchObject({
        status: 'Unknown',
        reason: 'Suspended',
        observedGeneration: 1,
      });
      expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Suspended' });
      expect(s.observedGeneration).toBe(1);
      // Whatever the placement controller reported stays.
      expect(cond(s, 'PlacementCompliant')).toEqual(cond(fresh.status ?? {}, 'PlacementCompliant'));
    }
  });

  it('drops the Stalled of the generation before the suspension: the suspended spec is not judged', () => {
    const refused = {
      kind: 'StatefulSet',
      subject: 'StatefulSet n/h',
      code: 422,
      serverMessage: 'spec.template: Invalid value',
    };
    const components = {
      conditions: [refusalReport(hub(), refused).condition],
      stalled: refusalReport(hub(), refused).stalled,
    };
    const stalled = desiredHubStatus({ hub: placed(hub()), policy, nodes, components }, t0);
    expect(cond(stalled, 'Stalled')).toMatchObject({ status: 'True', reason: 'ApiServerRefused' });
    const s = suspendedHubStatus(
      { hub: { ...hub({ suspend: true }, 2), status: stalled }, policy, nodes },
      t1,
    );
    expect(cond(s, 'Stalled')).toBeUndefined();
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Suspended' });
  });

  it('reports a suspended hub whose policy does not exist: PolicyNotFound, Stalled, Ready False', () => {
    const fresh = hub({ suspend: true });
    const s = suspendedHubStatus({ hub: fresh, policy: undefined, nodes: [] }, t1);
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PolicyNotFound',
      observedGeneration: 1,
    });
    expect(cond(s, 'PlacementCompliant')).toMatchObject({ status: 'False', reason: 'PolicyNotFound' });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'True', reason: 'PolicyNotFound' });
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'PolicyNotFound' });
    expect(s.observedGeneration).toBe(1);
    // Other conditions of the running hub stay as they were: nothing was reconciled.
    const running = desiredHubStatus({ hub: placed(hub()), policy, nodes }, t0);
    const wasRunning = { ...hub({ suspend: true }), status: { ...running, storage: { claims: [] } } };
    const again = suspendedHubStatus({ hub: wasRunning, policy: undefined, nodes: [] }, t1);
    expect(cond(again, 'Ready')).toMatchObject({ status: 'False', reason: 'PolicyNotFound' });
    expect(again.storage).toEqual({ claims: [] });
    // A region outside the policy is reported the same way.
    const outsideRegions = hub({ suspend: true, placement: { regions: ['us-east-1'] } });
    const r = suspendedHubStatus({ hub: outsideRegions, policy, nodes: [] }, t1);
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason: 'RegionNotAllowed' });
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'RegionNotAllowed' });
  });

  it('forgets a refused key provider of a suspended hub once its policy allows it', () => {
    const transit = hub({ suspend: true, encryption: { provider: 'transit' } } as Partial<
      HealthDataHub['spec']
    >);
    const refused = suspendedHubStatus({ hub: transit, policy, nodes: [] }, t0);
    expect(cond(refused, 'KeysReady')).toMatchObject({ status: 'False', reason: 'KeyProviderNotAllowed' });
    const allowing: SovereigntyPolicy = {
      ...policy,
      spec: { ...policy.spec, keyProviders: ['builtin', 'transit'] },
    };
    const s = suspendedHubStatus({ hub: { ...transit, status: refused }, policy: allowing, nodes: [] }, t1);
    expect(cond(s, 'Stalled')).toBeUndefined();
    expect(cond(s, 'KeysReady')).toBeUndefined();
    expect(cond(s, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Suspended' });
  });
});

describe("the hub controller's part of the status", () => {
  it('is everything but PlacementCompliant and status.placement, in a stable order', () => {
    const s = desiredHubStatus({ hub: placed(hub(), [outside]), policy, nodes }, t0);
    expect(s.placement).toBeDefined();
    const owned = hubOwnedStatus(s);
    expect(owned.placement).toBeUndefined();
    expect(owned.conditions?.map((c) => c.type)).toEqual(['Ready', 'Reconciling']);
    expect(owned.observedGeneration).toBe(1);
    // Compared as written: the order of the conditions does not make a write.
    const shuffled = { ...s, conditions: [...(s.conditions ?? [])].reverse() };
    expect(statusUnchanged(hubOwnedStatus(shuffled), owned)).toBe(true);
    expect(hubOwnedStatus(undefined)).toEqual({});
  });
});

describe('refusals of the API server', () => {
  const refused = (kind: string, code: number) => ({
    kind,
    subject: `${kind} n/h`,
    code,
    serverMessage: `${kind}.apps "h" is invalid: spec.template.spec.tolerations[0].key: Invalid value: "x"`,
  });
  const ok = (type: string, reason: string) => ({
    type,
    status: 'True' as const,
    reason,
    message: reason,
    observedGeneration: 1,
  });

  it('become the component condition, Stalled and Ready False with the server message', () => {
    const r = refusalReport(hub(), refused('StatefulSet', 422));
    expect(r.condition).toMatchObject({
      type: 'DatastoreReady',
      status: 'False',
      reason: 'ApiServerRefused',
    });
    expect(r.condition.message).toContain('the API server refused StatefulSet n/h (422)');
    expect(r.condition.message).toContain('spec.template.spec.tolerations[0].key');
    expect(r.condition.message).toContain("fix the hub's spec");
    const components = {
      // The claims never came: StorageReady is False too, but the refusal is what blocks the hub.
      conditions: [
        { ...ok('StorageReady', 'ClaimsPending'), status: 'False' as const },
        ok('KeysReady', 'KeyAvailable'),
        r.condition,
      ],
      stalled: r.stalled,
    };
    const s = desiredHubStatus({ hub: placed(hub()), policy, nodes, components }, t0);
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ApiServerRefused',
      message: r.stalled.message,
    });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'True', reason: 'ApiServerRefused' });
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False' });
    expect(cond(s, 'DatastoreReady')).toMatchObject({ status: 'False', reason: 'ApiServerRefused' });
  });

  it('name the condition of the refused kind, and the platform team for a 403', () => {
    expect(refusalReport(hub(), refused('Service', 422)).condition.type).toBe('DatastoreReady');
    expect(refusalReport(hub(), refused('PodDisruptionBudget', 422)).condition.type).toBe('DatastoreReady');
    expect(refusalReport(hub(), refused('RoleBinding', 403)).condition.type).toBe('KeysReady');
    expect(refusalReport(hub(), refused('ServiceAccount', 403)).condition.message).toContain(
      'ask the platform team',
    );
    expect(refusalReport(hub(), refused('PersistentVolumeClaim', 403)).condition.type).toBe('StorageReady');
  });

  it('leave Ready to the input when the input itself does not hold', () => {
    const r = refusalReport(hub(), refused('StatefulSet', 422));
    const s = desiredHubStatus(
      { hub: hub(), policy: undefined, nodes, components: { conditions: [r.condition], stalled: r.stalled } },
      t0,
    );
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'PolicyNotFound' });
  });
});

describe('hub table', () => {
  it('renders the kubectl columns, sorted', () => {
    const a = { ...hub(), metadata: { ...hub().metadata, name: 'b' } };
    const b = { ...hub(), status: desiredHubStatus({ hub: hub(), policy: undefined, nodes: [] }, t0) };
    const text = renderHubTable([a, b], new Date('2026-01-01T00:05:00Z'));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+REASON\s+POLICY\s+COMPLIANT\s+KEY\s+AGE$/);
    expect(lines[1]).toMatch(/^n\s+b\s+eu-hds\s+5m$/);
    expect(lines[2]).toMatch(/^n\s+h\s+False\s+PolicyNotFound\s+eu-hds\s+False\s+5m$/);
  });

  it('ages like kubectl', () => {
    const now = new Date('2026-01-10T00:00:00Z');
    expect(shortAge('2026-01-09T23:59:15Z', now)).toBe('45s');
    expect(shortAge('2026-01-09T23:00:00Z', now)).toBe('60m');
    expect(shortAge('2026-01-09T00:00:00Z', now)).toBe('24h');
    expect(shortAge('2026-01-01T00:00:00Z', now)).toBe('9d');
  });
});

describe('hubs in system namespaces', () => {
  it('refuses the namespaces of Kubernetes and of the operator, and no other', () => {
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease', 'hdh-ops']) {
      expect(systemNamespaceRefusal(ns, 'hdh-ops')).toContain(`namespace ${ns}`);
    }
    for (const ns of ['research', 'kube-systems', 'hdh-system']) {
      expect(systemNamespaceRefusal(ns, 'hdh-ops')).toBeUndefined();
    }
  });

  it('are Stalled and not Ready with reason SystemNamespace, and nothing else', () => {
    const before = desiredHubStatus({ hub: placed(hub()), policy, nodes }, t0);
    expect(before.placement).toBeDefined();
    const s = systemNamespaceHubStatus(
      { ...hub(), status: before },
      'namespace kube-system belongs to Kubernetes',
      t1,
    );
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason]).sort()).toEqual([
      ['Ready', 'False', 'SystemNamespace'],
      ['Reconciling', 'False', 'SystemNamespace'],
      ['Stalled', 'True', 'SystemNamespace'],
    ]);
    expect(s.placement).toBeUndefined();
    const again = systemNamespaceHubStatus(
      { ...hub(), status: s },
      'namespace kube-system belongs to Kubernetes',
      t1,
    );
    expect(again).toEqual(s);
  });
});

describe('keysReadiness', () => {
  const keysReady = (status: Condition['status'], reason: string, observedGeneration: number): Condition => ({
    type: 'KeysReady',
    status,
    reason,
    message: `${reason} message`,
    observedGeneration,
    lastTransitionTime: '2026-01-01T00:00:00Z',
  });
  const withKeys = (generation: number, c?: Condition): HealthDataHub => ({
    ...hub({}, generation),
    ...(c ? { status: { conditions: [c] } } : {}),
  });

  // Only a verdict of the current generation counts: an older one is pending, whatever it said.
  it.each<[string, HealthDataHub, ReturnType<typeof keysReadiness>]>([
    ['not reported', withKeys(1), { ready: false }],
    ['True, this generation', withKeys(2, keysReady('True', 'KeyAvailable', 2)), { ready: true }],
    ['True, an older generation', withKeys(2, keysReady('True', 'KeyAvailable', 1)), { ready: false }],
    [
      'blocked, this generation',
      withKeys(2, keysReady('False', 'KeyMissing', 2)),
      { ready: false, blocked: { reason: 'KeyMissing', message: 'KeyMissing message' } },
    ],
    ['blocked, an older generation', withKeys(2, keysReady('False', 'KeyMissing', 1)), { ready: false }],
    [
      'refused by the API server, this generation',
      withKeys(1, keysReady('False', 'ApiServerRefused', 1)),
      { ready: false, blocked: { reason: 'ApiServerRefused', message: 'ApiServerRefused message' } },
    ],
    [
      'in progress, this generation',
      withKeys(1, keysReady('False', 'KeyProviderUnavailable', 1)),
      { ready: false },
    ],
    ['Unknown, this generation', withKeys(1, keysReady('Unknown', 'KeysPending', 1)), { ready: false }],
    [
      'True, a newer generation than the hub',
      withKeys(1, keysReady('True', 'KeyAvailable', 2)),
      { ready: false },
    ],
  ])('%s', (_what, h, expected) => {
    expect(keysReadiness(h)).toEqual(expected);
  });

  it('reads a hub without a generation as generation 0', () => {
    const h = withKeys(1, keysReady('True', 'KeyAvailable', 0));
    delete h.metadata.generation;
    expect(keysReadiness(h)).toEqual({ ready: true });
  });
});
