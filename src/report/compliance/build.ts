// The compliance report (pure): a snapshot of the cluster in, one plain object out, with every
// verdict given by the functions the operator itself uses. The same snapshot always gives the
// same report, byte for byte once rendered: every list is sorted, and the time is the snapshot's.
import { formatTime, type HealthDataHub, type SovereigntyPolicy } from '../../api/index.js';
import { nodeFacts } from '../../placement/audit.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import { historyOf, reportHistory, sinceMs } from './history.js';
import { reportKeys } from './keys.js';
import {
  SCHEMA_VERSION,
  type ComplianceOptions,
  type ComplianceReport,
  type ComplianceSnapshot,
  type Finding,
  type PolicySummary,
  type ReportCondition,
  type ReportHub,
  type ReportKeys,
  type ReportPod,
  type ReportPolicy,
} from './model.js';
import { byKeys, compareText } from './order.js';
import { auditNamespace, reportPods, type NamespaceAudit } from './pods.js';
import { reportVolumes, volumeContext, type HubFinding } from './volumes.js';

/** The conditions a compliant hub must have True (with no failing finding besides). */
export const REQUIRED_CONDITIONS = ['Ready', 'PlacementCompliant'] as const;

/** A JSON copy of plain values, detached from the snapshot (its key order is no concern: canonicalJson sorts). */
function jsonCopy<T>(value: T): T {
  return JSON.parse(canonicalJson(value)) as T;
}

export function reportPolicy(p: SovereigntyPolicy): ReportPolicy {
  return {
    name: p.metadata.name ?? '',
    ...(p.metadata.generation !== undefined ? { generation: p.metadata.generation } : {}),
    spec: jsonCopy(p.spec),
    specSha256: sha256Hex(canonicalJson(p.spec)),
  };
}

/** RFC 3339 (seconds) for a time a client library may have parsed into a Date. */
function timeText(t: unknown): string {
  return t instanceof Date ? formatTime(t) : String(t);
}

function conditionsOf(hub: HealthDataHub): ReportCondition[] {
  return (hub.status?.conditions ?? [])
    .map((c) => ({
      type: String(c.type),
      status: String(c.status),
      reason: String(c.reason ?? ''),
      message: String(c.message ?? ''),
      ...(c.lastTransitionTime ? { lastTransitionTime: timeText(c.lastTransitionTime) } : {}),
    }))
    .sort(byKeys((c) => c.type));
}

function conditionFindings(conditions: readonly ReportCondition[]): HubFinding[] {
  return REQUIRED_CONDITIONS.flatMap((type): HubFinding[] => {
    const c = conditions.find((x) => x.type === type);
    if (c?.status === 'True') return [];
    return [
      {
        severity: 'failure',
        check: 'condition',
        subject: type,
        message: c
          ? `${type} is ${c.status} (${c.reason})${c.message ? `: ${c.message}` : ''}`
          : `${type} has not been reported by the operator`,
      },
    ];
  });
}

/** Pods outside a policy. (A pod with nothing to judge it against has a hub without a policy, a failure.) */
function podFindings(pods: readonly ReportPod[]): HubFinding[] {
  return pods
    .filter((p) => p.verdict === 'fail')
    .map((p) => ({
      severity: 'failure',
      check: 'pod-placement',
      subject: p.name,
      message: `on node ${p.node}: ${p.reason}`,
    }));
}

function custodyFindings(keys: ReportKeys): HubFinding[] {
  const { verdict, message } = keys.custody;
  if (verdict === 'NonExtractable') return [];
  return [
    {
      severity: verdict === 'Extractable' ? 'failure' : 'warning',
      check: 'key-custody',
      subject: keys.keyRef ?? keys.provider,
      message: `${verdict}: ${message}`,
    },
  ];
}

function policyFindings(hub: HealthDataHub, policy: SovereigntyPolicy | undefined): HubFinding[] {
  if (policy) return [];
  const name = hub.spec.policyName;
  return [
    {
      severity: 'failure',
      check: 'policy',
      subject: name,
      message: `SovereigntyPolicy "${name}" does not exist: the hub is held to nothing`,
    },
  ];
}

const findingOrder = byKeys<Finding>(
  (f) => f.namespace,
  (f) => f.hub,
  (f) => f.check,
  (f) => f.subject,
  (f) => f.severity,
  (f) => f.message,
);

