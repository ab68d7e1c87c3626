// The node constraints a pod must carry to stay inside a SovereigntyPolicy, computed once from the
// policy and a hub's placement so that rendering, admission and audit share one definition.
import type { V1LabelSelector } from '@kubernetes/client-node';
import {
  Reason,
  type HubPlacement,
  type NodeSelectorRequirement,
  type SovereigntyPolicySpec,
  type Toleration,
} from '../api/index.js';
import { effectiveRegions, REGION_LABEL, regionsOutsidePolicy } from '../policy/eligibility.js';

export interface PlacementConstraints {
  /**
   * Node requirements every placement of the pod must imply: the region `In` requirement first,
   * then the policy's own requirements, in policy order.
   */
  requirements: NodeSelectorRequirement[];
  /** The policy's tolerations followed by the hub's. */
  tolerations: Toleration[];
  /** When set, pods matching this selector are spread across zones. */
  zoneSpread?: { labelSelector: V1LabelSelector };
}

export type ConstraintsResult =
  | { ok: true; constraints: PlacementConstraints }
  | { ok: false; reason: typeof Reason.RegionNotAllowed; message: string };

/**
 * The requirements of a policy, optionally narrowed to a hub's regions. The region requirement
 * comes first so messages name the most telling constraint first.
 */
export function policyRequirements(
  policy: Pick<SovereigntyPolicySpec, 'regions' | 'nodeSelectorRequirements'>,
  hubRegions?: readonly string[],
): NodeSelectorRequirement[] {
  return [
    { key: REGION_LABEL, operator: 'In', values: effectiveRegions(policy.regions, hubRegions) },
    ...(policy.nodeSelectorRequirements ?? []).map(copyRequirement),
  ];
}

/**
 * The constraints for the pods of one hub. A hub region outside the policy yields no constraints
 * at all: rendering a narrower set silently would hide the mistake, so the hub is blocked instead.
 */
export function hubPlacementConstraints(
  policy: SovereigntyPolicySpec,
  placement: HubPlacement | undefined,
  podSelector?: V1LabelSelector,
): ConstraintsResult {
  const outside = regionsOutsidePolicy(policy.regions, placement?.regions);
  if (outside.length) {
    return {
      ok: false,
      reason: Reason.RegionNotAllowed,
      message:
        `spec.placement.regions lists ${outside.join(', ')}, outside the policy's regions ` +
        `[${policy.regions.join(', ')}]; a hub can only narrow its policy`,
    };
  }
  const constraints: PlacementConstraints = {
    requirements: policyRequirements(policy, placement?.regions),
    tolerations: [...(policy.tolerations ?? []), ...(placement?.tolerations ?? [])].map((t) => ({ ...t })),
  };
  // spreadAcrossZones defaults to true; spreading needs a selector to find the pod's siblings.
  if (placement?.spreadAcrossZones !== false && podSelector) {
    constraints.zoneSpread = { labelSelector: structuredClone(podSelector) };
  }
  return { ok: true, constraints };
}

/** `key Op [v1, v2]`, the way messages show a requirement. */
export function formatRequirement(r: NodeSelectorRequirement): string {
  const values = r.values?.length ? ` [${r.values.join(', ')}]` : '';
  return `${r.key} ${r.operator}${values}`;
}

function copyRequirement(r: NodeSelectorRequirement): NodeSelectorRequirement {
  return r.values
    ? { key: r.key, operator: r.operator, values: [...r.values] }
    : { key: r.key, operator: r.operator };
}
