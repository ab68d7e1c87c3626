// Reasons of the storage Events and the one storage condition reason not in the API's list, and
// the annotation left on adopted claims.
import { API_GROUP, Reason } from '../api/index.js';

export const StorageEventReason = {
  /** Normal: the hub was deleted and its claims were kept, marked with retained-from. */
  VolumesRetained: 'VolumesRetained',
  /** Warning: retention Delete without a valid confirm-destroy annotation; claims kept. */
  DeletionNotConfirmed: 'DeletionNotConfirmed',
  /** Normal: confirmed destruction, the claims were deleted. */
  VolumesDeleted: 'VolumesDeleted',
  /** Normal: a new hub took over the claims retained from its deleted namesake. */
  ClaimsAdopted: 'ClaimsAdopted',
  /** Normal: claims were raised to spec.storage.size. */
  VolumesExpanded: 'VolumesExpanded',
  /** Warning: the class cannot expand the claims to spec.storage.size. */
  ExpansionNotSupported: Reason.ExpansionNotSupported,
  /** Warning: a bound volume lies outside the hub's regions (reported, never deleted). */
  VolumeOutsideJurisdiction: Reason.VolumeOutsideJurisdiction,
} as const;

/**
 * StorageReady=False: a claim retained from a deleted hub of the same name cannot be adopted (for
 * example it is on another class); the StatefulSet would silently mount it, so nothing is created.
 */
export const RETAINED_CLAIM_CONFLICT = 'RetainedClaimConflict';

/** On an adopted claim: the UID of the deleted hub it was retained from. */
export const ANNOTATION_ADOPTED_FROM = `${API_GROUP}/adopted-from`;

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}
