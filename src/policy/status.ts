import {
  ConditionStatus,
  ConditionType,
  Reason,
  type ConditionUpdate,
  type SovereigntyPolicy,
  type SovereigntyPolicyStatus,
} from '../api/index.js';
import { mergeConditions } from '../api/index.js';
import { countEligibleNodes, type NodeFacts } from '../placement/compliance.js';
import { REGION_LABEL, restrictedAnchorKeys, selfAssertableKeys } from './eligibility.js';

/** Condition telling whether every node label the policy trusts is protected from kubelets. */
export const NODE_LABELS_TRUSTED = 'NodeLabelsTrusted';

/** What NodeLabelsTrusted=False says: which keys a kubelet may set, and how to anchor the policy. */
function untrustedLabelsMessage(
  weak: readonly string[],
  anchors: readonly string[],
  regions: readonly string[],
): string {
  const how =
    'NodeRestriction protects only keys under node-restriction.kubernetes.io/ and *.node-restriction.kubernetes.io/';
  const pinRegions =
    `pin the regions with a restricted label the platform team sets, e.g. ` +
    `sovereign.node-restriction.kubernetes.io/region In [${regions.join(', ')}] (values within spec.regions)`;
  if (anchors.length === 0) {
    return (
      `a node can label itself into this policy: it qualifies by keys a kubelet may set on its own Node ` +
      `[${weak.join(', ')}]. ${how}: require one that the platform team sets on compliant nodes (e.g. ` +
      `sovereign.node-restriction.kubernetes.io/jurisdiction In [EU]), ${pinRegions}, and put every other ` +
      `requirement on such keys; a providerID does not replace it (a kubelet may set its own)`
    );
  }
  const others = weak.filter((k) => k !== REGION_LABEL);
  const region = weak.includes(REGION_LABEL)
    ? `regions [${regions.join(', ')}] are matched on ${REGION_LABEL}, which a kubelet sets on its own Node: ` +
      `a node carrying [${anchors.join(', ')}] in any other region can label itself into them (the operator ` +
      `cannot know which regions an anchor value implies); ${pinRegions}. `
    : '';
  const rest = others.length
    ? `requirements on [${others.join(', ')}] can be met by a kubelet labelling its own Node (among nodes ` +
      `carrying [${anchors.join(', ')}]). ${how}: require such keys instead, set by the platform team`
    : '';
  return (region + rest).trim();
}

export function desiredPolicyStatus(
  policy: SovereigntyPolicy,
  /** The nodes that can take pods (schedulableNodes): counted with the hubs' own verdict. */
  nodes: readonly NodeFacts[],
  hubs: number,
  now: Date,
  /** The API server's refusal of the policy's admission objects (AdmissionSync), if any. */
  admissionFailure?: AdmissionFailure,
): SovereigntyPolicyStatus {
  const generation = policy.metadata.generation ?? 0;
  const eligible = countEligibleNodes(nodes, policy.spec);
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
          message: untrustedLabelsMessage(weak, restrictedAnchorKeys(policy.spec), policy.spec.regions),
          observedGeneration: generation,
        }
      : {
          type: NODE_LABELS_TRUSTED,
          status: ConditionStatus.True,
          reason: Reason.RestrictedLabels,
          message:
            `a node qualifies only with [${restrictedAnchorKeys(policy.spec).join(', ')}], which a kubelet cannot set on its own Node (NodeRestriction), every required key is restricted and a restricted region label pins spec.regions` +
            (policy.spec.regions.length > 1
              ? `; a hub's spec.placement.regions narrows by ${REGION_LABEL}, which a kubelet sets itself: within the policy's regions, that narrowing is not evidence`
              : ''),
          observedGeneration: generation,
        },
  ];
  if (admissionFailure) {
    // Admission objects not applied outrank every other verdict: the policy is not enforced as
    // written. Ready=False alone says nothing to kstatus (and tools built on it), so a refusal,
    // which waits for a change of input, is Stalled (Failed); a failure to answer (5xx, timeout),
    // retried with backoff, is Reconciling (InProgress).
    const failed = {
      status: ConditionStatus.False,
      reason: Reason.AdmissionFailed,
      message: admissionFailureMessage(admissionFailure),
      observedGeneration: generation,
    };
    updates[0] = { type: ConditionType.Ready, ...failed };
    updates.push({
      type: admissionFailure.refused ? ConditionType.Stalled : ConditionType.Reconciling,
      ...failed,
      status: ConditionStatus.True,
    });
  }
  return {
    observedGeneration: generation,
    eligibleNodes: eligible,
    hubs,
    regionList: policy.spec.regions.join(','),
    conditions: mergeConditions(policy.status?.conditions, updates, now),
  };
}

/** Admission objects the API server refused or did not answer for (AdmissionSync's outcome). */
export interface AdmissionFailure {
  message: string;
  failClosed: boolean;
  refused: boolean;
}

/** What a refused admission object means for the policy's namespaces, and what to do. */
export function admissionFailureMessage(f: { message: string; failClosed: boolean }): string {
  const effect = f.failClosed
    ? 'every pod creation in namespaces labelled for this policy is refused until they are (fail closed)'
    : 'the fail-closed policy could not be applied either: pods in namespaces labelled for this policy are checked only by admission objects applied earlier, if any';
  return `the API server refused the policy's admission objects (${f.message}); ${effect}. Fix the cause (the policy's content, or the operator's permissions on admissionregistration.k8s.io); the operator retries with backoff`;
}
