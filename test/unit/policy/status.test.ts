import type { SovereigntyPolicy } from '../../../src/api/index.js';
import type { NodeFacts } from '../../../src/placement/compliance.js';
import { desiredPolicyStatus, NODE_LABELS_TRUSTED } from '../../../src/policy/status.js';

const REGION = 'topology.kubernetes.io/region';
const JURISDICTION = 'sovereign.node-restriction.kubernetes.io/jurisdiction';
const REGION_PIN = 'sovereign.node-restriction.kubernetes.io/region';
const policy = (spec: Partial<SovereigntyPolicy['spec']> = {}): SovereigntyPolicy =>
  ({
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name: 'p', generation: 2 },
    spec: { regions: ['fr-par'], ...spec },
  }) as SovereigntyPolicy;
const t0 = new Date('2026-11-01T10:00:00Z');
const trust = (p: SovereigntyPolicy, nodes: NodeFacts[] = []) =>
  desiredPolicyStatus(p, nodes, 0, t0).conditions?.find((c) => c.type === NODE_LABELS_TRUSTED);

describe('NodeLabelsTrusted', () => {
  it('is False for a region-only policy: a kubelet may set its own region label', () => {
    const c = trust(policy());
    expect(c).toMatchObject({ status: 'False', reason: 'SelfAssertableLabels' });
    expect(c?.message).toContain(`[${REGION}]`);
  });

  it('is False when the only restricted requirement is met by nodes without the label', () => {
    const c = trust(
      policy({ nodeSelectorRequirements: [{ key: JURISDICTION, operator: 'NotIn', values: ['US'] }] }),
    );
    expect(c).toMatchObject({ status: 'False', reason: 'SelfAssertableLabels' });
    expect(c?.message).toContain(REGION);
  });

  it('names every self-assertable requirement key, zone included', () => {
    const c = trust(
      policy({
        nodeSelectorRequirements: [
          { key: JURISDICTION, operator: 'In', values: ['EU'] },
          { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['fr-par-1'] },
        ],
      }),
    );
    expect(c).toMatchObject({ status: 'False', reason: 'SelfAssertableLabels' });
    expect(c?.message).toContain('[topology.kubernetes.io/zone]');
  });

  it('is False when an anchor is wider than the regions: an EU node of de-fra labels itself fr-par', () => {
    // A France-only policy anchored on jurisdiction In [EU]: the anchor does not say which EU region.
    const p = policy({ nodeSelectorRequirements: [{ key: JURISDICTION, operator: 'In', values: ['EU'] }] });
    const c = trust(p);
    expect(c).toMatchObject({ status: 'False', reason: 'SelfAssertableLabels' });
    expect(c?.message).toContain(`matched on ${REGION}`);
    expect(c?.message).toContain(`${REGION_PIN} In [fr-par]`);
    // ... and rightly: such a node, relabelled by its kubelet, is counted.
    const s = desiredPolicyStatus(p, [{ labels: { [JURISDICTION]: 'EU', [REGION]: 'fr-par' } }], 0, t0);
    expect(s.eligibleNodes).toBe(1);
  });

  it('is False when the restricted region label allows a region outside spec.regions', () => {
    const c = trust(
      policy({
        nodeSelectorRequirements: [
          { key: JURISDICTION, operator: 'In', values: ['EU'] },
          { key: REGION_PIN, operator: 'In', values: ['fr-par', 'de-fra'] },
        ],
      }),
    );
    expect(c).toMatchObject({ status: 'False', reason: 'SelfAssertableLabels' });
    expect(c?.message).toContain(REGION);
  });

  it('is True only when a restricted region label pins spec.regions and nothing else is self-assertable', () => {
    const c = trust(
      policy({
        nodeSelectorRequirements: [
          { key: JURISDICTION, operator: 'In', values: ['EU'] },
          { key: REGION_PIN, operator: 'In', values: ['fr-par'] },
        ],
      }),
    );
    expect(c).toMatchObject({ status: 'True', reason: 'RestrictedLabels' });
    expect(c?.message).toContain(JURISDICTION);
    expect(c?.message).toContain('pins spec.regions');
    expect(c?.message).not.toContain('spec.placement.regions');
  });

  it('says, for a trusted policy of several regions, that a hub narrowing them is not evidence', () => {
    const c = trust(
      policy({
        regions: ['fr-par', 'de-fra'],
        nodeSelectorRequirements: [{ key: REGION_PIN, operator: 'In', values: ['fr-par', 'de-fra'] }],
      }),
    );
    expect(c).toMatchObject({ status: 'True', reason: 'RestrictedLabels' });
    expect(c?.message).toContain(`spec.placement.regions narrows by ${REGION}`);
  });
});

describe('eligibleNodes', () => {
  it('does not count a node whose providerID contradicts its region label', () => {
    const s = desiredPolicyStatus(
      policy(),
      [
        { labels: { [REGION]: 'fr-par' } },
        { labels: { [REGION]: 'fr-par' }, providerID: 'aws:///us-east-1a/i-1' },
      ],
      0,
      t0,
    );
    expect(s.eligibleNodes).toBe(1);
  });
});
