// Every reason the operator writes: the reasons of its conditions and of its Events. Users match
// on them (kubectl wait, alerts, dashboards), so a value never changes once released, and each
// says in one CamelCase word why, specifically enough to act on.

/** Condition and Event reasons, by concern. A reason may serve a condition and an Event both. */
export const Reason = {
  // ---- Summary: Ready, Reconciling, Stalled, and refusals that hold any component ----
  AllReady: 'AllReady',
  Reconciling: 'Reconciling',
  Suspended: 'Suspended',
  PolicyNotFound: 'PolicyNotFound',
  /** The policy's namespaceSelector does not select the hub's namespace. */
  PolicyNotAllowed: 'PolicyNotAllowed',
  /** The hub lies in kube-system, kube-public, kube-node-lease or the operator's own namespace. */
  SystemNamespace: 'SystemNamespace',
  /** The API server refused the policy's admission objects (policy Ready, hub PlacementCompliant). */
  AdmissionFailed: 'AdmissionFailed',
  DeletionBlocked: 'DeletionBlocked',
  /**
   * The API server refused an object rendered from the hub (invalid, forbidden, too large): the
   * component's condition, Ready and Stalled carry the server's message.
   */
  ApiServerRefused: 'ApiServerRefused',

  // ---- Placement: PlacementCompliant ----
  Compliant: 'Compliant',
  PodsOutsidePolicy: 'PodsOutsidePolicy',
  NoEligibleNodes: 'NoEligibleNodes',
  RegionNotAllowed: 'RegionNotAllowed',
  /**
   * Why a pod outside its policy was deleted rather than evicted (the reason label of
   * hdh_placement_deletions_total; the Event says PodDeleted or GracePeriodShortened): budgets
   * refused its eviction for the policy's evictionTimeout, or a longer pending grace period was
   * shortened to its maxGracePeriodSeconds.
   */
  EvictionTimeout: 'EvictionTimeout',
  GracePeriodCapped: 'GracePeriodCapped',

  // ---- Storage: StorageReady ----
  ClaimsBound: 'ClaimsBound',
  ClaimsPending: 'ClaimsPending',
  StorageClassNotFound: 'StorageClassNotFound',
  StorageClassNotAllowed: 'StorageClassNotAllowed',
  StorageNotEncrypted: 'StorageNotEncrypted',
  ImmediateBinding: 'ImmediateBinding',
  TopologyOutsideJurisdiction: 'TopologyOutsideJurisdiction',
  /** Also a Warning Event: a bound volume lies outside the hub's regions (reported, never deleted). */
  VolumeOutsideJurisdiction: 'VolumeOutsideJurisdiction',
  /** Also a Warning Event: the class cannot expand the claims to spec.storage.size. */
  ExpansionNotSupported: 'ExpansionNotSupported',
  /**
   * A claim retained from a deleted hub of the same name cannot be adopted (for example it is on
   * another class); the StatefulSet would silently mount it, so nothing is created.
   */
  RetainedClaimConflict: 'RetainedClaimConflict',

  // ---- Keys: KeysReady ----
  KeyAvailable: 'KeyAvailable',
  KeyMissing: 'KeyMissing',
  KeyProviderNotAllowed: 'KeyProviderNotAllowed',
  /** The hub names a PKCS#11 module the platform did not allow (--pkcs11-allowed-modules). */
  Pkcs11ModuleNotAllowed: 'Pkcs11ModuleNotAllowed',
  /** The hub names a PKCS#11 token its namespace may not use (--pkcs11-allowed-tokens). */
  Pkcs11TokenNotAllowed: 'Pkcs11TokenNotAllowed',
  KeyProviderUnavailable: 'KeyProviderUnavailable',
  /** The `<hub>-keys` Secret holds keys of an earlier hub of the same name (another UID). */
  RetainedKeysFound: 'RetainedKeysFound',
  /** A key object or the wrapped keys are not what the operator made, or do not match. */
  KeyInvalid: 'KeyInvalid',
  /** spec.encryption.rotationInterval cannot be read. */
  InvalidRotationInterval: 'InvalidRotationInterval',
  /** The keys name a KEK whose recorded owner is not a hub of this namespace and name. */
  KeyOfAnotherHub: 'KeyOfAnotherHub',
  /**
   * The keys name a legacy PKCS#11 or Transit KEK of an earlier hub, and no owner record says it
   * was a hub of this namespace and name.
   */
  KeyOwnerUnknown: 'KeyOwnerUnknown',
  /** Deletion (condition and Event): the keys were kept and marked retained. */
  KeysRetained: 'KeysRetained',
  /** Deletion (condition and Event): the KEK and the wrapped keys were destroyed. */
  KeysDestroyed: 'KeysDestroyed',

  // ---- Datastore: DatastoreReady ----
  ReplicasReady: 'ReplicasReady',
  ReplicasNotReady: 'ReplicasNotReady',

  // ---- Policy: SovereigntyPolicy Ready (also NoEligibleNodes, AdmissionFailed) and NodeLabelsTrusted ----
  PolicyValid: 'PolicyValid',
  SelfAssertableLabels: 'SelfAssertableLabels',
  RestrictedLabels: 'RestrictedLabels',

  // ---- Events only ----
  // Placement: the removal of pods outside their policy (Warning), on the hub or namespace.
  PodEvicted: 'PodEvicted',
  /** The pod is never evicted or deleted (the policy spares it); moving it is left to people. */
  PodNotEvicted: 'PodNotEvicted',
  /** A pod is back on the node a pod of its name was removed from; removals now wait. */
  RepeatedViolation: 'RepeatedViolation',
  EvictionBlocked: 'EvictionBlocked',
  PodDeleted: 'PodDeleted',
  GracePeriodShortened: 'GracePeriodShortened',
  /** A policy label of the namespace, removed or changed by someone else, was put back. */
  NamespaceLabelRestored: 'NamespaceLabelRestored',
  // Storage.
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
  // Keys.
  KeysCreated: 'KeysCreated',
  KeyRotated: 'KeyRotated',
  /** The keys of an earlier hub were adopted, as the adopt-keys annotation asked. */
  KeysAdopted: 'KeysAdopted',
  /** Stored versions were rewrapped under the KEK's latest version. */
  KeysRewrapped: 'KeysRewrapped',
  /**
   * Warning: the provider reports the hub's KEK as extractable (status.encryption.custody, read
   * at every keys reconcile). A report beside KeysReady, which it does not change by itself.
   */
  KeyExtractable: 'KeyExtractable',
  // Policy.
  /** The number of nodes satisfying a Ready policy changed. */
  EligibleNodesChanged: 'EligibleNodesChanged',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/**
 * An Event as the domain decides it, for a controller to record on the object it concerns: its
 * type, its reason (a Reason, or the reason of the condition it reports) and a note for people.
 */
export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}
