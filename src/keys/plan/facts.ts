// The facts the planner needs from a HealthDataHub object.
import {
  ANNOTATION_ADOPT_KEYS,
  ANNOTATION_CONFIRM_DESTROY,
  ANNOTATION_ROTATE_KEY,
  type HealthDataHub,
} from '../../api/index.js';
import { rotationToken } from '../dek.js';
import { parseDuration } from '../../api/duration.js';
import { hubRefOf } from '../identity.js';
import type { ProviderName } from '../provider.js';
import type { HubKeyFacts } from './observation.js';

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
