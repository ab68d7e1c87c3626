// The policy report of a sovereign namespace (pure): one result per placed pod and per claim of
// each hub, with the verdicts the operator itself gives (the placement audit, the volume audit,
// the storage class's encryption attestation), in the shape shared by OpenReports'
// openreports.io/v1alpha1 Report and the older wgpolicyk8s.io/v1alpha2 PolicyReport, so that
// Policy Reporter and other dashboards show them. No I/O; the reconciler beside it writes it.
import type {
  KubernetesObject,
  V1ObjectMeta,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import {
  HEALTH_DATA_HUB,
  LABEL_HUB,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../api/index.js';
import { byKeys } from '../../api/order.js';
import { auditPods, isPodPlaced, heldByHub, type HeldPolicy, type NodeFacts } from '../../placement/audit.js';
import { effectiveRegions, REGION_LABEL, ZONE_LABEL } from '../../policy/eligibility.js';
import { hubClaims } from '../../storage/claims.js';
import { encryptionAttestation } from '../../storage/storage-class.js';
import { auditVolumes } from '../../storage/volumes.js';

/** A report kind the operator can write, in the API it is served under. */
export interface ReportKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
  /** Its schema has a report-level `source` (v1alpha2 PolicyReport has only the results'). */
  reportSource: boolean;
}

/** OpenReports (openreports.io/v1alpha1 Report): written when served. */
export const OPEN_REPORT: ReportKind = {
  group: 'openreports.io',
  version: 'v1alpha1',
  kind: 'Report',
  plural: 'reports',
  reportSource: true,
};
/** The policy working group's wgpolicyk8s.io/v1alpha2 PolicyReport: written when Report is not served. */
export const POLICY_REPORT: ReportKind = {
  group: 'wgpolicyk8s.io',
  version: 'v1alpha2',
  kind: 'PolicyReport',
  plural: 'policyreports',
  reportSource: false,
};
/** In order of preference: one report per namespace, of the first kind served. */
export const REPORT_KINDS: readonly ReportKind[] = [OPEN_REPORT, POLICY_REPORT];

export const apiVersionOf = (k: ReportKind): string => `${k.group}/${k.version}`;
export const describeKind = (k: ReportKind): string => `${k.kind} (${apiVersionOf(k)})`;

/** The one report the operator keeps in each sovereign namespace. */
export const REPORT_NAME = 'hdh-sovereignty';
export const REPORT_SOURCE = 'hdh-operator';
export const REPORT_CATEGORY = 'Data sovereignty';
export const RULE_PLACEMENT = 'placement';
export const RULE_STORAGE_LOCATION = 'storage-location';
export const RULE_STORAGE_ENCRYPTED = 'storage-class-encrypted';
const RULE_ORDER = [RULE_PLACEMENT, RULE_STORAGE_LOCATION, RULE_STORAGE_ENCRYPTED];
/**
 * The most a report may weigh: its JSON, in UTF-8 bytes, as it is sent. etcd refuses an object
 * over 1.5 MiB (its default --max-request-bytes); the half MiB left is for what the API server
 * adds (metadata, managedFields). Results beyond it are left out, failures and errors kept first;
 * the summary still counts every verdict.
 */
export const MAX_REPORT_BYTES = 1024 * 1024;

export type ResultStatus = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface ReportResult {
  policy: string;
  rule: string;
  result: ResultStatus;
  message: string;
  category: string;
  severity: 'high';
  source: string;
  /** The pod, claim or hub the verdict is about. */
  resources: ObjectReference[];
  properties?: Record<string, string>;
}

export type ReportSummary = Record<ResultStatus, number>;

export interface PolicyReportObject extends KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string; namespace: string; labels: Record<string, string> };
  source?: string;
  summary: ReportSummary;
  results: ReportResult[];
}

/** What one namespace's report is made of, as the operator's caches hold it. */
export interface ReportInput {
  namespace: string;
  /** The namespace's hubs. */
  hubs: readonly HealthDataHub[];
  policy: (name: string) => SovereigntyPolicy | undefined;
  /** The namespace's pods (those not placed are left out). */
  pods: readonly V1Pod[];
  /** Every Node by name. */
  nodes: ReadonlyMap<string, NodeFacts>;
  /** The namespace's claims (each hub's are picked out by name). */
  claims: readonly V1PersistentVolumeClaim[];
  /** PersistentVolumes by name (at least those the claims are bound to). */
  volumes: ReadonlyMap<string, V1PersistentVolume>;
  storageClass: (name: string) => V1StorageClass | undefined;
}

