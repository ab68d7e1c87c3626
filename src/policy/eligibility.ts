import type { NodeSelectorRequirement, SovereigntyPolicySpec } from '../api/index.js';

export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
/**
 * Label keys under this prefix (`<anything>.node-restriction.kubernetes.io/`) cannot be set by a
 * kubelet on its own Node when the NodeRestriction admission plugin is on.
 */
export const NODE_RESTRICTION_SUFFIX = 'node-restriction.kubernetes.io';

export type Labels = Readonly<Record<string, string>>;

/** Kubernetes' node-selector operator semantics (Gt/Lt compare integers). */
export function requirementHolds(labels: Labels, req: NodeSelectorRequirement): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = labels[req.key];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return has && values.includes(value!);
    case 'NotIn':
      return !has || !values.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1 || !/^-?\d+$/.test(value!) || !/^-?\d+$/.test(values[0]!)) return false;
      const [a, b] = [BigInt(value!), BigInt(values[0]!)];
      return req.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** The regions a hub may use: the policy's, narrowed (never widened) by the hub's own list. */
export function effectiveRegions(policyRegions: readonly string[], hubRegions?: readonly string[]): string[] {
  if (!hubRegions || hubRegions.length === 0) return [...policyRegions];
  return policyRegions.filter((r) => hubRegions.includes(r));
}

/** Hub regions the policy does not allow (a hub can only narrow its policy). */
export function regionsOutsidePolicy(
  policyRegions: readonly string[],
  hubRegions?: readonly string[],
): string[] {
  return (hubRegions ?? []).filter((r) => !policyRegions.includes(r));
}

/** Why a node is not eligible, or undefined when it is. */
export function ineligibilityReason(
  labels: Labels,
  policy: Pick<SovereigntyPolicySpec, 'regions' | 'nodeSelectorRequirements'>,
  hubRegions?: readonly string[],
): string | undefined {
  const regions = effectiveRegions(policy.regions, hubRegions);
  const region = labels[REGION_LABEL];
  if (region === undefined) return `node has no ${REGION_LABEL} label`;
  if (!regions.includes(region)) return `region ${region} is not one of [${regions.join(', ')}]`;
  for (const req of policy.nodeSelectorRequirements ?? []) {
    if (!requirementHolds(labels, req)) {
      const actual = labels[req.key];
      return `label ${req.key}${actual === undefined ? ' is missing' : `=${actual}`} does not satisfy ${req.operator}${req.values?.length ? ' [' + req.values.join(', ') + ']' : ''}`;
    }
  }
  return undefined;
}

export function isNodeEligible(
  labels: Labels,
  policy: Pick<SovereigntyPolicySpec, 'regions' | 'nodeSelectorRequirements'>,
  hubRegions?: readonly string[],
): boolean {
  return ineligibilityReason(labels, policy, hubRegions) === undefined;
}

/** Requirement keys a kubelet could assert about its own node (outside the restricted prefix). */
export function selfAssertableKeys(
  policy: Pick<SovereigntyPolicySpec, 'nodeSelectorRequirements'>,
): string[] {
  const keys = (policy.nodeSelectorRequirements ?? []).map((r) => r.key);
  return [...new Set(keys.filter((k) => !isRestrictedKey(k)))];
}

function isRestrictedKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const prefix = key.slice(0, slash);
  return prefix === NODE_RESTRICTION_SUFFIX || prefix.endsWith('.' + NODE_RESTRICTION_SUFFIX);
}