function summarise(hubs: readonly ReportHub[], findings: readonly Finding[]): ComplianceReport['summary'] {
  const byPolicy = new Map<string, PolicySummary>();
  for (const h of hubs) {
    const s = byPolicy.get(h.policy) ?? { policy: h.policy, hubs: 0, compliant: 0, notCompliant: 0 };
    s.hubs++;
    if (h.compliant) s.compliant++;
    else s.notCompliant++;
    byPolicy.set(h.policy, s);
  }
  const compliant = hubs.filter((h) => h.compliant).length;
  return {
    hubs: hubs.length,
    compliant,
    notCompliant: hubs.length - compliant,
    failures: findings.filter((f) => f.severity === 'failure').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    byPolicy: [...byPolicy.values()].sort(byKeys((s) => s.policy)),
  };
}

/**
 * The compliance report of the hubs in scope. A hub is compliant when its Ready and
 * PlacementCompliant conditions are True and no finding about it is a failure: a pod of its
 * namespace outside a policy the namespace is held to, a volume outside its regions or on a class
 * not attested encrypted (when the policy requires it), a key that can leave its provider, or a
 * policy that does not exist.
 */
export function buildComplianceReport(
  snapshot: ComplianceSnapshot,
  options: ComplianceOptions = {},
): ComplianceReport {
  const scope = options.namespaces ? [...new Set(options.namespaces)].sort(compareText) : undefined;
  const inScope = (ns: string) => !scope || scope.includes(ns);
  const since = sinceMs(options.since);
  const facts = new Map(snapshot.nodes.map((n) => [n.metadata?.name ?? '', nodeFacts(n)]));
  const policies = new Map(snapshot.policies.map((p) => [p.metadata.name ?? '', p]));
  const hubs = snapshot.hubs
    .filter((h) => inScope(h.metadata.namespace ?? ''))
    .sort(
      byKeys(
        (h) => h.metadata.namespace ?? '',
        (h) => h.metadata.name ?? '',
      ),
    );
  const audits = new Map<string, NamespaceAudit>();
  const auditOf = (ns: string) => {
    if (!audits.has(ns)) audits.set(ns, auditNamespace(snapshot, ns, facts));
    return audits.get(ns)!;
  };
  const volumes = volumeContext(snapshot, facts);
  const history = reportHistory(snapshot, hubs, inScope, since);
  const findings: Finding[] = [];

  const reportHubs = hubs.map((hub): ReportHub => {
    const namespace = hub.metadata.namespace ?? '';
    const name = hub.metadata.name ?? '';
    const policy = policies.get(hub.spec.policyName);
    const conditions = conditionsOf(hub);
    const pods = reportPods(auditOf(namespace), facts);
    const hubVolumes = reportVolumes(snapshot, hub, policy, volumes);
    const keys = reportKeys(hub);
    const mine = [
      ...policyFindings(hub, policy),
      ...conditionFindings(conditions),
      ...podFindings(pods),
      ...hubVolumes.findings,
      ...custodyFindings(keys),
    ].map((f) => ({ ...f, namespace, hub: name }));
    findings.push(...mine);
    return {
      namespace,
      name,
      uid: hub.metadata.uid ?? '',
      policy: hub.spec.policyName,
      compliant: !mine.some((f) => f.severity === 'failure'),
      conditions,
      pods,
      volumes: hubVolumes.volumes,
      keys,
      history: historyOf(history, hub),
    };
  });
  findings.sort(findingOrder);

  return {
    schemaVersion: SCHEMA_VERSION,
    generatedAt: snapshot.takenAt,
    cluster: { uid: snapshot.clusterUID },
    operator: {
      ...(snapshot.operator.version !== undefined ? { version: snapshot.operator.version } : {}),
      source: snapshot.operator.source,
    },
    generator: { version: snapshot.generator.version },
    scope: { ...(scope ? { namespaces: scope } : {}), ...(options.since ? { since: options.since } : {}) },
    policies: [...policies.values()].map(reportPolicy).sort(byKeys((p) => p.name)),
    summary: summarise(reportHubs, findings),
    hubs: reportHubs,
    namespaceHistory: history.namespaceHistory,
    retainedKeys: history.retainedKeys,
    shreddedKeys: history.shreddedKeys,
    findings,
    ...(snapshot.historySource ? { historySource: { ...snapshot.historySource } } : {}),
  };
}
