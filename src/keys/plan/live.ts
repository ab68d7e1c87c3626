// Planning for a live hub: create keys only where nothing says keys or data ever existed, wait
// when the provider cannot answer, block on anything a person must decide, rotate when asked or
// due, rewrap versions under an older KEK version.
import { ANNOTATION_ADOPT_KEYS, Reason } from '../../api/index.js';
import { activeDek, type DekSet } from '../dek.js';
import { planAdoption } from './adoption.js';
import {
  ownerReason,
  secretName,
  type HubKeyFacts,
  type KeyObservation,
  type KeyPlan,
} from './observation.js';

export function planLive(o: KeyObservation): KeyPlan {
  const { hub, kek, keys } = o;
  if (keys.state === 'foreign') return planAdoption(o, keys);
  if (keys.state === 'present' && o.owner && o.owner.state !== 'verified') {
    return { action: 'block', reason: ownerReason(o.owner), message: o.owner.message };
  }
  if (keys.state === 'damaged') {
    return {
      action: 'block',
      reason: Reason.KeyInvalid,
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
  if (kek.state === 'invalid') return { action: 'block', reason: Reason.KeyInvalid, message: kek.message };
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
      reason: Reason.KeyInvalid,
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
      reason: Reason.KeyInvalid,
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
    return { action: 'block', reason: Reason.KeyInvalid, message: o.active.message };
  }
  if (hub.rotationIntervalError) {
    return { action: 'block', reason: Reason.InvalidRotationInterval, message: hub.rotationIntervalError };
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
