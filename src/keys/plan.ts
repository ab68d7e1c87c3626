// The key lifecycle's decisions, as a pure function of what was observed. KeyLifecycle
// (lifecycle.ts) observes the provider, the `<hub>-keys` Secret and the hub, asks planKeys what to
// do, does that one step, and observes again; every step is safe to repeat after a crash.
//
// The rules that matter most (docs/design.md invariants 4, 5, 6, 8, 9):
//  - Whether the KEK exists is what the provider answers now, never what status says.
//  - A key is never made over data that may exist. A KEK is created only when neither it nor any
//    wrapped key exists and nothing says the hub ever had keys; a first DEK version is written
//    only when no `<hub>-keys` Secret exists.
//  - When the provider cannot answer, nothing is decided: the hub waits, nothing is deleted.
//  - Keys are destroyed only during deletion, with onDelete CryptoShred and confirm-destroy equal
//    to the hub's UID; otherwise they are kept and marked as retained.
//  - Keys of an earlier hub of the same name are used only when the hub names that hub's UID in
//    the adopt-keys annotation, and only after they are proven to unwrap.
//  - A KEK is used, granted or destroyed only when its recorded owner is this hub or an earlier
//    hub of the same namespace and name (KekOwnership): nothing a tenant writes can point the
//    operator at another hub's KEK.
import {
  ANNOTATION_ADOPT_KEYS,
  ANNOTATION_CONFIRM_DESTROY,
  ANNOTATION_ROTATE_KEY,
  Reason,
  type HealthDataHub,
} from '../api/index.js';
import { activeDek, rotationToken, type DekSet } from './dek.js';
import { parseDuration } from './duration.js';
import { hubRefOf, type HubRef } from './identity.js';
import type { ProviderName } from './provider.js';

/** KeysReady reasons beyond those of the API (Reason), specific to the key lifecycle. */
export const KeyReason = {
  /** The `<hub>-keys` Secret holds keys of an earlier hub of the same name (another UID). */
  RetainedKeysFound: 'RetainedKeysFound',
  /** A key object or the wrapped keys are not what the operator made, or do not match. */
  KeyInvalid: 'KeyInvalid',
  /** spec.encryption.rotationInterval cannot be read. */
  InvalidRotationInterval: 'InvalidRotationInterval',
  /** Deletion: the keys were kept and marked retained. */
  KeysRetained: 'KeysRetained',
  /** Deletion: the KEK and the wrapped keys were destroyed. */
  KeysDestroyed: 'KeysDestroyed',
  /** Event: the keys of an earlier hub were adopted, as the adopt-keys annotation asked. */
  KeysAdopted: 'KeysAdopted',
  /** Event: stored versions were rewrapped under the KEK's latest version. */
  KeysRewrapped: 'KeysRewrapped',
  /** The keys name a KEK whose recorded owner is not a hub of this namespace and name. */
  KeyOfAnotherHub: 'KeyOfAnotherHub',
  /**
   * The keys name a legacy PKCS#11 or Transit KEK of an earlier hub, and no owner record says it
   * was a hub of this namespace and name (see owner-record.ts).
   */
  KeyOwnerUnknown: 'KeyOwnerUnknown',
} as const;

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

const PROVIDERS: readonly ProviderName[] = ['builtin', 'pkcs11', 'transit'];

/** The facts planKeys needs from a hub object. Throws only when the hub has no identity. */
export function hubKeyFacts(hub: HealthDataHub): HubKeyFacts {
  const enc = hub.spec.encryption ?? {};
  const annotations = hub.metadata.annotations ?? {};
  const rotate = annotations[ANNOTATION_ROTATE_KEY];
  let rotationIntervalMs: number | undefined;
  let rotationIntervalError: string | undefined;
  if (enc.rotationInterval !== undefined) {
    try {
      rotationIntervalMs = parseDuration(enc.rotationInterval);
      if (rotationIntervalMs < 60_000) throw new Error('it is shorter than a minute');
    } catch (e) {
      rotationIntervalMs = undefined;
      rotationIntervalError = `spec.encryption.rotationInterval ${JSON.stringify(enc.rotationInterval)} cannot be used: ${(e as Error).message}`;
    }
  }
  const status = hub.status?.encryption;
  const provider = enc.provider ?? 'builtin';
  const adoptFrom = annotations[ANNOTATION_ADOPT_KEYS]?.trim();
  return {
    ref: hubRefOf(hub),
    generation: hub.metadata.generation ?? 0,
    provider: PROVIDERS.includes(provider) ? provider : 'builtin',
    deleting: !!hub.metadata.deletionTimestamp,
    onDelete: enc.onDelete ?? 'Keep',
    confirmDestroy: annotations[ANNOTATION_CONFIRM_DESTROY],
    rotateRequest: rotate ? rotationToken(rotate) : undefined,
    rotationIntervalMs,
    adoptFrom: adoptFrom ? adoptFrom : undefined,
    rotationIntervalError,
    reportedVersions: Math.max(status?.versions ?? 0, status?.activeVersion ?? 0),
    reportedKeyRef: status?.keyRef,
  };
}

