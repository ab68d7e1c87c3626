import { ConditionType, getCondition, type HealthDataHub } from '../api/index.js';

/** Kubernetes-style short age: 45s, 3m, 2h, 4d. */
export function shortAge(from: string | Date | undefined, now: Date): string {
  if (!from) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** The hub table the dev command prints: the same columns as `kubectl get hdh -A`. */
export function renderHubTable(hubs: readonly HealthDataHub[], now: Date, withAge = true): string {
  const header = [
    'NAMESPACE',
    'NAME',
    'READY',
    'REASON',
    'POLICY',
    'COMPLIANT',
    'KEY',
    ...(withAge ? ['AGE'] : []),
  ];
  const rows = [...hubs]
    .sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
    )
    .map((h) => {
      const ready = getCondition(h.status?.conditions, ConditionType.Ready);
      const compliant = getCondition(h.status?.conditions, ConditionType.PlacementCompliant);
      return [
        h.metadata.namespace ?? '',
        h.metadata.name ?? '',
        ready?.status ?? '',
        ready?.reason ?? '',
        h.spec.policyName,
        compliant?.status ?? '',
        h.status?.encryption?.activeVersion !== undefined ? String(h.status.encryption.activeVersion) : '',
        ...(withAge ? [shortAge(h.metadata.creationTimestamp, now)] : []),
      ];
    });
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}
