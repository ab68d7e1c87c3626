// StorageReady and status.storage from the storage verdicts of one reconcile.
import {
  ConditionStatus,
  ConditionType,
  Reason,
  type ConditionUpdate,
  type HealthDataHub,
  type HubStorageStatus,
} from '../api/index.js';
import { effectiveRegions } from '../policy/eligibility.js';
import type { AdoptionPlan } from './retention.js';
import type { StorageClassVerdict } from './storage-class.js';
import { describeVolumeViolations, type GrowthPlan, type VolumeAudit } from './volumes.js';

export interface StorageVerdicts {
  storageClass: StorageClassVerdict;
  adoption?: AdoptionPlan;
  audit?: VolumeAudit;
  growth?: GrowthPlan;
}

export interface StorageReport {
  condition: ConditionUpdate;
  status: HubStorageStatus;
}

/**
 * StorageReady reports the first problem in this order: the class, retained claims that cannot be
 * adopted, volumes outside the regions, claims on another class, sizes the class cannot expand to,
 * claims not bound yet. True (ClaimsBound) when every replica's claim is bound inside the regions.
 */
export function storageReport(
  hub: HealthDataHub,
  policyRegions: readonly string[],
  v: StorageVerdicts,
): StorageReport {
  const generation = hub.metadata.generation ?? 0;
  const status: HubStorageStatus = v.audit ? { claims: v.audit.claims } : (hub.status?.storage ?? {});
  const report = (s: ConditionStatus, reason: string, message: string): StorageReport => ({
    condition: {
      type: ConditionType.StorageReady,
      status: s,
      reason,
      message,
      observedGeneration: generation,
    },
    status,
  });
  if (!v.storageClass.ok) return { condition: v.storageClass.condition, status };
  if (v.adoption?.conflicts.length) {
    return report(
      ConditionStatus.False,
      Reason.RetainedClaimConflict,
      `${v.adoption.conflicts.map((c) => c.reason).join('; ')}; the datastore is not created meanwhile`,
    );
  }
  const audit = v.audit;
  if (audit?.violations.length) {
    return report(
      ConditionStatus.False,
      Reason.VolumeOutsideJurisdiction,
      `${describeVolumeViolations(audit.violations)}. The operator never deletes or moves data: copy it to ` +
        `a volume inside the allowed regions, then delete the claim`,
    );
  }
  if (audit?.foreignClass.length) {
    return report(
      ConditionStatus.False,
      Reason.StorageClassNotAllowed,
      audit.foreignClass
        .map(
          (f) =>
            `claim ${f.claim} is on StorageClass "${f.storageClassName}", not the hub's ` +
            `"${hub.spec.storage.storageClassName}"`,
        )
        .join('; ') + ": copy its data to a claim of the hub's class, or delete it",
    );
  }
  if (v.growth?.blocked.length) {
    return report(
      ConditionStatus.False,
      Reason.ExpansionNotSupported,
      `spec.storage.size is ${hub.spec.storage.size} but StorageClass "${hub.spec.storage.storageClassName}" ` +
        `does not set allowVolumeExpansion: true, so claims ${v.growth.blocked
          .map((b) => `${b.claim} (${b.from})`)
          .join(', ')} keep their size; allow expansion on the class if its driver supports it (new ` +
        `replicas get the new size meanwhile)`,
    );
  }
  if (audit && (audit.pending.length || audit.unobserved.length || audit.missing)) {
    const parts: string[] = [];
    if (audit.missing) parts.push(`${audit.missing} replica claim(s) not created yet`);
    if (audit.pending.length) {
      parts.push(
        `claims ${audit.pending.join(', ')} not bound yet (the class binds when a pod is scheduled; see the ` +
          `claims' events if it lasts)`,
      );
    }
    if (audit.unobserved.length)
      parts.push(`the volumes of claims ${audit.unobserved.join(', ')} not observed yet`);
    return report(ConditionStatus.False, Reason.ClaimsPending, parts.join('; '));
  }
  if (!audit) return report(ConditionStatus.Unknown, Reason.Reconciling, 'the claims are not audited yet');
  const regions = effectiveRegions(policyRegions, hub.spec.placement?.regions);
  return report(
    ConditionStatus.True,
    Reason.ClaimsBound,
    `${audit.claims.filter((c) => c.volumeName).length} claim(s) bound on StorageClass "${hub.spec.storage.storageClassName}" inside ` +
      `[${regions.join(', ')}]`,
  );
}
