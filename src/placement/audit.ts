// The continuous placement audit (pure): which running pods of a sovereign namespace sit on a node
// outside a policy the namespace is held to, and which of them a hub should evict. The operator's
// shell feeds it from its caches and acts on the verdicts (src/controllers/placement/reconciler.ts).
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import {
  LABEL_HUB,
  type HealthDataHub,
  type PlacementViolation,
  type SovereigntyPolicy,
  type SovereigntyPolicySpec,
} from '../api/index.js';
import type { Labels } from '../policy/eligibility.js';
import { regionsOutsidePolicy } from '../policy/eligibility.js';
import { isSchedulable } from '../policy/nodes.js';
import { policyNamespaceLabelKey } from './admission.js';
import { nodeFacts, nodeVerdict, type NodeFacts } from './compliance.js';

export { nodeFacts, type NodeFacts };

export type NodeFactsByName = ReadonlyMap<string, NodeFacts>;

/**
 * One hub of a namespace and the policy it holds the namespace to. Every pod of the namespace must
 * satisfy the policy; the hub's own pods (labelled `hdh.sovereign.eu/hub: <hub>`) must also stay in
 * the hub's `placement.regions`, as rendering put them there.
 */
export interface HeldPolicy {
  hub: string;
  policyName: string;
  spec: Pick<
    SovereigntyPolicySpec,
    'regions' | 'nodeSelectorRequirements' | 'enforcement' | 'onViolation' | 'remediation'
  >;
  hubRegions?: readonly string[];
}

/**
 * The hub's placement.regions the audit holds its pods to: all of them when the policy allows
 * them all, none when one is outside the policy (RegionNotAllowed, checkReferences). A region the
 * policy does not allow narrows nothing, so it can neither make the hub's pods violate nor, in
 * eligible-node counts, stop an eviction.
 */
export function validHubRegions(
  policyRegions: readonly string[],
  hubRegions: readonly string[] | undefined,
): readonly string[] | undefined {
  if (!hubRegions?.length || regionsOutsidePolicy(policyRegions, hubRegions).length > 0) return undefined;
  return hubRegions;
}

/**
 * The holder name of a policy the namespace is held to by its label alone, with no hub of the
 * namespace using it (claims retained from a deleted hub keep the label): `policy/<name>`, which
 * no hub name or label value can be, so no pod counts as its own.
 */
export function labelHolder(policyName: string): string {
  return `policy/${policyName}`;
}

/** What a hub holds its namespace to: its policy, with its placement.regions where the policy allows them. */
export function heldByHub(hub: HealthDataHub, policy: SovereigntyPolicy): HeldPolicy {
  return {
    hub: hub.metadata.name ?? '',
    policyName: hub.spec.policyName,
    spec: policy.spec,
    hubRegions: validHubRegions(policy.spec.regions, hub.spec.placement?.regions),
  };
}

/**
 * Every policy a namespace is held to: each of its hubs' (when the policy exists), and each other
 * policy whose label the namespace carries (claims retained from a deleted hub keep it), held by
 * the namespace itself (labelHolder). In the order of `hubs`, then of `policies`.
 */
export function heldPolicies(
  hubs: readonly HealthDataHub[],
  policies: readonly SovereigntyPolicy[],
  namespaceLabels: Labels,
): HeldPolicy[] {
  const byName = new Map(policies.map((p) => [p.metadata.name ?? '', p]));
  const held = hubs.flatMap((h) => {
    const p = byName.get(h.spec.policyName);
    return p ? [heldByHub(h, p)] : [];
  });
  const byHubs = new Set(hubs.map((h) => h.spec.policyName));
  for (const [name, p] of byName) {
    if (byHubs.has(name) || namespaceLabels[policyNamespaceLabelKey(name)] === undefined) continue;
    held.push({ hub: labelHolder(name), policyName: name, spec: p.spec });
  }
  return held;
}

export interface PodViolation extends PlacementViolation {
  /** The pod's UID: an eviction names it so that a pod recreated under the same name is spared. */
  uid?: string;
  /** The Node is gone (or not seen yet): nothing to evict from, the pod garbage collector acts. */
  nodeMissing: boolean;
  /** A mirror pod (a kubelet's static pod): deleting it would not stop the static pod. */
  mirror: boolean;
  /** The hubs whose held policy the pod violates. */
  violatedBy: string[];
  /**
   * The hubs among violatedBy whose policy the node satisfies: the pod, one of theirs, is only
   * outside their placement.regions. Absent when none.
   */
  onlyHubRegions?: string[];
}

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

