import { Reason, type SovereigntyPolicy } from '../../../src/api/index.js';
import type { NodeFacts } from '../../../src/placement/compliance.js';
import { policyEvents } from '../../../src/policy/events.js';
import { desiredPolicyStatus } from '../../../src/policy/status.js';

const policy: SovereigntyPolicy = {
  apiVersion: 'hdh.sovereign.eu/v1alpha1',
  kind: 'SovereigntyPolicy',
  metadata: { name: 'p', generation: 1 },
  spec: { regions: ['fr-par'] },
} as SovereigntyPolicy;
const node = (region: string): NodeFacts => ({ labels: { 'topology.kubernetes.io/region': region } });
const t0 = new Date('2026-11-01T10:00:00Z');

/** The status the reconciler writes for `nodes`, on top of the policy's previous one. */
function next(before: SovereigntyPolicy['status'], nodes: NodeFacts[], admissionFailure?: string) {
  return desiredPolicyStatus(
    { ...policy, status: before },
    nodes,
    0,
    t0,
    admissionFailure ? { message: admissionFailure, failClosed: true, refused: true } : undefined,
  );
}

describe('policyEvents', () => {
  it('says when a new policy becomes Ready, and that its node labels are self-assertable', () => {
    const s = next(undefined, [node('fr-par'), node('us-east-1')]);
    expect(policyEvents(undefined, s)).toEqual([
      { type: 'Normal', reason: 'PolicyValid', note: 'Ready: 1 node(s) satisfy the policy' },
      expect.objectContaining({ type: 'Warning', reason: 'SelfAssertableLabels' }),
    ]);
  });

  it('says when the eligible node count of a Ready policy changes, and nothing when it does not', () => {
    const one = next(undefined, [node('fr-par')]);
    const two = next(one, [node('fr-par'), node('fr-par')]);
    expect(policyEvents(one, two)).toEqual([
      {
        type: 'Normal',
        reason: Reason.EligibleNodesChanged,
        note: '2 node(s) satisfy the policy (1 before)',
      },
    ]);
    expect(policyEvents(two, next(two, [node('fr-par'), node('fr-par')]))).toEqual([]);
  });

  it('warns when the last eligible node goes, and says Ready again when one comes back', () => {
    const ready = next(undefined, [node('fr-par')]);
    const none = next(ready, [node('us-east-1')]);
    const lost = policyEvents(ready, none);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ type: 'Warning', reason: 'NoEligibleNodes' });
    expect(lost[0]!.note).toContain('label compliant nodes');
    expect(policyEvents(none, next(none, [node('fr-par')]))).toEqual([
      { type: 'Normal', reason: 'PolicyValid', note: 'Ready: 1 node(s) satisfy the policy' },
    ]);
  });

  it('leaves refused admission objects to their own Warning, and says Ready once they are applied', () => {
    const ready = next(undefined, [node('fr-par')]);
    const refused = next(ready, [node('fr-par')], 'denied by a webhook');
    expect(policyEvents(ready, refused)).toEqual([]);
    expect(policyEvents(refused, next(refused, [node('fr-par')]))).toEqual([
      { type: 'Normal', reason: 'PolicyValid', note: 'Ready: 1 node(s) satisfy the policy' },
    ]);
  });
});
