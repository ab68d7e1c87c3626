// Whether a hub may put its data on a StorageClass: checked before anything of the hub is
// created, so that no volume is ever provisioned on a class the policy would refuse.
import type { V1StorageClass, V1TopologySelectorTerm } from '@kubernetes/client-node';
import {
  ANNOTATION_ENCRYPTED,
  ConditionStatus,
  ConditionType,
  Reason,
  type ConditionUpdate,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../api/index.js';
import { untrustedNodeReason, type NodeFacts } from '../placement/compliance.js';
import { REGION_LABEL, ZONE_LABEL } from '../policy/eligibility.js';

/**
 * CSI parameters that make a class encrypt its volumes, by provisioner. The list is short on
 * purpose: a parameter counts only for the driver known to honour it. Any other class is attested
 * by the platform team with the annotation hdh.sovereign.eu/encrypted: "true". A provisioner
 * matches its name or `<prefix>.<name>` (Rook names its drivers `<namespace>.rbd.csi.ceph.com`).
 */
export const ENCRYPTION_PARAMETERS: readonly EncryptionParameter[] = [
  {
    driver: 'AWS EBS',
    provisioners: ['ebs.csi.aws.com', 'kubernetes.io/aws-ebs'],
    parameter: 'encrypted',
    value: 'true',
  },
  { driver: 'Ceph RBD', provisioners: ['rbd.csi.ceph.com'], parameter: 'encrypted', value: 'true' },
  { driver: 'Longhorn', provisioners: ['driver.longhorn.io'], parameter: 'encrypted', value: 'true' },
  // Google encrypts every disk with its own keys; only a customer-managed key is an attestation.
  { driver: 'GCE PD', provisioners: ['pd.csi.storage.gke.io'], parameter: 'disk-encryption-kms-key' },
];

export interface EncryptionParameter {
  driver: string;
  provisioners: readonly string[];
  parameter: string;
  /** The value required; without one, any non-empty value counts (a key reference). */
  value?: string;
}

/** Label keys whose values are regions. */
export const REGION_KEYS: readonly string[] = [REGION_LABEL, 'failure-domain.beta.kubernetes.io/region'];
/**
 * Label keys whose values are zones: the well-known ones and those of CSI drivers whose zone
 * values are the cloud's zone names, the same values as the nodes' topology.kubernetes.io/zone.
 */
export const ZONE_KEYS: readonly string[] = [
  ZONE_LABEL,
  'failure-domain.beta.kubernetes.io/zone',
  'topology.ebs.csi.aws.com/zone',
  'topology.gke.io/zone',
  'topology.disk.csi.azure.com/zone',
];
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

export interface StorageProblem {
  reason: string;
  message: string;
}

export interface StorageClassInput {
  hub: HealthDataHub;
  policy: SovereigntyPolicy;
  /** The class named by spec.storage.storageClassName; undefined when it does not exist. */
  storageClass: V1StorageClass | undefined;
  /**
   * Every Node by name: the labels of those the node verdict trusts tell which region a zone or a
   * host is in (topologyIndex).
   */
  nodes: ReadonlyMap<string, NodeFacts>;
}

export type StorageClassVerdict =
  { ok: true } | { ok: false; problems: StorageProblem[]; condition: ConditionUpdate };

/**
 * Checks, in this order: the class exists, the policy allows it, it is attested encrypted (when
 * the policy requires it), it binds WaitForFirstConsumer, and its allowedTopologies stay inside
 * the policy's regions. Every failing check is reported, so one fix round settles them all; the
 * condition carries the first one's reason.
 */
export function checkStorageClass(input: StorageClassInput): StorageClassVerdict {
  const problems = storageClassProblems(input);
  if (problems.length === 0) return { ok: true };
  const first = problems[0]!;
  return {
    ok: false,
    problems,
    condition: {
      type: ConditionType.StorageReady,
      status: ConditionStatus.False,
      reason: first.reason,
      message: `${problems.map((p) => p.message).join('; ')}; nothing of the hub is created until then`,
      observedGeneration: input.hub.metadata.generation ?? 0,
    },
  };
}

export function storageClassProblems(input: StorageClassInput): StorageProblem[] {
  const { hub, policy, storageClass } = input;
  const className = hub.spec.storage.storageClassName;
  const policyName = policy.metadata.name ?? '';
  if (!storageClass) {
    return [
      {
        reason: Reason.StorageClassNotFound,
        message:
          `StorageClass "${className}" does not exist: create it (attested encrypted, volumeBindingMode: ` +
          `WaitForFirstConsumer); storageClassName is immutable, so to use another class recreate the hub`,
      },
    ];
  }
  const problems: StorageProblem[] = [];
  const allowed = policy.spec.storage?.allowedStorageClasses ?? [];
  if (allowed.length > 0 && !allowed.includes(className)) {
    problems.push({
      reason: Reason.StorageClassNotAllowed,
      message:
        `StorageClass "${className}" is not in SovereigntyPolicy "${policyName}" storage.allowedStorageClasses ` +
        `[${allowed.join(', ')}]: recreate the hub with one of them, or have the platform team allow it`,
    });
  }
  // The API server defaults requireEncryption to true; an absent value is read the same way.
  if (policy.spec.storage?.requireEncryption !== false) {
    const attested = encryptionAttestation(storageClass);
    if (!attested.encrypted) {
      problems.push({
        reason: Reason.StorageNotEncrypted,
        message:
          `SovereigntyPolicy "${policyName}" requires encrypted storage and StorageClass "${className}" ` +
          `(provisioner ${storageClass.provisioner}) ${attested.why}: once the class is known to encrypt its ` +
          `volumes, annotate it ${ANNOTATION_ENCRYPTED}: "true"${parameterHint(storageClass.provisioner)}`,
      });
    }
  }
  // Unset means Immediate (the API server's default).
  const mode = storageClass.volumeBindingMode ?? 'Immediate';
  if (mode !== 'WaitForFirstConsumer') {
    problems.push({
      reason: Reason.ImmediateBinding,
      message:
        `StorageClass "${className}" has volumeBindingMode ${mode}: a volume would be provisioned before its ` +
        `pod is placed, possibly outside the allowed regions; use a class with volumeBindingMode: ` +
        `WaitForFirstConsumer (a class cannot be changed: create a new one and recreate the hub)`,
    });
  }
  const outside = termsOutside(storageClass.allowedTopologies ?? [], policy.spec.regions, input.nodes);
  if (outside.length) {
    problems.push({
      reason: Reason.TopologyOutsideJurisdiction,
      message:
        `StorageClass "${className}" allowedTopologies let volumes be provisioned outside SovereigntyPolicy ` +
        `"${policyName}" regions [${policy.spec.regions.join(', ')}]: ${outside.join('; ')}; restrict every ` +
        `term with ${REGION_LABEL} In [allowed regions] (or zones whose region the nodes show)`,
    });
  }
  return problems;
}

/**
 * Whether a class is attested encrypted, and why not. The annotation is the platform team's
 * word and wins either way: an explicit value other than "true" is a statement that the class is
 * not to be trusted with health data, whatever its parameters say.
 */
export function encryptionAttestation(sc: V1StorageClass): { encrypted: boolean; why: string } {
  const annotation = sc.metadata?.annotations?.[ANNOTATION_ENCRYPTED];
  if (annotation !== undefined) {
    return annotation === 'true'
      ? { encrypted: true, why: `is annotated ${ANNOTATION_ENCRYPTED}: "true"` }
      : { encrypted: false, why: `is annotated ${ANNOTATION_ENCRYPTED}: "${annotation}"` };
  }
  const known = knownParameter(sc.provisioner);
  if (known) {
    const value = sc.parameters?.[known.parameter];
    const ok = known.value === undefined ? !!value : value === known.value;
    if (ok) return { encrypted: true, why: `sets the ${known.driver} parameter ${known.parameter}` };
    return {
      encrypted: false,
      why: `does not set the ${known.driver} parameter ${describeParameter(known)}`,
    };
  }
  return { encrypted: false, why: `has no ${ANNOTATION_ENCRYPTED} annotation` };
}

function knownParameter(provisioner: string): EncryptionParameter | undefined {
  return ENCRYPTION_PARAMETERS.find((p) =>
    p.provisioners.some((name) => provisioner === name || provisioner.endsWith(`.${name}`)),
  );
}

function describeParameter(p: EncryptionParameter): string {
  return p.value === undefined ? `${p.parameter}` : `${p.parameter}: "${p.value}"`;
}

function parameterHint(provisioner: string): string {
  const known = knownParameter(provisioner);
  return known ? `, or create a class with the parameter ${describeParameter(known)}` : '';
}

/**
 * allowedTopologies terms (ORed) that may lie outside `regions`, described for a message. A
 * term's expressions are ANDed, so any one that bounds the region bounds the term: a region
 * expression directly, a zone expression through the region of the nodes in that zone (only when
 * every node of the zone agrees: an ambiguous or unknown zone proves nothing), a hostname through
 * that node's region. A term nothing bounds is outside: it proves no location.
 */
export function termsOutside(
  terms: readonly V1TopologySelectorTerm[],
  regions: readonly string[],
  nodes: ReadonlyMap<string, NodeFacts>,
): string[] {
  const index = topologyIndex(nodes);
  const out: string[] = [];
  terms.forEach((term, i) => {
    const bound = termRegions(term, index);
    const label = `term ${i + 1} (${describeTerm(term)})`;
    const untrusted = untrustedHostsOf(
      (term.matchLabelExpressions ?? [])
        .filter((e) => e.key === HOSTNAME_LABEL)
        .flatMap((e) => e.values ?? []),
      index,
    );
    if (untrusted.length) out.push(`${label} names ${untrusted.join('; ')}`);
    else if (!bound) out.push(`${label} bounds no region`);
    else {
      const extra = [...bound].filter((r) => !regions.includes(r));
      if (extra.length) out.push(`${label} reaches ${extra.join(', ')}`);
    }
  });
  return out;
}

export interface TopologyIndex {
  /** Zone → the regions of the trusted nodes labelled with it. */
  zoneRegions: Map<string, Set<string>>;
  /** Host name (kubernetes.io/hostname, else node name) → region, for trusted nodes. */
  hostRegion: Map<string, string | undefined>;
  /** Host name → why the node's labels are not evidence (untrustedNodeReason). */
  untrustedHosts: Map<string, string>;
}

/**
 * Where the nodes are, from the labels of the nodes the node verdict trusts only: a node whose
 * region label its providerID contradicts locates nothing, neither its zone nor a volume on it.
 */
export function topologyIndex(nodes: ReadonlyMap<string, NodeFacts>): TopologyIndex {
  const zoneRegions = new Map<string, Set<string>>();
  const hostRegion = new Map<string, string | undefined>();
  const untrustedHosts = new Map<string, string>();
  for (const [name, node] of nodes) {
    const labels = node.labels;
    const untrusted = untrustedNodeReason(node);
    if (untrusted !== undefined) {
      untrustedHosts.set(labels[HOSTNAME_LABEL] ?? name, untrusted);
      continue;
    }
    const region = labels[REGION_LABEL];
    const zone = labels[ZONE_LABEL];
    if (zone !== undefined) {
      const set = zoneRegions.get(zone) ?? new Set<string>();
      // A zone node without a region makes the zone's region unknown.
      set.add(region ?? '');
      zoneRegions.set(zone, set);
    }
    hostRegion.set(labels[HOSTNAME_LABEL] ?? name, region);
  }
  return { zoneRegions, hostRegion, untrustedHosts };
}

/** `node <host>, whose labels are not evidence (<why>)` for each untrusted host among `hosts`. */
export function untrustedHostsOf(hosts: readonly string[], index: TopologyIndex): string[] {
  return hosts.flatMap((h) => {
    const why = index.untrustedHosts.get(h);
    return why === undefined ? [] : [`node ${h}, whose labels are not evidence (${why})`];
  });
}

/** The region of a zone, when the nodes say it unambiguously. */
export function zoneRegion(index: TopologyIndex, zone: string): string | undefined {
  const set = index.zoneRegions.get(zone);
  if (!set || set.size !== 1) return undefined;
  const [region] = set;
  return region || undefined;
}

/**
 * The regions a term can reach, or undefined when nothing in it bounds them. Only `In`-style
 * expressions are read (a topology selector has no other operator).
 */
function termRegions(term: V1TopologySelectorTerm, index: TopologyIndex): Set<string> | undefined {
  let bound: Set<string> | undefined;
  for (const e of term.matchLabelExpressions ?? []) {
    const regions = expressionRegions(e.key, e.values, index);
    if (!regions) continue;
    bound = bound ? new Set([...bound].filter((r) => regions.has(r))) : regions;
  }
  return bound;
}

/** Regions a `key In values` requirement confines to; undefined when it does not confine them. */
export function expressionRegions(
  key: string,
  values: readonly string[] | undefined,
  index: TopologyIndex,
): Set<string> | undefined {
  const list = values ?? [];
  const lookup = (fn: (v: string) => string | undefined): Set<string> | undefined => {
    const regions = list.map(fn);
    return regions.every((r) => r !== undefined) ? new Set(regions as string[]) : undefined;
  };
  if (REGION_KEYS.includes(key)) return new Set(list);
  if (ZONE_KEYS.includes(key)) return lookup((z) => zoneRegion(index, z));
  if (key === HOSTNAME_LABEL) return lookup((h) => index.hostRegion.get(h));
  return undefined;
}

function describeTerm(term: V1TopologySelectorTerm): string {
  const parts = (term.matchLabelExpressions ?? []).map((e) => `${e.key} In [${(e.values ?? []).join(', ')}]`);
  return parts.length ? parts.join(', ') : 'empty';
}
