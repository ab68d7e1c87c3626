// Where a hub's volumes are, and whether they may grow. Volumes outside the allowed regions are
// reported (condition, Event, metric), never deleted or moved: the data is the user's, and the
// fix (a copy into the allowed regions) is theirs to decide.
import type {
  V1NodeSelectorTerm,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { ClaimStatus, HealthDataHub, SovereigntyPolicySpec } from '../api/index.js';
import type { NodeFacts } from '../placement/compliance.js';
import { effectiveRegions, REGION_LABEL, ZONE_LABEL, type Labels } from '../policy/eligibility.js';
import { claimOrdinal, hubClaims } from './claims.js';
import type { JsonPatchOp } from './patch.js';
import { compareQuantityText } from './quantity.js';
import {
  expressionRegions,
  HOSTNAME_LABEL,
  REGION_KEYS,
  topologyIndex,
  untrustedHostsOf,
  ZONE_KEYS,
  type TopologyIndex,
} from './storage-class.js';

/** Where a PersistentVolume can be used: every region and zone its topology allows. */
export interface VolumeLocation {
  /** Undefined when nothing (node affinity, labels) bounds the regions. */
  regions?: string[];
  zones?: string[];
}

/**
 * The location of a volume, from its required node affinity (what the scheduler enforces) and its
 * topology labels (what provisioners record). Terms are alternatives, so the volume may be used
 * wherever any term allows: one term that bounds nothing leaves the location unknown. A term
 * naming a host (a `local` volume) takes that node's region and zone, when the node verdict
 * trusts its labels (topologyIndex). When both sources speak, the union is kept, so a
 * contradiction shows up as a region outside the policy.
 */
export function volumeLocation(
  pv: V1PersistentVolume,
  nodeFacts: ReadonlyMap<string, NodeFacts>,
): VolumeLocation {
  const index = topologyIndex(nodeFacts);
  const nodes = hostLabels(nodeFacts, index);
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  const affinity = terms.length ? termsLocation(terms, index, nodes) : undefined;
  const labels = pv.metadata?.labels ?? {};
  const labelRegion = REGION_KEYS.map((k) => labels[k]).find((v) => v !== undefined);
  const labelZone = ZONE_KEYS.map((k) => labels[k]).find((v) => v !== undefined);

  const regions = new Set<string>();
  let bounded = false;
  if (affinity?.regions) {
    bounded = true;
    affinity.regions.forEach((r) => regions.add(r));
  }
  // Labels of multi-zone volumes list their values joined by `__` (Kubernetes' convention).
  if (labelRegion !== undefined) {
    bounded = true;
    labelRegion.split('__').forEach((r) => regions.add(r));
  }
  const zones = new Set<string>([...(affinity?.zones ?? []), ...(labelZone ? labelZone.split('__') : [])]);
  const out: VolumeLocation = {};
  if (bounded) out.regions = [...regions].sort();
  if (zones.size) out.zones = [...zones].sort();
  return out;
}

/** Labels of the trusted nodes by host name. */
function hostLabels(nodes: ReadonlyMap<string, NodeFacts>, index: TopologyIndex): Map<string, Labels> {
  const out = new Map<string, Labels>();
  for (const [name, { labels }] of nodes) {
    const host = labels[HOSTNAME_LABEL] ?? name;
    if (!index.untrustedHosts.has(host)) out.set(host, labels);
  }
  return out;
}

/** Hosts a volume's required node affinity pins it to (`kubernetes.io/hostname In [...]`). */
export function pinnedHosts(pv: V1PersistentVolume): string[] {
  return (pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []).flatMap((t) =>
    (t.matchExpressions ?? [])
      .filter((e) => e.key === HOSTNAME_LABEL && e.operator === 'In')
      .flatMap((e) => e.values ?? []),
  );
}

function termsLocation(
  terms: readonly V1NodeSelectorTerm[],
  index: TopologyIndex,
  nodes: ReadonlyMap<string, Labels>,
): VolumeLocation {
  const regions = new Set<string>();
  const zones = new Set<string>();
  let bounded = true;
  for (const term of terms) {
    let termRegions: Set<string> | undefined;
    for (const e of term.matchExpressions ?? []) {
      if (e.operator !== 'In') continue; // only In confines a value
      const r = expressionRegions(e.key, e.values, index);
      if (r) termRegions = termRegions ? new Set([...termRegions].filter((x) => r.has(x))) : r;
      if (ZONE_KEYS.includes(e.key)) (e.values ?? []).forEach((z) => zones.add(z));
      if (e.key === HOSTNAME_LABEL) {
        for (const host of e.values ?? []) {
          const zone = nodes.get(host)?.[ZONE_LABEL];
          if (zone) zones.add(zone);
        }
      }
    }
    if (termRegions) termRegions.forEach((r) => regions.add(r));
    else bounded = false;
  }
  return bounded ? { regions: [...regions], zones: [...zones] } : { zones: [...zones] };
}

export interface VolumeViolation {
  claim: string;
  volumeName: string;
  /** Why the volume is outside, for messages and Events. */
  reason: string;
}

export interface VolumeAudit {
  /** status.storage.claims, by ordinal. */
  claims: ClaimStatus[];
  /** Bound volumes outside the hub's regions, or whose region nothing proves. */
  violations: VolumeViolation[];
  /** Claims of the hub on another class than spec.storage.storageClassName. */
  foreignClass: { claim: string; storageClassName: string }[];
  /** Claims of current replicas (ordinal < replicas) not bound yet. */
  pending: string[];
  /** Bound claims whose PersistentVolume was not observed (not in the cache yet). */
  unobserved: string[];
  /** Current replicas without a claim yet. */
  missing: number;
}

export interface VolumeAuditInput {
  hub: HealthDataHub;
  policy: Pick<SovereigntyPolicySpec, 'regions'>;
  /** Claims of the hub's namespace (the hub's are picked out by name). */
  claims: readonly V1PersistentVolumeClaim[];
  /** PersistentVolumes by name. */
  volumes: Pick<ReadonlyMap<string, V1PersistentVolume>, 'get'>;
  /**
   * Every Node by name (for `local` volumes pinned to a node, and zones); only nodes the node
   * verdict trusts locate anything.
   */
  nodes: ReadonlyMap<string, NodeFacts>;
}

/**
 * Audits every claim of the hub, including those of replicas scaled away (their data is still
 * the hub's). Allowed regions are the hub's: the policy's, narrowed by spec.placement.regions.
 */
export function auditVolumes(input: VolumeAuditInput): VolumeAudit {
  const { hub } = input;
  const name = hub.metadata.name ?? '';
  const regions = effectiveRegions(input.policy.regions, hub.spec.placement?.regions);
  const replicas = hub.spec.datastore?.replicas ?? 1;
  const audit: VolumeAudit = {
    claims: [],
    violations: [],
    foreignClass: [],
    pending: [],
    unobserved: [],
    missing: 0,
  };
  const present = new Set<number>();
  const index = topologyIndex(input.nodes);

  for (const claim of hubClaims(hub, input.claims)) {
    const claimName = claim.metadata!.name!;
    const ordinal = claimOrdinal(name, claimName)!;
    present.add(ordinal);
    const status: ClaimStatus = { name: claimName };
    const className = claim.spec?.storageClassName ?? '';
    if (className !== hub.spec.storage.storageClassName) {
      audit.foreignClass.push({ claim: claimName, storageClassName: className });
    }
    const volumeName = claim.spec?.volumeName;
    const bound = claim.status?.phase === 'Bound' && !!volumeName;
    if (!bound) {
      if (ordinal < replicas) audit.pending.push(claimName);
      audit.claims.push(status);
      continue;
    }
    status.volumeName = volumeName;
    const pv = input.volumes.get(volumeName);
    const capacity = claim.status?.capacity?.['storage'] ?? pv?.spec?.capacity?.['storage'];
    if (capacity !== undefined) status.capacity = String(capacity);
    if (!pv) {
      audit.unobserved.push(claimName);
      audit.claims.push(status);
      continue;
    }
    const location = volumeLocation(pv, input.nodes);
    if (location.regions?.length) status.region = location.regions.join(',');
    if (location.zones?.length) status.zone = location.zones.join(',');
    audit.claims.push(status);
    // A volume on a node the pod audit calls outside every policy is outside too, whatever the
    // node's labels say: the same verdict (untrustedNodeReason) decides both.
    const untrusted = untrustedHostsOf(pinnedHosts(pv), index);
    if (untrusted.length) {
      audit.violations.push({ claim: claimName, volumeName, reason: `it lies on ${untrusted.join('; ')}` });
      continue;
    }
    if (!location.regions) {
      audit.violations.push({
        claim: claimName,
        volumeName,
        reason:
          `nothing proves its region: its node affinity and labels name no ${REGION_LABEL}, ` +
          `and no zone or node whose region the nodes show`,
      });
      continue;
    }
    const outside = location.regions.filter((r) => !regions.includes(r));
    if (outside.length) {
      const zone = location.zones?.length ? ` (zone ${location.zones.join(', ')})` : '';
      audit.violations.push({
        claim: claimName,
        volumeName,
        reason: `it lies in ${outside.join(', ')}${zone}, outside [${regions.join(', ')}]`,
      });
    }
  }
  for (let i = 0; i < replicas; i++) if (!present.has(i)) audit.missing++;
  return audit;
}

/** One line per violation, for the condition and the Event. */
export function describeVolumeViolations(violations: readonly VolumeViolation[]): string {
  return violations.map((v) => `claim ${v.claim} is bound to volume ${v.volumeName}: ${v.reason}`).join('; ');
}

export interface ClaimGrowth {
  claim: string;
  from: string;
  to: string;
  /** JSON patch raising spec.resources.requests.storage, guarded by the claim's UID and size. */
  patch: JsonPatchOp[];
}

export interface GrowthPlan {
  /** Claims to patch (empty when the class cannot expand). */
  grow: ClaimGrowth[];
  /** Claims smaller than spec.storage.size while the class does not allow expansion. */
  blocked: { claim: string; from: string }[];
}

/**
 * Which claims must grow to spec.storage.size. A StatefulSet never resizes existing claims (its
 * claim templates only shape new ones), so each claim is patched. Sizes are compared as
 * quantities; a claim is never lowered, whoever raised it. A class without allowVolumeExpansion
 * would refuse the patch: nothing is patched and the claims are reported as blocked.
 */
export function planGrowth(
  hub: HealthDataHub,
  claims: readonly V1PersistentVolumeClaim[],
  storageClass: V1StorageClass | undefined,
): GrowthPlan {
  const desired = hub.spec.storage.size;
  const plan: GrowthPlan = { grow: [], blocked: [] };
  const expandable = storageClass?.allowVolumeExpansion === true;
  for (const claim of hubClaims(hub, claims)) {
    const current = claim.spec?.resources?.requests?.['storage'];
    if (current === undefined || compareQuantityText(desired, current) <= 0) continue;
    const name = claim.metadata!.name!;
    const from = String(current);
    if (!expandable) {
      plan.blocked.push({ claim: name, from });
      continue;
    }
    plan.grow.push({
      claim: name,
      from,
      to: desired,
      patch: [
        { op: 'test', path: '/metadata/uid', value: claim.metadata!.uid },
        { op: 'test', path: '/spec/resources/requests/storage', value: current },
        { op: 'replace', path: '/spec/resources/requests/storage', value: desired },
      ],
    });
  }
  return plan;
}