/** True only for a confirmed crypto-shred: CryptoShred and confirm-destroy equal to the UID. */
export function shredConfirmed(hub: HubKeyFacts): boolean {
  return hub.onDelete === 'CryptoShred' && hub.confirmDestroy === hub.ref.uid;
}

/** Decides the next step. Pure: the same observation always gives the same plan. */
export function planKeys(o: KeyObservation): KeyPlan {
  return o.hub.deleting ? planDeletion(o) : planLive(o);
}

function planDeletion(o: KeyObservation): KeyPlan {
  const { hub, kek, keys } = o;
  const ours = keys.state === 'present' || (keys.state === 'damaged' && keys.ours);
  if (!shredConfirmed(hub)) {
    // Keep: the provider is not needed, so an unavailable provider does not hold up deletion.
    const retainedFrom = keys.state === 'present' || keys.state === 'damaged' ? keys.retainedFrom : undefined;
    const note =
      hub.onDelete === 'CryptoShred'
        ? hub.confirmDestroy === undefined
          ? `onDelete is CryptoShred but the hub has no ${ANNOTATION_CONFIRM_DESTROY} annotation`
          : `onDelete is CryptoShred but ${ANNOTATION_CONFIRM_DESTROY} does not equal the hub's metadata.uid`
        : undefined;
    if (!ours) return { action: 'released', outcome: 'no-keys', note };
    if (retainedFrom !== hub.ref.uid) return { action: 'retain', note };
    return { action: 'released', outcome: 'retained', note };
  }
  if (o.owner && o.owner.state !== 'verified') {
    return {
      action: 'block',
      reason: ownerReason(o.owner),
      message:
        `crypto-shred stopped, nothing destroyed: ${o.owner.message}; remove the ` +
        `${ANNOTATION_CONFIRM_DESTROY} annotation to keep the keys and let the deletion finish`,
    };
  }
  const adopted = adoptedShredCheck(o);
  if (adopted) return adopted;
  switch (kek.state) {
    case 'unavailable':
      // Fail closed: a crypto-shred half done is finished when the provider is back.
      return { action: 'wait', message: `crypto-shred waits for the key provider: ${kek.message}` };
    case 'invalid':
      // Never destroy an object the operator did not make, nor the keys it may be needed for.
      return {
        action: 'block',
        reason: KeyReason.KeyInvalid,
        message: `crypto-shred stopped, nothing destroyed: ${kek.message}`,
      };
    case 'not-asked':
      return { action: 'wait', message: 'the key provider was not asked about the key-encryption key' };
    case 'present':
      return { action: 'shred', destroyKek: true, deleteKeys: ours };
    case 'absent':
      return ours
        ? { action: 'shred', destroyKek: false, deleteKeys: true }
        : { action: 'released', outcome: 'shredded', note: undefined };
  }
}

/**
 * Adopted keys are wrapped by the KEK of the hub that first had them. Before a crypto-shred
 * destroys that KEK, the hub's own record (status) must name it and the keys must prove to be
 * wrapped by it: a Secret edited to name another hub's KEK never gets that KEK destroyed.
 */
