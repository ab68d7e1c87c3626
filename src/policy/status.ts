import {
  ConditionStatus,
  ConditionType,
  Reason,
  type ConditionUpdate,
  type SovereigntyPolicy,
  type SovereigntyPolicyStatus,
} from '../api/index.js';
import { mergeConditions } from '../hub/status.js';
import { isNodeEligible, selfAssertableKeys, type Labels } from './eligibility.js';

/** Condition telling whether every node label the policy trusts is protected from kubelets. */
export const NODE_LABELS_TRUSTED = 'NodeLabelsTrusted';

export function desiredPolicyStatus(
  policy: SovereigntyPolicy,
  nodeLabels: Labels[],
  hubs: number,
  now: Date,
): SovereigntyPolicyStatus {
  const generation = policy.metadata.generation ?? 0;
  const eligible = nodeLabels.filter((l) => isNodeEligible(l, policy.spec)).length;
  const weak = selfAssertableKeys(policy.spec);
  const updates: ConditionUpdate[] = [
    eligible > 0
      ? {
          type: ConditionType.Ready,
          status: ConditionStatus.True,
          reason: Reason.PolicyValid,
          message: `${eligible} node(s) satisfy the policy`,
          observedGeneration: generation,
        }
      : {
          type: ConditionType.Ready,
          status: ConditionStatus.False,
          reason: Reason.NoEligibleNodes,
          message: `no node satisfies the policy (regions [${policy.spec.regions.join(', ')}] and every nodeSelectorRequirement): label compliant nodes`,
          observedGeneration: generation,
        },
    weak.length > 0
      ? {
          type: NODE_LABELS_TRUSTED,
          status: ConditionStatus.False,
          reason: Reason.SelfAssertableLabels,
          message: `label keys [${weak.join(', ')}] can be set by a kubelet on its own node: a compromised node could claim them; prefer keys under a node-restriction.kubernetes.io prefix`,
          observedGeneration: generation,
        }
      : {
          type: NODE_LABELS_TRUSTED,
          status: ConditionStatus.True,
          reason: 'RestrictedLabels',
          message: 'every required node label is under a node-restriction.kubernetes.io prefix',
          observedGeneration: generation,
        },
  ];
  return {
    observedGeneration: generation,
    eligibleNodes: eligible,
    hubs,
    conditions: mergeConditions(policy.status?.conditions, updates, now),
  };
}
