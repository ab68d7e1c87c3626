// The what-if of a SovereigntyPolicy (pure): what would change if a candidate policy (new, or a
// changed version of one that exists) were applied, computed from a snapshot of the cluster with
// the same verdicts the operator gives (pod audit, eviction candidates, node verdict, eligible
// node counts, volume audit). It changes nothing; the command line prints it.
import type {
  V1Namespace,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../api/index.js';
import { policyNamespaceLabelKey } from '../placement/admission.js';
import {
  auditPods,
  evictionCandidates,
  labelHolder,
  nodeFacts,
  heldByHub,
  type HeldPolicy,
  type NodeFacts,
} from '../placement/audit.js';
import { countEligibleNodes, nodeVerdict } from '../placement/compliance.js';
import { REGION_LABEL, regionsOutsidePolicy } from '../policy/eligibility.js';
import { schedulableNodes } from '../policy/nodes.js';
import { hubClaims } from '../storage/claims.js';
import { topologyIndex, untrustedHostsOf } from '../storage/storage-class.js';
import { auditVolumes, pinnedHosts, volumeLocation } from '../storage/volumes.js';

/** What the what-if reads of the cluster: lists, as an informer or `kubectl get` would give them. */
export interface ClusterSnapshot {
  nodes: readonly V1Node[];
  pods: readonly V1Pod[];
  claims: readonly V1PersistentVolumeClaim[];
  volumes: readonly V1PersistentVolume[];
  storageClasses: readonly V1StorageClass[];
  namespaces: readonly V1Namespace[];
  hubs: readonly HealthDataHub[];
  policies: readonly SovereigntyPolicy[];
}

export interface WhatIfOptions {
  /** Only these namespaces (pods, volumes, hubs); all when absent. Nodes are cluster-wide. */
  namespaces?: readonly string[];
}

/** A namespace held to the policy, and by what: its hubs, or its label alone. */
export interface HeldNamespace {
  namespace: string;
  hubs: string[];
  /** The namespace carries the policy's label (policyNamespaceLabelKey). */
  labelled: boolean;
}

export interface PodOutcome {
  namespace: string;
  pod: string;
  node: string;
  reason: string;
  /** What the operator would do under the candidate: evict it, or only report it. */
  action: 'evict' | 'report';
  /** The pod already violates the current version of the policy. */
  alreadyViolating: boolean;
}

export interface VolumeOutcome {
  namespace: string;
  claim: string;
  volume: string;
  /** The hub whose claim it is, when it is one. */
  hub?: string;
  regions?: string[];
  zones?: string[];
  reason: string;
}

export interface HubOutcome {
  namespace: string;
  hub: string;
  /** The hub's spec.placement.regions, when it narrows the policy. */
  regions?: string[];
  eligibleNodes: number;
  /** Regions of the hub the candidate does not allow (the hub would be refused, RegionNotAllowed). */
  regionsNotAllowed?: string[];
}

export interface NodeOutcome {
  node: string;
  region?: string;
  /** Why it does not qualify under the policy that refuses it. */
  reason: string;
}

export interface WhatIfResult {
  policy: string;
  /** `new` when no policy of that name exists. */
  change: 'new' | 'changed' | 'unchanged';
  enforcement: { current?: 'Enforce' | 'Audit'; candidate: 'Enforce' | 'Audit' };
  namespaces: HeldNamespace[];
  /** (a) Running pods of the held namespaces that would violate the candidate. */
  pods: PodOutcome[];
  /** (b) Bound volumes of the held namespaces outside the candidate's regions. */
  volumes: VolumeOutcome[];
  /** (c) Hubs of the policy that would have no eligible node. */
  hubsWithoutNodes: HubOutcome[];
  /** (d) Nodes that qualify now and would not, and the other way round. */
  nodes: { stopQualifying: NodeOutcome[]; startQualifying: NodeOutcome[] };
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The namespaces held to `policyName`, by hub or by label, within the options' scope. */
export function heldNamespaces(
  snapshot: ClusterSnapshot,
  policyName: string,
  options: WhatIfOptions = {},
): HeldNamespace[] {
  const inScope = (ns: string | undefined): ns is string =>
    !!ns && (!options.namespaces || options.namespaces.includes(ns));
  const held = new Map<string, HeldNamespace>();
  const entry = (namespace: string) => {
    const e = held.get(namespace) ?? { namespace, hubs: [], labelled: false };
    held.set(namespace, e);
    return e;
  };
  for (const hub of snapshot.hubs) {
    const ns = hub.metadata.namespace;
    if (hub.spec.policyName === policyName && inScope(ns)) entry(ns).hubs.push(hub.metadata.name!);
  }
  const key = policyNamespaceLabelKey(policyName);
  for (const ns of snapshot.namespaces) {
    const name = ns.metadata?.name;
    if (inScope(name) && ns.metadata?.labels?.[key] !== undefined) entry(name).labelled = true;
  }
  return [...held.values()]
    .map((h) => ({ ...h, hubs: h.hubs.sort(byName) }))
    .sort((a, b) => byName(a.namespace, b.namespace));
}

/** What the placement controller holds the namespace to for this one policy (its audit's input). */
function heldPolicies(
  hubs: readonly HealthDataHub[],
  held: HeldNamespace,
  policy: SovereigntyPolicy,
): HeldPolicy[] {
  const policyName = policy.metadata.name!;
  const mine = hubs.filter(
    (h) => h.metadata.namespace === held.namespace && h.spec.policyName === policyName,
  );
  if (mine.length === 0) return [{ hub: labelHolder(policyName), policyName, spec: policy.spec }];
  return mine.map((h) => heldByHub(h, policy));
}

/** (a) The pods of one held namespace the candidate would find outside it, and what it would do. */
function podOutcomes(
  snapshot: ClusterSnapshot,
  held: HeldNamespace,
  candidate: SovereigntyPolicy,
  current: SovereigntyPolicy | undefined,
  facts: ReadonlyMap<string, NodeFacts>,
  schedulable: readonly NodeFacts[],
): PodOutcome[] {
  const pods = snapshot.pods.filter((p) => p.metadata?.namespace === held.namespace);
  const policies = heldPolicies(snapshot.hubs, held, candidate);
  const violations = auditPods(policies, pods, facts);
  const evicted = new Set(
    policies.flatMap((self) =>
      evictionCandidates(violations, self, {
        policy: countEligibleNodes(schedulable, self.spec),
        hubRegions: countEligibleNodes(schedulable, self.spec, self.hubRegions),
      }).map((v) => v.pod),
    ),
  );
  const before = current
    ? new Set(auditPods(heldPolicies(snapshot.hubs, held, current), pods, facts).map((v) => v.pod))
    : new Set<string>();
  return violations.map((v) => ({
    namespace: held.namespace,
    pod: v.pod,
    node: v.node,
    reason: v.reason,
    action: evicted.has(v.pod) ? 'evict' : 'report',
    alreadyViolating: before.has(v.pod),
  }));
}

/**
 * (b) The bound volumes of one held namespace outside the candidate. A hub's claims go through
 * the operator's own volume audit (the hub's regions: the policy's, narrowed by the hub's); the
 * namespace's other claims are located the same way (volumeLocation, untrusted hosts) and held
 * to the policy's regions.
 */
function volumeOutcomes(
  snapshot: ClusterSnapshot,
  held: HeldNamespace,
  candidate: SovereigntyPolicy,
  facts: ReadonlyMap<string, NodeFacts>,
): VolumeOutcome[] {
  const claims = snapshot.claims.filter((c) => c.metadata?.namespace === held.namespace);
  const volumes = new Map(snapshot.volumes.map((v) => [v.metadata?.name ?? '', v]));
  const out: VolumeOutcome[] = [];
  const seen = new Set<string>();
  const located = (volumeName: string) => {
    const pv = volumes.get(volumeName);
    return pv ? volumeLocation(pv, facts) : {};
  };
  for (const hub of snapshot.hubs) {
    if (hub.metadata.namespace !== held.namespace || !held.hubs.includes(hub.metadata.name!)) continue;
    hubClaims(hub, claims).forEach((c) => seen.add(c.metadata!.name!));
    const audit = auditVolumes({ hub, policy: candidate.spec, claims, volumes, nodes: facts });
    for (const v of audit.violations) {
      out.push({
        namespace: held.namespace,
        claim: v.claim,
        volume: v.volumeName,
        hub: hub.metadata.name!,
        ...located(v.volumeName),
        reason: v.reason,
      });
    }
  }
  const index = topologyIndex(facts);
  const regions = candidate.spec.regions;
  for (const claim of claims) {
    const name = claim.metadata?.name ?? '';
    const volumeName = claim.spec?.volumeName;
    if (seen.has(name) || claim.status?.phase !== 'Bound' || !volumeName) continue;
    const pv = volumes.get(volumeName);
    if (!pv) continue;
    const location = volumeLocation(pv, facts);
    const untrusted = untrustedHostsOf(pinnedHosts(pv), index);
    const outside = location.regions?.filter((r) => !regions.includes(r)) ?? [];
    const reason = untrusted.length
      ? `it lies on ${untrusted.join('; ')}`
      : !location.regions
        ? `nothing proves its region: its node affinity and labels name no ${REGION_LABEL}`
        : outside.length
          ? `it lies in ${outside.join(', ')}${location.zones?.length ? ` (zone ${location.zones.join(', ')})` : ''}, outside [${regions.join(', ')}]`
          : undefined;
    if (reason) out.push({ namespace: held.namespace, claim: name, volume: volumeName, ...location, reason });
  }
  return out.sort((a, b) => byName(a.claim, b.claim));
}

/** (c) The hubs of the policy that would have no eligible node, or regions it refuses. */
function hubOutcomes(
  snapshot: ClusterSnapshot,
  held: readonly HeldNamespace[],
  candidate: SovereigntyPolicy,
  schedulable: readonly NodeFacts[],
): HubOutcome[] {
  const out: HubOutcome[] = [];
  for (const h of held) {
    for (const name of h.hubs) {
      const hub = snapshot.hubs.find(
        (x) => x.metadata.namespace === h.namespace && x.metadata.name === name,
      )!;
      const regions = hub.spec.placement?.regions;
      const eligibleNodes = countEligibleNodes(schedulable, candidate.spec, regions);
      const refused = regionsOutsidePolicy(candidate.spec.regions, regions);
      if (eligibleNodes > 0 && refused.length === 0) continue;
      out.push({
        namespace: h.namespace,
        hub: name,
        ...(regions?.length ? { regions: [...regions] } : {}),
        eligibleNodes,
        ...(refused.length ? { regionsNotAllowed: refused } : {}),
      });
    }
  }
  return out;
}

/** (d) Nodes whose verdict the candidate turns around, by the one node verdict. */
function nodeOutcomes(
  nodes: readonly V1Node[],
  candidate: SovereigntyPolicy,
  current: SovereigntyPolicy | undefined,
): WhatIfResult['nodes'] {
  const stopQualifying: NodeOutcome[] = [];
  const startQualifying: NodeOutcome[] = [];
  for (const node of [...nodes].sort((a, b) => byName(a.metadata?.name ?? '', b.metadata?.name ?? ''))) {
    const facts = nodeFacts(node);
    const name = node.metadata?.name ?? '';
    const region = facts.labels[REGION_LABEL];
    const now = current ? nodeVerdict(facts, current.spec) : 'the policy does not exist yet';
    const then = nodeVerdict(facts, candidate.spec);
    if (now === undefined && then !== undefined) stopQualifying.push({ node: name, region, reason: then });
    if (now !== undefined && then === undefined) startQualifying.push({ node: name, region, reason: now });
  }
  return { stopQualifying, startQualifying };
}

/** What applying `candidate` would change, changing nothing. */
export function whatIf(
  snapshot: ClusterSnapshot,
  candidate: SovereigntyPolicy,
  options: WhatIfOptions = {},
): WhatIfResult {
  const name = candidate.metadata.name!;
  const current = snapshot.policies.find((p) => p.metadata.name === name);
  const facts = new Map(snapshot.nodes.map((n) => [n.metadata?.name ?? '', nodeFacts(n)]));
  const schedulable = schedulableNodes(snapshot.nodes);
  const held = heldNamespaces(snapshot, name, options);
  return {
    policy: name,
    change: !current
      ? 'new'
      : JSON.stringify(current.spec) === JSON.stringify(candidate.spec)
        ? 'unchanged'
        : 'changed',
    enforcement: {
      ...(current ? { current: current.spec.enforcement ?? 'Enforce' } : {}),
      candidate: candidate.spec.enforcement ?? 'Enforce',
    },
    namespaces: held,
    pods: held.flatMap((h) => podOutcomes(snapshot, h, candidate, current, facts, schedulable)),
    volumes: held.flatMap((h) => volumeOutcomes(snapshot, h, candidate, facts)),
    hubsWithoutNodes: hubOutcomes(snapshot, held, candidate, schedulable),
    nodes: nodeOutcomes(snapshot.nodes, candidate, current),
  };
}