/**
 * The part of a pod the placement audit and eviction read: identity, labels, the mirror
 * annotation, deletion and its grace period, node, own grace period and phase. The pod cache keeps
 * only this (an informer transform), so watching every pod costs a few hundred bytes per pod
 * rather than its whole spec and status.
 */
export function podAuditView(pod: V1Pod): V1Pod {
  const md = pod.metadata ?? {};
  const mirror = md.annotations?.[MIRROR_ANNOTATION];
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: {
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
      ...(md.labels ? { labels: md.labels } : {}),
      ...(mirror !== undefined ? { annotations: { [MIRROR_ANNOTATION]: mirror } } : {}),
      ...(md.deletionTimestamp ? { deletionTimestamp: md.deletionTimestamp } : {}),
      ...(md.deletionGracePeriodSeconds !== undefined
        ? { deletionGracePeriodSeconds: md.deletionGracePeriodSeconds }
        : {}),
    },
    // containers is required by the type; the audit never reads it.
    spec: {
      containers: [],
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      ...(pod.spec?.terminationGracePeriodSeconds !== undefined
        ? { terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds }
        : {}),
    },
    ...(pod.status?.phase ? { status: { phase: pod.status.phase } } : {}),
  };
}

/**
 * Whether a pod is running, or about to run, on its node. Pods not yet bound have no node to be
 * wrong about; finished pods run nothing. Terminating pods still run until their grace period
 * ends (which a tenant may set to days), so they stay placed until they are gone.
 */
