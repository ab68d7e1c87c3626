// How a rendered datastore StatefulSet meets the live one: labels an earlier version put in its
// templates, and the fields the API server refuses to update. Pure functions.
import type { V1StatefulSet } from '@kubernetes/client-node';
import { LEGACY_INSTANCE_LABEL } from './claims.js';
import { compareQuantityText } from './quantity.js';

/**
 * `desired` with LEGACY_INSTANCE_LABEL kept where the live StatefulSet, rendered by an earlier
 * version, has it in its templates: dropping it from the pod template would roll every pod of
 * every hub at an operator upgrade, and the API server refuses it in a claim template (claim
 * templates are immutable). The selector never had it, and pods have an owner, which Argo CD's
 * tracking skips. The StatefulSet's own labels, the Service's and the budget's drop it. Pure;
 * `desired` is not modified.
 */
export function keepLegacyTemplateLabels(
  live: V1StatefulSet | undefined,
  desired: V1StatefulSet,
): V1StatefulSet {
  // Only the hub's own StatefulSet lends its labels: not a former same-named hub's (the operator
  // remembers a StatefulSet it is recreating) nor one someone else created.
  const hubUid = desired.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
  if (!live?.metadata?.ownerReferences?.some((r) => r.controller && r.uid === hubUid)) return desired;
  const legacy = (labels: Record<string, string> | undefined) => labels?.[LEGACY_INSTANCE_LABEL];
  const podLabel = legacy(live?.spec?.template?.metadata?.labels);
  const liveClaims = live?.spec?.volumeClaimTemplates ?? [];
  const claimLabel = (name: string | undefined) =>
    legacy(liveClaims.find((t) => t.metadata?.name === name)?.metadata?.labels);
  const claimsKeep = (desired.spec?.volumeClaimTemplates ?? []).some(
    (t) => claimLabel(t.metadata?.name) !== undefined,
  );
  if (podLabel === undefined && !claimsKeep) return desired;
  const out = structuredClone(desired);
  const spec = out.spec!;
  if (podLabel !== undefined) {
    spec.template.metadata = {
      ...spec.template.metadata,
      labels: { ...spec.template.metadata?.labels, [LEGACY_INSTANCE_LABEL]: podLabel },
    };
  }
  for (const t of spec.volumeClaimTemplates ?? []) {
    const value = claimLabel(t.metadata?.name);
    if (value !== undefined)
      t.metadata = { ...t.metadata, labels: { ...t.metadata?.labels, [LEGACY_INSTANCE_LABEL]: value } };
  }
  return out;
}

/**
 * Fields of a StatefulSet the API server refuses to update. When one differs, the reconciler
 * deletes the live StatefulSet with propagationPolicy Orphan and applies the desired one: the pods
 * keep running and are adopted (same selector, same template, so no rollout), and the claims,
 * which have no owner, are untouched. This is how a grown storage.size reaches the claim template
 * without recreating pods. Returns the differing fields (empty when an apply suffices).
 */
export function immutableStatefulSetChanges(live: V1StatefulSet, desired: V1StatefulSet): string[] {
  const changes: string[] = [];
  const l = live.spec;
  const d = desired.spec;
  if (!l || !d) return changes;
  if (canonical(l.selector ?? {}) !== canonical(d.selector ?? {})) changes.push('spec.selector');
  if ((l.serviceName ?? '') !== (d.serviceName ?? '')) changes.push('spec.serviceName');
  if ((l.podManagementPolicy ?? 'OrderedReady') !== (d.podManagementPolicy ?? 'OrderedReady')) {
    changes.push('spec.podManagementPolicy');
  }
  const lt = l.volumeClaimTemplates ?? [];
  const dt = d.volumeClaimTemplates ?? [];
  const templatesDiffer =
    lt.length !== dt.length ||
    dt.some((t, i) => {
      const o = lt[i];
      if (!o || o.metadata?.name !== t.metadata?.name) return true;
      if ((o.spec?.storageClassName ?? '') !== (t.spec?.storageClassName ?? '')) return true;
      if (canonical(o.spec?.accessModes ?? []) !== canonical(t.spec?.accessModes ?? [])) return true;
      const a = o.spec?.resources?.requests?.['storage'];
      const b = t.spec?.resources?.requests?.['storage'];
      return a === undefined || b === undefined ? a !== b : compareQuantityText(a, b) !== 0;
    });
  if (templatesDiffer) changes.push('spec.volumeClaimTemplates');
  return changes;
}

/** JSON with object keys sorted: the API server returns maps in its own key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
