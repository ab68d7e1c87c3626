// What the key planner decides from: the facts of the hub, the provider's answer about its KEK,
// the `<hub>-keys` Secret, the ownership of the KEK and the check of the active version; and the
// plans it can make.
import { Reason } from '../../api/index.js';
import type { DekSet } from '../dek.js';
import type { HubRef } from '../identity.js';
import type { ProviderName } from '../provider.js';

/** What the lifecycle needs to know about the hub, read from the HealthDataHub object. */
export interface HubKeyFacts {
  ref: HubRef;
  generation: number;
  provider: ProviderName;
  deleting: boolean;
  onDelete: 'Keep' | 'CryptoShred';
  /** Value of the confirm-destroy annotation, if any. */
  confirmDestroy: string | undefined;
  /** rotationToken of the rotate-key annotation; undefined when absent or empty. */
  rotateRequest: string | undefined;
  rotationIntervalMs: number | undefined;
  /** Value of the adopt-keys annotation: the UID of the earlier hub whose keys to take over. */
  adoptFrom: string | undefined;
  /** Why rotationInterval cannot be used, when it cannot. */
  rotationIntervalError: string | undefined;
  /**
   * How many key versions the hub's own status last reported. Status is not proof that a key
   * exists (that is asked of the provider), but it is evidence that keys once existed: enough to
   * refuse to start afresh.
   */
  reportedVersions: number;
  /**
   * The KEK status last reported (status.encryption.keyRef). Written only by the operator, it
   * records which KEK the hub used: a crypto-shred of adopted keys destroys an earlier hub's KEK
   * only when the hub's own record names it, not on the word of a Secret alone.
   */
  reportedKeyRef: string | undefined;
}

/** The provider's answer about the hub's KEK. */
export type KekObservation =
  /** latestVersion: providers that version KEKs (Transit) only. */
  | { state: 'present'; ref: string; latestVersion?: number | undefined }
  | { state: 'absent' }
  /**
   * An object is there under the hub's identity, but not one the operator would have made;
   * notOwned: the operator's record of its owner names another hub.
   */
  | { state: 'invalid'; message: string; notOwned?: boolean }
  | { state: 'unavailable'; message: string }
  /** Not asked: deletion that keeps the keys does not need the provider. */
  | { state: 'not-asked' };

/** The `<hub>-keys` Secret. */
export type KeysObservation =
  | { state: 'absent' }
  | { state: 'present'; set: DekSet; retainedFrom: string | undefined }
  /** The Secret belongs to another hub (an earlier one of the same name); `set` as stored. */
  | { state: 'foreign'; message: string; set: DekSet }
  /**
   * The Secret cannot be read as a key set; `ours` when its labels name this hub's UID;
   * `kekUid` the raw kek-uid field, if any (adopted keys whose KEK cannot be verified).
   */
  | {
      state: 'damaged';
      message: string;
      ours: boolean;
      retainedFrom: string | undefined;
      kekUid?: string | undefined;
    };

/**
 * Whether the KEK the keys name may be used by this hub: its recorded owner (the provider-side
 * identity, or an operator-written record) is this hub or an earlier hub of the same namespace
 * and name. Anything else is never used, granted access to, or destroyed.
 */
export type KekOwnership =
  | { state: 'verified' }
  /** The KEK belongs to another hub, or the reference names no key of this namespace and name. */
  | { state: 'another-hub'; message: string }
  /** A legacy key of an earlier hub whose owner nothing records. */
  | { state: 'unknown'; message: string };

/** Whether the active version unwraps under the KEK the provider has. */
export type ActiveCheck =
  | { state: 'ok' }
  | { state: 'failed'; message: string }
  | { state: 'unavailable'; message: string }
  | { state: 'skipped' };

export interface KeyObservation {
  hub: HubKeyFacts;
  kek: KekObservation;
  keys: KeysObservation;
  active: ActiveCheck;
  /** Evidence, found by the caller, that the hub holds data (for example its volumes exist). */
  dataEvidence?: string | undefined;
  /**
   * Providers that version KEKs: the KEK version each stored DEK version is wrapped under, by
   * DEK version. Compared with kek.latestVersion to find versions to rewrap.
   */
  wrappedUnder?: ReadonlyMap<number, number> | undefined;
  /**
   * The reference the provider, with the hub's settings, gives the KEK the keys name (see
   * KeyProvider.keyRef); compared with the set's kek-ref before keys are adopted.
   */
  expectedKekRef?: string | undefined;
  /**
   * The references the hub's own KEK (identity with its own UID) has at the provider, in the
   * current and the legacy scheme.
   */
  ownKekRefs?: readonly string[] | undefined;
  /** Whether the KEK the keys (or the hub's record) name may be used; verified when absent. */
  owner?: KekOwnership | undefined;
  /** Whether `kek` is the KEK the hub's record (status.encryption.keyRef) names. */
  kekIsRecorded?: boolean | undefined;
  now: Date;
}

export type KeyPlan =
  /** Create the KEK (unless it exists) and write key version 1 in a new `<hub>-keys` Secret. */
  | { action: 'initialize'; createKek: boolean; honour: string | undefined }
  /**
   * Add a key version and make it active. With rotateKek, first add a KEK version (providers that
   * version KEKs); every stored version wrapped under an older KEK version is rewrapped.
   */
  | {
      action: 'rotate';
      trigger: 'annotation' | 'interval';
      honour: string | undefined;
      rotateKek: boolean;
    }
  /** Re-encrypt these stored versions under the KEK's latest version (rotated elsewhere). */
  | { action: 'rewrap'; versions: readonly number[] }
  /** Take over the keys of the earlier hub `from`, as its adopt-keys annotation asks. */
  | { action: 'adopt'; from: string }
  /** Keys are ready; look again after requeueAfterMs (the next interval rotation), if set. */
  | { action: 'none'; requeueAfterMs: number | undefined }
  /** A person must act (KeysReady=False with this reason); nothing is created or deleted. */
  | { action: 'block'; reason: string; message: string }
  /** The provider cannot answer; nothing is decided, retry later. */
  | { action: 'wait'; message: string }
  /** Confirmed crypto-shred: destroy the KEK first, then the wrapped keys. */
  | { action: 'shred'; destroyKek: boolean; deleteKeys: boolean }
  /** Deletion keeping the keys: mark the Secret `<hub>-keys` as retained from this hub. */
  | { action: 'retain'; note: string | undefined }
  /** Deletion: nothing (left) to do for the keys; the hub may go. */
  | { action: 'released'; outcome: 'retained' | 'shredded' | 'no-keys'; note: string | undefined };

// ---- shared by the planners ----

export function ownerReason(owner: Exclude<KekOwnership, { state: 'verified' }>): string {
  return owner.state === 'another-hub' ? Reason.KeyOfAnotherHub : Reason.KeyOwnerUnknown;
}

export function secretName(hub: HubKeyFacts): string {
  return `${hub.ref.namespace}/${hub.ref.name}-keys`;
}
