// Predicates more than one controller's watches use. Pure.
import type { KubernetesObject } from '@kubernetes/client-node';
import { ConditionType, getCondition, Reason, type SovereigntyPolicy } from '../api/index.js';
import type { InformerEvent } from '../runtime/informer.js';

/** A change other than status: spec (generation), labels, annotations or deletion. */
export function specOrMetadataChanged(a: KubernetesObject, b: KubernetesObject): boolean {
  const ma = a.metadata ?? {};
  const mb = b.metadata ?? {};
  return (
    ma.generation !== mb.generation ||
    String(ma.deletionTimestamp ?? '') !== String(mb.deletionTimestamp ?? '') ||
    JSON.stringify(ma.labels ?? {}) !== JSON.stringify(mb.labels ?? {}) ||
    JSON.stringify(ma.annotations ?? {}) !== JSON.stringify(mb.annotations ?? {})
  );
}

function admissionFailed(policy: SovereigntyPolicy | undefined): boolean {
  return getCondition(policy?.status?.conditions, ConditionType.Ready)?.reason === Reason.AdmissionFailed;
}

/**
 * A policy change its hubs must see: created, deleted, its spec or metadata changed, or its
 * admission objects refused (or accepted again), which changes its hubs' verdict (AdmissionFailed).
 */
export function policyEventMatters(
  event: InformerEvent,
  policy: SovereigntyPolicy,
  old?: SovereigntyPolicy,
): boolean {
  if (event === 'resync') return false;
  if (event !== 'update' || !old) return true;
  return admissionFailed(old) !== admissionFailed(policy) || specOrMetadataChanged(old, policy);
}
