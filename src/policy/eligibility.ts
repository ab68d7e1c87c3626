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

/**
 * Operators a node meets only by carrying the label: on a restricted key, only the platform can
 * make a node meet them. NotIn and DoesNotExist are met by a node without the label, which any
 * node can be, so they prove nothing about who labelled it.
 */
const PRESENCE_OPERATORS: readonly string[] = ['In', 'Exists', 'Gt', 'Lt'];

/**
 * Restricted keys (see isRestrictedKey) that every node the policy accepts must carry: labels a
 * kubelet cannot set on itself, so no node qualifies unless the platform labelled it.
 */
export function restrictedAnchorKeys(
  policy: Pick<SovereigntyPolicySpec, 'nodeSelectorRequirements'>,
): string[] {
  const keys = (policy.nodeSelectorRequirements ?? [])
    .filter((r) => isRestrictedKey(r.key) && PRESENCE_OPERATORS.includes(r.operator))
    .map((r) => r.key);
  return [...new Set(keys)];
}

/** The local name a restricted key must have to attest a node's region (see regionsPinned). */
const RESTRICTED_REGION_NAME = 'region';

/**
 * Whether the policy's regions rest on a label only the platform sets. Regions are matched on
 * topology.kubernetes.io/region, which a kubelet sets on its own Node, so an anchor such as
 * jurisdiction In [EU] does not keep an EU node of another region from labelling itself into
 * them: the operator cannot know which regions an anchor value implies. They are pinned only by a
 * requirement `In` on a restricted key named `region` (e.g.
 * sovereign.node-restriction.kubernetes.io/region) whose values all lie in the policy's regions:
 * then every node the policy accepts carries the platform's word that it is in one of them.
 */
function regionsPinned(policy: Pick<SovereigntyPolicySpec, 'regions' | 'nodeSelectorRequirements'>): boolean {
  return (policy.nodeSelectorRequirements ?? []).some(
    (r) =>
      isRestrictedRegionKey(r.key) &&
      r.operator === 'In' &&
      (r.values ?? []).length > 0 &&
      (r.values ?? []).every((v) => (policy.regions ?? []).includes(v)),
  );
}

/** A restricted key (isRestrictedKey) whose name, after the prefix, is `region`. */
export function isRestrictedRegionKey(key: string): boolean {
  return isRestrictedKey(key) && key.slice(key.indexOf('/') + 1) === RESTRICTED_REGION_NAME;
}

/**
 * Label keys the policy's verdict relies on that a kubelet may set (or remove) on its own Node.
 * Every requirement key outside the restricted prefixes is one. So is the region label
 * (topology.kubernetes.io/region, which kubelets set themselves) unless a restricted requirement
 * pins the regions (regionsPinned): a restricted anchor on anything else does not, as a node it
 * admits can still label itself into an allowed region. The providerID cross-check does not
 * cover it either: a kubelet registers its own Node and may set an empty providerID itself, so a
 * providerID proves nothing a kubelet could not have written.
 */
export function selfAssertableKeys(
  policy: Pick<SovereigntyPolicySpec, 'regions' | 'nodeSelectorRequirements'>,
): string[] {
  const keys = (policy.nodeSelectorRequirements ?? []).map((r) => r.key).filter((k) => !isRestrictedKey(k));
  const region = regionsPinned(policy) ? [] : [REGION_LABEL];
  return [...new Set([...region, ...keys])];
}

/**
 * Whether NodeRestriction keeps kubelets from setting `key` on their own Node: keys under
 * `node-restriction.kubernetes.io/` or `<anything>.node-restriction.kubernetes.io/`.
 */
export function isRestrictedKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const prefix = key.slice(0, slash);
  return prefix === NODE_RESTRICTION_SUFFIX || prefix.endsWith('.' + NODE_RESTRICTION_SUFFIX);
}