const byName = byKeys<KubernetesObject>((o) => o.metadata?.name ?? '');

function result(
  policy: string,
  rule: string,
  status: ResultStatus,
  message: string,
  subject: ObjectReference,
  properties: Record<string, string | undefined>,
): ReportResult {
  const props = Object.fromEntries(
    Object.entries(properties).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  return {
    policy,
    rule,
    result: status,
    message,
    category: REPORT_CATEGORY,
    severity: 'high',
    source: REPORT_SOURCE,
    resources: [subject],
    ...(Object.keys(props).length ? { properties: props } : {}),
  };
}

function ref(apiVersion: string, kind: string, obj: KubernetesObject, namespace: string): ObjectReference {
  return {
    apiVersion,
    kind,
    namespace,
    name: obj.metadata?.name ?? '',
    ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}),
  };
}

const where = (region?: string, zone?: string) =>
  region || zone
    ? ` (${[region && `region ${region}`, zone && `zone ${zone}`].filter(Boolean).join(', ')})`
    : '';

/** One result per placed pod and per policy the namespace's hubs hold it to. */
function podResults(input: ReportInput, held: ReadonlyMap<string, HeldPolicy[]>): ReportResult[] {
  const pods = input.pods.filter(isPodPlaced).sort(byName);
  const out: ReportResult[] = [];
  for (const [policyName, policyHeld] of held) {
    const violations = new Map(auditPods(policyHeld, pods, input.nodes).map((v) => [v.pod, v]));
    const spec = policyHeld[0]!.spec;
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      const nodeName = pod.spec!.nodeName!;
      const labels = input.nodes.get(nodeName)?.labels ?? {};
      const region = labels[REGION_LABEL];
      const zone = labels[ZONE_LABEL];
      const v = violations.get(name);
      const hub = pod.metadata?.labels?.[LABEL_HUB];
      out.push(
        result(
          policyName,
          RULE_PLACEMENT,
          v ? 'fail' : 'pass',
          v
            ? `node ${nodeName}${where(region, zone)}: ${v.reason}`
            : `node ${nodeName}${where(region, zone)} satisfies SovereigntyPolicy ${policyName}`,
          ref('v1', 'Pod', pod, input.namespace),
          {
            node: nodeName,
            region,
            zone,
            hub: policyHeld.some((h) => h.hub === hub) ? hub : undefined,
            enforcement: spec.enforcement ?? 'Enforce',
            onViolation: spec.onViolation ?? 'Evict',
          },
        ),
      );
    }
  }
  return out;
}

/** Location and encryption of every claim of one hub (replicas scaled away included). */
function claimResults(input: ReportInput, hub: HealthDataHub, policy: SovereigntyPolicy): ReportResult[] {
  const policyName = policy.metadata.name ?? hub.spec.policyName;
  const hubName = hub.metadata.name ?? '';
  const audit = auditVolumes({
    hub,
    policy: policy.spec,
    claims: input.claims,
    volumes: input.volumes,
    nodes: input.nodes,
  });
  const violations = new Map(audit.violations.map((v) => [v.claim, v]));
  const unobserved = new Set(audit.unobserved);
  const statuses = new Map(audit.claims.map((c) => [c.name, c]));
  const regions = effectiveRegions(policy.spec.regions, hub.spec.placement?.regions);
  const requireEncryption = policy.spec.storage?.requireEncryption !== false;
  const out: ReportResult[] = [];
  for (const claim of hubClaims(hub, input.claims).sort(byName)) {
    const name = claim.metadata?.name ?? '';
    const subject = ref('v1', 'PersistentVolumeClaim', claim, input.namespace);
    const status = statuses.get(name);
    const className = claim.spec?.storageClassName ?? '';
    const base = { hub: hubName, storageClass: className };
    // A claim not bound yet, or bound to a volume not seen yet, has no location to judge.
    if (status?.volumeName && !unobserved.has(name)) {
      const v = violations.get(name);
      const located = { ...base, volume: status.volumeName, region: status.region, zone: status.zone };
      out.push(
        result(
          policyName,
          RULE_STORAGE_LOCATION,
          v ? 'fail' : 'pass',
          v
            ? `volume ${status.volumeName}: ${v.reason}`
            : `volume ${status.volumeName} lies in ${status.region}${status.zone ? ` (zone ${status.zone})` : ''}, ` +
                `inside [${regions.join(', ')}]`,
          subject,
          located,
        ),
      );
    }
    out.push(encryptionResult(input, policyName, requireEncryption, className, subject, base));
  }
  return out;
}