function adoptedShredCheck(o: KeyObservation): KeyPlan | undefined {
  const { hub, kek, keys } = o;
  const stop = (why: string): KeyPlan => ({
    action: 'block',
    reason: KeyReason.KeyInvalid,
    message:
      `crypto-shred stopped, nothing destroyed: ${why}; or remove the ${ANNOTATION_CONFIRM_DESTROY} ` +
      'annotation to keep the keys',
  });
  // The hub's record says it used another KEK than its own (adopted keys): the shred must be about
  // that very KEK, found through a readable key set naming it or through the record itself; a
  // Secret deleted or edited meanwhile would otherwise let it report success with that KEK alive.
  const used = hub.reportedKeyRef;
  if (used !== undefined && o.ownKekRefs !== undefined && !o.ownKekRefs.includes(used) && !o.kekIsRecorded) {
    if (keys.state !== 'present' || keys.set.kekRef !== used) {
      return stop(
        `the hub used key-encryption key ${used} (status.encryption.keyRef), but Secret ${secretName(hub)} ` +
          'no longer names it; restore the Secret from a backup, or destroy that key at the provider yourself',
      );
    }
  }
  if (keys.state === 'damaged' && keys.ours && keys.kekUid !== undefined) {
    return stop(
      `Secret ${secretName(hub)} is damaged (${keys.message}) and names the key-encryption key of hub uid ` +
        `${keys.kekUid}, which cannot be verified; restore the Secret from a backup, or destroy that key at ` +
        'the provider yourself and remove the Secret',
    );
  }
  if (keys.state !== 'present' || keys.set.kekUid === undefined || kek.state !== 'present') return undefined;
  // The KEK about to be destroyed (found through kek-uid) must be the one the Secret and the hub's
  // record name: every reference contains the identity, and so the UID.
  if (hub.reportedKeyRef !== keys.set.kekRef || kek.ref !== keys.set.kekRef) {
    return stop(
      `Secret ${secretName(hub)} names key-encryption key ${keys.set.kekRef} (adopted from hub uid ` +
        `${keys.set.kekUid}), but the hub's status.encryption.keyRef does not record using it; destroy ` +
        'that key at the provider yourself once you have checked it',
    );
  }
  switch (o.active.state) {
    case 'ok':
      return undefined;
    case 'unavailable':
      return { action: 'wait', message: `crypto-shred waits for the key provider: ${o.active.message}` };
    case 'skipped':
      return { action: 'wait', message: 'the adopted keys were not checked against the provider' };
    case 'failed':
      return stop(`the adopted keys do not prove to be wrapped by ${keys.set.kekRef}: ${o.active.message}`);
  }
}