export function isPodPlaced(pod: V1Pod): boolean {
  return !!pod.spec?.nodeName && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/**
 * The placed pods of one namespace that violate at least one of the policies the namespace is held
 * to (the strictest wins), sorted by pod name. `held` lists every hub of the namespace whose
 * policy is known; the reason names the policy when the namespace is held to more than one.
 */
export function auditPods(
  held: readonly HeldPolicy[],
  pods: readonly V1Pod[],
  nodes: NodeFactsByName,
): PodViolation[] {
  if (held.length === 0) return [];
  const several = new Set(held.map((h) => h.policyName)).size > 1;
  // The one node verdict (compliance.ts), judged once per node and policy, and per node and hub
  // for a hub's own pods (its regions narrow the policy): a namespace may hold a thousand hubs of
  // one policy and their pods on a few nodes, and this runs on every pod event there.
  const byPolicy = new Map<HeldPolicy['spec'], Map<string, string | undefined>>();
  const policyVerdict = (node: NodeFacts, nodeName: string, spec: HeldPolicy['spec']) => {
    let perNode = byPolicy.get(spec);
    if (!perNode) byPolicy.set(spec, (perNode = new Map()));
    if (!perNode.has(nodeName)) perNode.set(nodeName, nodeVerdict(node, spec));
    return perNode.get(nodeName);
  };
  const byHub = new Map<string, string | undefined>();
  const hubVerdict = (node: NodeFacts, nodeName: string, i: number, hubRegions: readonly string[]) => {
    const key = `${i}/${nodeName}`;
    if (!byHub.has(key)) byHub.set(key, nodeVerdict(node, held[i]!.spec, hubRegions));
    return byHub.get(key);
  };
  const specs = [...new Set(held.map((h) => h.spec))];
  const heldOfHub = new Map<string, number[]>();
  held.forEach((h, i) => heldOfHub.set(h.hub, [...(heldOfHub.get(h.hub) ?? []), i]));
  const everyIndex = held.map((_, i) => i);
  const violations: PodViolation[] = [];
  for (const pod of pods) {
    if (!isPodPlaced(pod)) continue;
    const nodeName = pod.spec!.nodeName!;
    const node = nodes.get(nodeName);
    const owner = pod.metadata?.labels?.[LABEL_HUB];
    // On a node inside every policy, only the pod's own hub's regions can put it outside.
    const candidates =
      node && specs.every((spec) => policyVerdict(node, nodeName, spec) === undefined)
        ? (owner && heldOfHub.get(owner)) || []
        : everyIndex;
    const violatedBy: string[] = [];
    const onlyHubRegions: string[] = [];
    let reason: string | undefined;
    for (const i of candidates) {
      const h = held[i]!;
      const hubRegions = owner === h.hub ? h.hubRegions : undefined;
      const why = !node
        ? `node ${nodeName} no longer exists`
        : hubRegions
          ? hubVerdict(node, nodeName, i, hubRegions)
          : policyVerdict(node, nodeName, h.spec);
      if (why === undefined) continue;
      violatedBy.push(h.hub);
      if (node && h.hubRegions && policyVerdict(node, nodeName, h.spec) === undefined)
        onlyHubRegions.push(h.hub);
      reason ??= several && node ? `${why} (SovereigntyPolicy ${h.policyName})` : why;
    }
    if (reason === undefined) continue;
    violations.push({
      pod: pod.metadata?.name ?? '',
      node: nodeName,
      reason,
      uid: pod.metadata?.uid,
      nodeMissing: !node,
      mirror: !!pod.metadata?.annotations?.[MIRROR_ANNOTATION],
      violatedBy,
      ...(onlyHubRegions.length ? { onlyHubRegions } : {}),
    });
  }
  return violations.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}

/**
 * Schedulable nodes that could take a removed pod back: those inside the policy, and those inside
 * the hub's (valid) placement.regions too, where the hub's own pods go.
 */
export interface EligibleNodes {
  policy: number;
  hubRegions: number;
}

/**
 * The violations `hub` evicts: those of its own policy, when the policy enforces and asks for
 * eviction. Pods on a vanished node and mirror pods are only reported (see PodViolation). Nor is
 * a pod removed that nothing could take back: a pod outside the policy stays while no node
 * satisfies the policy, whatever the hub's placement.regions say (which its tenant writes and
 * could point at a region without nodes); a hub's pod inside the policy but outside the hub's
 * regions stays while no node is inside them.
 */
export function evictionCandidates(
  violations: readonly PodViolation[],
  hub: HeldPolicy,
  eligible: EligibleNodes,
): PodViolation[] {
  if ((hub.spec.enforcement ?? 'Enforce') !== 'Enforce') return [];
  if ((hub.spec.onViolation ?? 'Evict') !== 'Evict') return [];
  return violations.filter(
    (v) =>
      v.violatedBy.includes(hub.hub) &&
      !v.nodeMissing &&
      !v.mirror &&
      (v.onlyHubRegions?.includes(hub.hub) ? eligible.hubRegions : eligible.policy) > 0,
  );
}

/** At most this many violations are listed in status (the CRD's maxItems). */
export const MAX_LISTED_VIOLATIONS = 64;
/** At most this many are named in a condition message or an Event note. */
const MAX_NAMED = 5;

/** The violations as status lists them. */
export function statusViolations(violations: readonly PlacementViolation[]): PlacementViolation[] {
  return violations.slice(0, MAX_LISTED_VIOLATIONS).map(({ pod, node, reason }) => ({ pod, node, reason }));
}

/** Whether two audits found the same pods on the same nodes for the same reasons. */
export function sameViolations(
  a: readonly PlacementViolation[] | undefined,
  b: readonly PlacementViolation[] | undefined,
): boolean {
  const key = (v: PlacementViolation) => `${v.pod}\u0000${v.node}\u0000${v.reason}`;
  const left = (a ?? []).map(key).sort();
  const right = (b ?? []).map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}

/**
 * `2 pod(s) on nodes outside the policy: web-1 on us-east-1a (region …); web-2 on …`, naming the
 * first few (the status lists more).
 */
export function describeViolations(
  violations: readonly PlacementViolation[],
  total = violations.length,
): string {
  const named = violations
    .slice(0, MAX_NAMED)
    .map((v) => `pod ${v.pod} on node ${v.node} (${v.reason})`)
    .join('; ');
  const more = total > MAX_NAMED ? `; and ${total - MAX_NAMED} more` : '';
  return `${total} pod(s) on nodes outside the policy: ${named}${more}`;
}

/**
 * Whether a node counts towards a hub's eligible nodes: it can take pods, satisfies the policy
 * (narrowed by the hub's regions), and its region label is not contradicted by its providerID.
 * A Node event changes a hub's status only when this changes, so only then is the hub woken.
 */
export function countsAsEligible(
  node: V1Node | undefined,
  policy: Pick<SovereigntyPolicySpec, 'regions' | 'nodeSelectorRequirements'>,
  hubRegions?: readonly string[],
): boolean {
  return !!node && isSchedulable(node) && nodeVerdict(nodeFacts(node), policy, hubRegions) === undefined;
}
