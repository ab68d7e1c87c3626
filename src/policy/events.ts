import {
  ConditionStatus,
  getCondition,
  Reason,
  type PlannedEvent,
  type SovereigntyPolicyStatus,
} from '../api/index.js';
import { NODE_LABELS_TRUSTED } from './status.js';

/**
 * The Events a policy's change of status calls for, from the status it had (`before`, undefined
 * for a new policy) to the one just written: Ready gained or lost, the eligible node count of a
 * Ready policy changed, its node labels found self-assertable. Refused admission objects have
 * their own Warning (AdmissionFailed), recorded at each failing reconcile.
 */
export function policyEvents(
  before: SovereigntyPolicyStatus | undefined,
  after: SovereigntyPolicyStatus,
): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  const wasReady = getCondition(before?.conditions, 'Ready');
  const ready = getCondition(after.conditions, 'Ready');
  if (ready && ready.reason !== Reason.AdmissionFailed) {
    const changed = wasReady?.status !== ready.status || wasReady?.reason !== ready.reason;
    if (changed && ready.status === ConditionStatus.True) {
      events.push({ type: 'Normal', reason: ready.reason, note: `Ready: ${ready.message}` });
    } else if (changed) {
      events.push({ type: 'Warning', reason: ready.reason, note: ready.message });
    } else if (
      ready.status === ConditionStatus.True &&
      before?.eligibleNodes !== undefined &&
      after.eligibleNodes !== undefined &&
      before.eligibleNodes !== after.eligibleNodes
    ) {
      events.push({
        type: 'Normal',
        reason: Reason.EligibleNodesChanged,
        note: `${after.eligibleNodes} node(s) satisfy the policy (${before.eligibleNodes} before)`,
      });
    }
  }
  const trusted = getCondition(after.conditions, NODE_LABELS_TRUSTED);
  const wasTrusted = getCondition(before?.conditions, NODE_LABELS_TRUSTED);
  if (trusted?.status === ConditionStatus.False && wasTrusted?.status !== ConditionStatus.False) {
    events.push({ type: 'Warning', reason: trusted.reason, note: trusted.message });
  }
  return events;
}