function planLive(o: KeyObservation): KeyPlan {
  const { hub, kek, keys } = o;
  if (keys.state === 'foreign') return planAdoption(o, keys);
  if (keys.state === 'present' && o.owner && o.owner.state !== 'verified') {
    return { action: 'block', reason: ownerReason(o.owner), message: o.owner.message };
  }
  if (keys.state === 'damaged') {
    return {
      action: 'block',
      reason: KeyReason.KeyInvalid,
      message: keys.ours
        ? `${keys.message}; it is never repaired by guessing: restore it from a backup`
        : `${keys.message}; it is not a key set of this hub and is never overwritten: rename or remove it`,
    };
  }
  if (kek.state === 'unavailable' || kek.state === 'not-asked') {
    return {
      action: 'wait',
      message: kek.state === 'unavailable' ? kek.message : 'the key provider was not asked',
    };
  }
  if (kek.state === 'invalid') return { action: 'block', reason: KeyReason.KeyInvalid, message: kek.message };
  if (keys.state === 'absent' && hub.adoptFrom !== undefined) {
    return {
      action: 'block',
      reason: Reason.KeyMissing,
      message:
        `annotation ${ANNOTATION_ADOPT_KEYS} asks to adopt the keys of hub uid ${hub.adoptFrom}, but Secret ` +
        `${secretName(hub)} does not exist: no new keys are made in their place; restore the Secret, or ` +
        'remove the annotation to start with new keys',
    };
  }

  const evidence = evidenceOfKeys(o);
  if (kek.state === 'absent') {
    if (keys.state === 'present') {
      return {
        action: 'block',
        reason: Reason.KeyMissing,
        message:
          `the key provider has no key-encryption key ${keys.set.kekRef}, but ${keys.set.versions.length} ` +
          `wrapped key version(s) exist in Secret ${secretName(hub)}: they cannot be unwrapped, and no new key is ` +
          'made over them; restore the key-encryption key at the provider',
      };
    }
    if (evidence) {
      return {
        action: 'block',
        reason: Reason.KeyMissing,
        message:
          `neither the key-encryption key nor Secret ${secretName(hub)} exists, but ${evidence}: no new key ` +
          'is made over existing data; restore both from backup, or recreate the hub to start with new keys',
      };
    }
    return { action: 'initialize', createKek: true, honour: hub.rotateRequest };
  }

  // The KEK exists.
  if (keys.state === 'absent') {
    if (evidence) {
      return {
        action: 'block',
        reason: Reason.KeyMissing,
        message:
          `the key-encryption key ${kek.ref} exists but Secret ${secretName(hub)} with the wrapped keys is ` +
          `gone, and ${evidence}: no new key is made over existing data; restore the Secret from backup`,
      };
    }
    // No wrapped key was ever written: an earlier attempt stopped between creating the KEK and
    // writing version 1. Resume with the KEK that exists (never a second one).
    return { action: 'initialize', createKek: false, honour: hub.rotateRequest };
  }

  const set = keys.set;
  if (set.provider !== hub.provider || set.kekRef !== kek.ref) {
    return {
      action: 'block',
      reason: KeyReason.KeyInvalid,
      message:
        `Secret ${secretName(hub)} holds keys wrapped by ${set.provider} key ${set.kekRef}, but the hub's ` +
        `key-encryption key is ${hub.provider} key ${kek.ref}; the keys are not used with another key`,
    };
  }
  if (hub.reportedKeyRef !== undefined && hub.reportedKeyRef !== set.kekRef) {
    // The hub's own record says it used another KEK: its keys were swapped under it. Keys change
    // KEK only by an explicit adoption, which starts from a hub that had none.
    return {
      action: 'block',
      reason: KeyReason.KeyInvalid,
      message:
        `Secret ${secretName(hub)} holds keys wrapped by ${set.kekRef}, but the hub has been using ` +
        `${hub.reportedKeyRef} (status.encryption.keyRef); keys are never switched silently: restore the ` +
        'Secret from a backup',
    };
  }
  if (o.active.state === 'unavailable') return { action: 'wait', message: o.active.message };
  if (o.active.state === 'skipped') {
    // Ready means proven to unwrap; an observer that did not try decides nothing.
    return { action: 'wait', message: 'the active key version was not checked against the provider' };
  }
  if (o.active.state === 'failed') {
    return { action: 'block', reason: KeyReason.KeyInvalid, message: o.active.message };
  }
  if (hub.rotationIntervalError) {
    return { action: 'block', reason: KeyReason.InvalidRotationInterval, message: hub.rotationIntervalError };
  }
  // A KEK version is added with each rotation unless the KEK is already newer than every
  // wrapping (rotated elsewhere, or by an attempt that stopped before storing the new version).
  const stale = staleVersions(o);
  const rotateKek = o.wrappedUnder !== undefined && stale.length === 0;
  if (hub.rotateRequest !== undefined && hub.rotateRequest !== set.honouredRotation) {
    return { action: 'rotate', trigger: 'annotation', honour: hub.rotateRequest, rotateKek };
  }
  const untilDue = msUntilRotation(hub, set, o.now);
  if (untilDue !== undefined && untilDue <= 0) {
    return {
      action: 'rotate',
      trigger: 'interval',
      honour: hub.rotateRequest ?? set.honouredRotation,
      rotateKek,
    };
  }
  if (stale.length > 0) return { action: 'rewrap', versions: stale };
  return { action: 'none', requeueAfterMs: untilDue };
}

/** Stored versions wrapped under an older KEK version than the latest, ascending. */
function staleVersions(o: KeyObservation): number[] {
  const latest = o.kek.state === 'present' ? o.kek.latestVersion : undefined;
  if (latest === undefined || o.wrappedUnder === undefined) return [];
  return [...o.wrappedUnder]
    .filter(([, kekVersion]) => kekVersion < latest)
    .map(([version]) => version)
    .sort((a, b) => a - b);
}

