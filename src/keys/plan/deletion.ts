// Planning for a hub being deleted: keep the keys and mark them retained, or, only when confirmed
// with the hub's own UID, crypto-shred them (the KEK first). Adopted keys are destroyed only when
// the hub's own record names their KEK and they prove to be wrapped by it.
import { ANNOTATION_CONFIRM_DESTROY, Reason } from '../../api/index.js';
import { shredConfirmed } from './facts.js';
import { ownerReason, secretName, type KeyObservation, type KeyPlan } from './observation.js';

export function planDeletion(o: KeyObservation): KeyPlan {
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
        reason: Reason.KeyInvalid,
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
    reason: Reason.KeyInvalid,
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
