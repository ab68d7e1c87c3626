// Planning for a hub whose `<hub>-keys` Secret holds the keys of an earlier hub of the same name.
import { ANNOTATION_ADOPT_KEYS, Reason } from '../../api/index.js';
import {
  ownerReason,
  secretName,
  type KeyObservation,
  type KeyPlan,
  type KeysObservation,
} from './observation.js';

/**
 * The `<hub>-keys` Secret belongs to an earlier hub of the same name. Its keys are taken over
 * only when the adopt-keys annotation names that hub's UID, the provider is the one they were
 * wrapped by, and the active version unwraps under their KEK; otherwise the hub is blocked and
 * nothing is written.
 */
export function planAdoption(
  o: KeyObservation,
  keys: Extract<KeysObservation, { state: 'foreign' }>,
): KeyPlan {
  const { hub, kek } = o;
  const from = keys.set.hubUid;
  const block = (reason: string, message: string): KeyPlan => ({ action: 'block', reason, message });
  if (hub.adoptFrom === undefined) return block(Reason.RetainedKeysFound, keys.message);
  if (hub.adoptFrom !== from) {
    return block(
      Reason.RetainedKeysFound,
      `annotation ${ANNOTATION_ADOPT_KEYS} names hub uid ${hub.adoptFrom}, but Secret ${secretName(hub)} ` +
        `holds the keys of hub uid ${from}; set the annotation to ${from} to adopt them`,
    );
  }
  if (keys.set.provider !== hub.provider) {
    return block(
      Reason.KeyInvalid,
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
      Reason.KeyInvalid,
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
      return block(Reason.KeyInvalid, kek.message);
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
      return block(Reason.KeyInvalid, `the keys to adopt are not adopted: ${o.active.message}`);
  }
}