/**
 * The `<hub>-keys` Secret belongs to an earlier hub of the same name. Its keys are taken over
 * only when the adopt-keys annotation names that hub's UID, the provider is the one they were
 * wrapped by, and the active version unwraps under their KEK; otherwise the hub is blocked and
 * nothing is written.
 */
function planAdoption(o: KeyObservation, keys: Extract<KeysObservation, { state: 'foreign' }>): KeyPlan {
  const { hub, kek } = o;
  const from = keys.set.hubUid;
  const block = (reason: string, message: string): KeyPlan => ({ action: 'block', reason, message });
  if (hub.adoptFrom === undefined) return block(KeyReason.RetainedKeysFound, keys.message);
  if (hub.adoptFrom !== from) {
    return block(
      KeyReason.RetainedKeysFound,
      `annotation ${ANNOTATION_ADOPT_KEYS} names hub uid ${hub.adoptFrom}, but Secret ${secretName(hub)} ` +
        `holds the keys of hub uid ${from}; set the annotation to ${from} to adopt them`,
    );
  }
  if (keys.set.provider !== hub.provider) {
    return block(
      KeyReason.KeyInvalid,
      `the keys to adopt were wrapped by provider ${keys.set.provider}, but the hub asks for ${hub.provider}; ` +
        `set spec.encryption.provider to ${keys.set.provider} (with the same provider settings) to adopt them`,
    );
  }
  if (o.owner && o.owner.state !== 'verified') {
    return block(ownerReason(o.owner), `the keys are not adopted: ${o.owner.message}`);
  }
  // Other settings (another token, server or mount) would look for the KEK elsewhere and wrongly
  // report it missing: say what differs before asking.
  const settingsDiffer = (ref: string) =>
    block(
      KeyReason.KeyInvalid,
      `the keys to adopt are wrapped by ${keys.set.kekRef}, but the hub's provider settings lead to ${ref}; ` +
        'use the provider settings the keys were made with',
    );
  if (o.expectedKekRef !== undefined && o.expectedKekRef !== keys.set.kekRef) {
    return settingsDiffer(o.expectedKekRef);
  }
  switch (kek.state) {
    case 'unavailable':
      return { action: 'wait', message: kek.message };
    case 'not-asked':
      return { action: 'wait', message: 'the key provider was not asked' };
    case 'invalid':
      return block(KeyReason.KeyInvalid, kek.message);
    case 'absent':
      return block(
        Reason.KeyMissing,
        `the key-encryption key ${keys.set.kekRef} of the keys to adopt does not exist at the provider: ` +
          'they cannot be unwrapped and are not adopted; restore the key-encryption key at the provider',
      );
    case 'present':
      break;
  }
  if (kek.ref !== keys.set.kekRef) return settingsDiffer(kek.ref);
  switch (o.active.state) {
    case 'ok':
      return { action: 'adopt', from };
    case 'unavailable':
      return { action: 'wait', message: o.active.message };
    case 'skipped':
      return { action: 'wait', message: 'the active key version was not checked against the provider' };
    case 'failed':
      return block(KeyReason.KeyInvalid, `the keys to adopt are not adopted: ${o.active.message}`);
  }
}

function ownerReason(owner: Exclude<KekOwnership, { state: 'verified' }>): string {
  return owner.state === 'another-hub' ? KeyReason.KeyOfAnotherHub : KeyReason.KeyOwnerUnknown;
}

/** Milliseconds until the active version is due for rotation by interval; undefined without one. */
export function msUntilRotation(hub: HubKeyFacts, set: DekSet, now: Date): number | undefined {
  if (hub.rotationIntervalMs === undefined) return undefined;
  // The active version's creation time is stored with it in the Secret, so the schedule survives
  // restarts and status loss, and a version added by annotation restarts the interval.
  const created = Date.parse(activeDek(set).createdAt);
  return created + hub.rotationIntervalMs - now.getTime();
}

/** Why the hub must once have had keys, if anything says so; undefined when nothing does. */
function evidenceOfKeys(o: KeyObservation): string | undefined {
  if (o.hub.reportedVersions > 0) {
    return `the hub's status reports ${o.hub.reportedVersions} key version(s)`;
  }
  return o.dataEvidence;
}

function secretName(hub: HubKeyFacts): string {
  return `${hub.ref.namespace}/${hub.ref.name}-keys`;
}
