// The API of hdh-operator: generated types of the custom resources, their names, and the label,
// annotation and field-manager names that users, tools and tests rely on.
export * from './types.generated.js';
export * from './conditions.js';
export * from './reasons.js';

import { HEALTH_DATA_HUB } from './types.generated.js';

export const API_GROUP = HEALTH_DATA_HUB.group;
export const API_VERSION = HEALTH_DATA_HUB.version;
export const API_GROUP_VERSION = HEALTH_DATA_HUB.apiVersion;

/** Field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = 'hdh-operator';
/** The placement controller's field manager: PlacementCompliant and status.placement of hubs. */
export const PLACEMENT_FIELD_MANAGER = 'hdh-operator/placement';
/** The keys controller's field manager: KeysReady and status.encryption of hubs. */
export const KEYS_FIELD_MANAGER = 'hdh-operator/keys';

/** Label on every object the operator creates, with the value MANAGED_BY_VALUE. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'hdh-operator';
/** Label on every object the operator creates for a hub; the value is the hub's name. */
export const LABEL_HUB = `${API_GROUP}/hub`;
/** Label on volumes and keys kept after their hub was deleted; the value is the hub's UID. */
export const LABEL_RETAINED_FROM = `${API_GROUP}/retained-from`;

/**
 * Annotation confirming destruction (retention: Delete, onDelete: CryptoShred). It acts only when
 * its value equals the hub's metadata.uid, so a re-applied manifest never destroys the data of a
 * recreated hub.
 */
export const ANNOTATION_CONFIRM_DESTROY = `${API_GROUP}/confirm-destroy`;
/**
 * Annotation adopting the keys kept from an earlier hub of the same name: its value must equal
 * the UID recorded in the `<hub>-keys` Secret (that earlier hub's metadata.uid). Without it, a
 * recreated hub never uses keys it did not make.
 */
export const ANNOTATION_ADOPT_KEYS = `${API_GROUP}/adopt-keys`;
/** Annotation requesting a key rotation: each new value adds one key version. */
export const ANNOTATION_ROTATE_KEY = `${API_GROUP}/rotate-key`;
/** StorageClass annotation by which the platform team attests that a class encrypts volumes. */
export const ANNOTATION_ENCRYPTED = `${API_GROUP}/encrypted`;
/** On a claim adopted from a deleted hub of the same name: the UID of the hub it was retained from. */
export const ANNOTATION_ADOPTED_FROM = `${API_GROUP}/adopted-from`;

/** Finalizer the operator puts on hubs so retention and destruction run before deletion. */
export const FINALIZER = `${API_GROUP}/finalizer`;