function encryptionResult(
  input: ReportInput,
  policyName: string,
  required: boolean,
  className: string,
  subject: ObjectReference,
  properties: Record<string, string>,
): ReportResult {
  const verdict = (status: ResultStatus, message: string) =>
    result(policyName, RULE_STORAGE_ENCRYPTED, status, message, subject, properties);
  if (!required) return verdict('skip', `SovereigntyPolicy ${policyName} does not require encrypted storage`);
  if (!className)
    return verdict('fail', 'the claim names no StorageClass, so nothing attests its encryption');
  const sc = input.storageClass(className);
  if (!sc)
    return verdict('fail', `StorageClass ${className} does not exist, so nothing attests its encryption`);
  const attested = encryptionAttestation(sc);
  return verdict(attested.encrypted ? 'pass' : 'fail', `StorageClass ${className} ${attested.why}`);
}

/** Every verdict of the namespace, in a stable order: policy, rule, subject. */
export function renderResults(input: ReportInput): ReportResult[] {
  const held = new Map<string, HeldPolicy[]>();
  const out: ReportResult[] = [];
  const hubs = [...input.hubs].sort(byName);
  for (const hub of hubs) {
    const policy = input.policy(hub.spec.policyName);
    if (!policy) {
      // Without its policy the operator gives the hub no verdict (fail closed): say so, rather
      // than show a namespace without failures.
      out.push(
        result(
          hub.spec.policyName,
          RULE_PLACEMENT,
          'error',
          `SovereigntyPolicy ${hub.spec.policyName} does not exist: no verdict on this hub's pods and volumes`,
          ref(HEALTH_DATA_HUB.apiVersion, HEALTH_DATA_HUB.kind, hub, input.namespace),
          { hub: hub.metadata.name },
        ),
      );
      continue;
    }
    const entry = held.get(hub.spec.policyName) ?? [];
    entry.push(heldByHub(hub, policy));
    held.set(hub.spec.policyName, entry);
    out.push(...claimResults(input, hub, policy));
  }
  out.push(...podResults(input, held));
  return out.sort(resultOrder);
}

const resultOrder = byKeys<ReportResult>(
  (r) => r.policy,
  (r) => String(RULE_ORDER.indexOf(r.rule)).padStart(2, '0'),
  (r) => r.resources[0]?.kind ?? '',
  (r) => r.resources[0]?.name ?? '',
);

export function summarize(results: readonly ReportResult[]): ReportSummary {
  const summary: ReportSummary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result]++;
  return summary;
}

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * The results whose JSON array fits in `budget` bytes, in their order: failures and errors are
 * taken first, then the rest in order, up to the first that does not fit (so that no pass is
 * listed while a failure is left out).
 */
export function capResults(results: readonly ReportResult[], budget: number): ReportResult[] {
  const rank = (r: ReportResult) => (r.result === 'fail' || r.result === 'error' ? 0 : 1);
  const kept = new Set<number>();
  let used = 2; // []
  for (const { r, i } of results
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i)) {
    const cost = jsonBytes(r) + (kept.size > 0 ? 1 : 0); // and its comma
    if (used + cost > budget) break;
    used += cost;
    kept.add(i);
  }
  return kept.size === results.length ? [...results] : results.filter((_r, i) => kept.has(i));
}

/** The namespace's report, of `kind`, at most MAX_REPORT_BYTES of JSON. */
export function renderReport(kind: ReportKind, input: ReportInput): PolicyReportObject {
  const results = renderResults(input);
  const report: PolicyReportObject = {
    apiVersion: apiVersionOf(kind),
    kind: kind.kind,
    metadata: {
      name: REPORT_NAME,
      namespace: input.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
    },
    ...(kind.reportSource ? { source: REPORT_SOURCE } : {}),
    summary: summarize(results),
    results: [],
  };
  // The empty list's two bytes are counted in both: the budget of the list is what remains.
  report.results = capResults(results, MAX_REPORT_BYTES - jsonBytes(report) + 2);
  return report;
}
