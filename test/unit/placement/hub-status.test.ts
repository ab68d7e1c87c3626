import type { ConditionUpdate, HealthDataHub, SovereigntyPolicy } from '../../../src/api/index.js';
import { checkReferences } from '../../../src/hub/references.js';
import {
  desiredPlacementSection,
  noEligibleNodesMessage,
  reportsOnly,
  type PlacementObservation,
  type PlacementSection,
} from '../../../src/placement/hub-status.js';
import { statusUnchanged } from '../../../src/runtime/status.js';

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
const report: SovereigntyPolicy = { ...policy, spec: { ...policy.spec, onViolation: 'Report' } };
const audit: SovereigntyPolicy = { ...policy, spec: { ...policy.spec, enforcement: 'Audit' } };
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
const outside = {
  pod: 'web-1',
  node: 'us-east-1a',
  reason: 'region us-east-1 is not one of [fr-par, de-fra]',
};

/** The placement section for the hub, its PlacementCompliant refusals computed as the controller does. */
function section(
  obs: Partial<PlacementObservation> & { hub: HealthDataHub },
  now = t0,
): PlacementSection | undefined {
  const p = 'policy' in obs ? obs.policy : policy;
  const refusals: ConditionUpdate[] = checkReferences(obs.hub, p).filter(
    (f) => f.type === 'PlacementCompliant',
  );
  return desiredPlacementSection({ nodes, refusals, ...obs, policy: p }, now);
}
/** The hub after the placement controller applied `s`. */
const written = (h: HealthDataHub, s: PlacementSection): HealthDataHub => ({
  ...h,
  status: { ...h.status, conditions: [s.condition], placement: s.placement },
});

describe('desiredPlacementSection', () => {
  it('is Compliant without violations, and stays write-free while nothing changes', () => {
    const first = section({ hub: hub(), violations: [] })!;
    expect(first.condition).toMatchObject({
      type: 'PlacementCompliant',
      status: 'True',
      reason: 'Compliant',
      observedGeneration: 1,
      lastTransitionTime: '2026-11-01T10:00:00Z',
    });
    expect(first.placement).toEqual({ eligibleNodes: 1, lastAuditTime: '2026-11-01T10:00:00Z' });
    const again = section({ hub: written(hub(), first), violations: [] }, t1)!;
    // Same verdict an hour later: the same section, so no write.
    expect(statusUnchanged(first, again)).toBe(true);
  });

  it('names pods and nodes, says what the policy does, and dates the change', () => {
    const previous = section({ hub: hub(), violations: [] })!;
    const s = section({ hub: written(hub(), previous), violations: [outside] }, t1)!;
    expect(s.condition).toMatchObject({
      status: 'False',
      reason: 'PodsOutsidePolicy',
      lastTransitionTime: '2026-11-01T11:00:00Z',
    });
    expect(s.condition.message).toContain('pod web-1 on node us-east-1a (region us-east-1');
    expect(s.condition.message).toContain('evicting them through the Eviction API');
    expect(s.placement).toEqual({
      eligibleNodes: 1,
      violations: [outside],
      lastAuditTime: '2026-11-01T11:00:00Z',
    });

    const r = section({ hub: hub(), policy: report, violations: [outside] })!;
    expect(r.condition.message).toContain('reported only');
    expect(r.condition.message).toContain('onViolation: Report');
    const a = section({ hub: hub(), policy: audit, violations: [outside] })!;
    expect(a.condition.message).toContain('enforcement: Audit');
  });

  it('lists at most 64 violations, the condition gives the total', () => {
    const many = Array.from({ length: 70 }, (_, i) => ({
      ...outside,
      pod: `p${String(i).padStart(2, '0')}`,
    }));
    const s = section({ hub: hub(), violations: many })!;
    expect(s.placement.violations).toHaveLength(64);
    expect(s.condition.message).toMatch(/^70 pod\(s\)/);
  });

  it('counts eligible nodes and keeps NoEligibleNodes first, reporting the violations as not evicted', () => {
    expect(section({ hub: hub(), violations: [] })!.placement.eligibleNodes).toBe(1);
    const s = section({ hub: hub({ placement: { regions: ['de-fra'] } }), violations: [outside] })!;
    expect(s.condition).toMatchObject({ status: 'False', reason: 'NoEligibleNodes' });
    expect(s.condition.message).toContain('within regions [de-fra]');
    expect(s.condition.message).toContain('(reported, not evicted)');
    expect(s.placement).toMatchObject({ eligibleNodes: 0, violations: [outside] });
    const none = section({ hub: hub({ placement: { regions: ['de-fra'] } }), violations: [] })!;
    expect(none.condition.message).toBe(noEligibleNodesMessage(hub({ placement: { regions: ['de-fra'] } })));
  });

  it('reports the hub refusals of PlacementCompliant, counting what it can', () => {
    const missing = section({ hub: hub(), policy: undefined })!;
    expect(missing.condition).toMatchObject({ status: 'False', reason: 'PolicyNotFound' });
    expect(missing.condition.message).toMatch(/SovereigntyPolicy "eu-hds" does not exist: create it/);
    expect(missing.placement).toEqual({ eligibleNodes: 0 });
    const regions = section({ hub: hub({ placement: { regions: ['us-east-1'] } }), violations: [] })!;
    expect(regions.condition).toMatchObject({ status: 'False', reason: 'RegionNotAllowed' });
    expect(regions.condition.message).toContain('[us-east-1]');
  });

  it('has nothing to say without a verdict of the hub or a refusal', () => {
    // The namespace was not audited for this hub (its policy is not among those held).
    expect(section({ hub: hub(), violations: undefined })).toBeUndefined();
    // A hub being deleted whose policy is gone keeps what it had.
    const gone = { ...hub(), metadata: { ...hub().metadata, deletionTimestamp: new Date(t0) } };
    expect(section({ hub: gone, policy: undefined })).toBeUndefined();
  });

  it('goes on auditing a suspended or deleted hub, without a node count or NoEligibleNodes', () => {
    const running = section({ hub: hub(), violations: [] })!;
    // Setting spec.suspend is a spec change: a new generation.
    const suspended = written(hub({ suspend: true }, 2), running);
    const s = section({ hub: suspended, nodes: [], violations: [outside] }, t1)!;
    expect(s.condition).toMatchObject({
      status: 'False',
      reason: 'PodsOutsidePolicy',
      observedGeneration: 2,
    });
    expect(s.placement).toEqual({
      eligibleNodes: 1,
      violations: [outside],
      lastAuditTime: '2026-11-01T11:00:00Z',
    });
    const fresh = section({ hub: hub({ suspend: true }), nodes: [], violations: [] }, t1)!;
    expect(fresh.condition).toMatchObject({ status: 'True', reason: 'Compliant' });
    expect(fresh.placement.eligibleNodes).toBeUndefined();

    const deleted = {
      ...written(hub(), running),
      metadata: { ...hub().metadata, deletionTimestamp: new Date(t0) },
    };
    const d = section({ hub: deleted, nodes: [], violations: [outside] }, t1)!;
    expect(d.condition).toMatchObject({ reason: 'PodsOutsidePolicy' });
    expect(d.placement.eligibleNodes).toBe(1);
  });
});

describe('reportsOnly', () => {
  it.each<[string, SovereigntyPolicy, boolean]>([
    ['Enforce and Evict (the defaults) remove pods', policy, false],
    ['onViolation: Report only reports', report, true],
    ['enforcement: Audit only reports', audit, true],
  ])('%s', (_what, p, expected) => {
    expect(reportsOnly(p)).toBe(expected);
  });
});
