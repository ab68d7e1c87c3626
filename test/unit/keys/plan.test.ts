// planKeys decides every step of the key lifecycle; these tests walk each branch, and check the
// rules that must hold whatever is observed: never a new key over existing keys or data, and
// destruction only with the exact confirmation.
import { Reason, type HealthDataHub } from '../../../src/api/index.js';
import { addDekVersion, newDekSet, rotationToken, type DekSet } from '../../../src/keys/dek.js';
import { parseDuration } from '../../../src/api/duration.js';
import {
  hubKeyFacts,
  msUntilRotation,
  planKeys,
  shredConfirmed,
  type ActiveCheck,
  type HubKeyFacts,
  type KekObservation,
  type KekOwnership,
  type KeyObservation,
  type KeysObservation,
} from '../../../src/keys/plan.js';

const uid = '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c';
const ref = { namespace: 'research', name: 'oncology', uid };
const kekRef = `secret/hdh-system/hdh-research-oncology-${uid}`;
const t0 = new Date('2026-03-01T10:00:00.000Z');
const hour = 3_600_000;

const facts = (over: Partial<HubKeyFacts> = {}): HubKeyFacts => ({
  ref,
  generation: 1,
  provider: 'builtin',
  deleting: false,
  onDelete: 'Keep',
  confirmDestroy: undefined,
  rotateRequest: undefined,
  rotationIntervalMs: undefined,
  adoptFrom: undefined,
  rotationIntervalError: undefined,
  reportedVersions: 0,
  reportedKeyRef: undefined,
  ...over,
});
const set1 = (over: Partial<DekSet> = {}): DekSet => ({
  ...newDekSet({ hub: ref, provider: 'builtin', kekRef, wrapped: 'v1:AAAA', now: t0 }),
  ...over,
});
const present = (set: DekSet = set1(), retainedFrom?: string): KeysObservation => ({
  state: 'present',
  set,
  retainedFrom,
});
const kekPresent: KekObservation = { state: 'present', ref: kekRef };
// The keys of an earlier hub of the same name, kept when it was deleted.
const earlierUid = '7c2d9e41-8a5b-4f3c-b6d1-2e9f0a8b7c6d';
const earlierKekRef = `secret/hdh-system/hdh-research-oncology-${earlierUid}`;
const earlierSet = (): DekSet =>
  newDekSet({
    hub: { ...ref, uid: earlierUid },
    provider: 'builtin',
    kekRef: earlierKekRef,
    wrapped: 'v1:BBBB',
    now: t0,
  });
const foreign = (set: DekSet = earlierSet()): KeysObservation => ({
  state: 'foreign',
  message: 'earlier hub',
  set,
});
const obs = (over: Partial<KeyObservation> = {}): KeyObservation => ({
  hub: facts(),
  kek: kekPresent,
  keys: present(),
  active: { state: 'ok' },
  now: new Date(t0.getTime() + hour),
  ...over,
});

describe('planKeys for a live hub', () => {
  it('creates the KEK and version 1 for a new hub, honouring a rotate-key value already set', () => {
    expect(planKeys(obs({ kek: { state: 'absent' }, keys: { state: 'absent' } }))).toEqual({
      action: 'initialize',
      createKek: true,
      honour: undefined,
    });
    const hub = facts({ rotateRequest: 'r1' });
    expect(planKeys(obs({ hub, kek: { state: 'absent' }, keys: { state: 'absent' } }))).toEqual({
      action: 'initialize',
      createKek: true,
      honour: 'r1',
    });
  });

  it('resumes with the existing KEK when a crash came between creating it and writing version 1', () => {
    expect(planKeys(obs({ keys: { state: 'absent' } }))).toEqual({
      action: 'initialize',
      createKek: false,
      honour: undefined,
    });
  });

  it('does nothing when keys are ready, and tells when the interval rotation falls due', () => {
    expect(planKeys(obs())).toEqual({ action: 'none', requeueAfterMs: undefined });
    const hub = facts({ rotationIntervalMs: 10 * hour });
    expect(planKeys(obs({ hub }))).toEqual({ action: 'none', requeueAfterMs: 9 * hour });
  });

  describe('KeyMissing: never a new key over existing keys or data', () => {
    it('blocks when wrapped keys exist but the provider has no KEK', () => {
      const plan = planKeys(obs({ kek: { state: 'absent' } }));
      expect(plan).toMatchObject({ action: 'block', reason: 'KeyMissing' });
      expect(plan.action === 'block' && plan.message).toMatch(/no new key is made over them/);
    });

    it('blocks when the KEK exists but the wrapped keys are gone and status reported versions', () => {
      const plan = planKeys(obs({ hub: facts({ reportedVersions: 2 }), keys: { state: 'absent' } }));
      expect(plan).toMatchObject({ action: 'block', reason: 'KeyMissing' });
      expect(plan.action === 'block' && plan.message).toMatch(/status reports 2 key version/);
    });

    it('blocks when the KEK exists, the wrapped keys are gone and the caller found data', () => {
      const plan = planKeys(
        obs({ keys: { state: 'absent' }, dataEvidence: 'PersistentVolumeClaim data-oncology-0 exists' }),
      );
      expect(plan).toMatchObject({ action: 'block', reason: 'KeyMissing' });
      expect(plan.action === 'block' && plan.message).toMatch(/data-oncology-0/);
    });

    it('blocks when both are gone but the hub had keys', () => {
      for (const o of [
        obs({ hub: facts({ reportedVersions: 1 }), kek: { state: 'absent' }, keys: { state: 'absent' } }),
        obs({ kek: { state: 'absent' }, keys: { state: 'absent' }, dataEvidence: 'volumes exist' }),
      ]) {
        expect(planKeys(o)).toMatchObject({ action: 'block', reason: 'KeyMissing' });
      }
    });
  });

  it('waits, deciding nothing, when the provider cannot answer', () => {
    expect(planKeys(obs({ kek: { state: 'unavailable', message: 'token gone' } }))).toEqual({
      action: 'wait',
      message: 'token gone',
    });
    expect(
      planKeys(obs({ kek: { state: 'unavailable', message: 'x' }, keys: { state: 'absent' } })),
    ).toMatchObject({ action: 'wait' });
    expect(planKeys(obs({ active: { state: 'unavailable', message: 'PIN refused' } }))).toMatchObject({
      action: 'wait',
      message: 'PIN refused',
    });
    expect(planKeys(obs({ kek: { state: 'not-asked' } }))).toMatchObject({ action: 'wait' });
  });

  it('blocks on a KEK or key set it did not make, and never repairs them', () => {
    expect(planKeys(obs({ kek: { state: 'invalid', message: 'extractable' } }))).toEqual({
      action: 'block',
      reason: Reason.KeyInvalid,
      message: 'extractable',
    });
    const damaged = (ours: boolean): KeysObservation => ({
      state: 'damaged',
      message: 'key version 2 is missing',
      ours,
      retainedFrom: undefined,
    });
    const ours = planKeys(obs({ keys: damaged(true) }));
    expect(ours).toMatchObject({ action: 'block', reason: Reason.KeyInvalid });
    expect(ours.action === 'block' && ours.message).toMatch(/restore it from a backup/);
    const theirs = planKeys(obs({ keys: damaged(false), kek: { state: 'absent' } }));
    expect(theirs.action === 'block' && theirs.message).toMatch(/never overwritten/);
    expect(planKeys(obs({ active: { state: 'failed', message: 'does not unwrap' } }))).toMatchObject({
      action: 'block',
      reason: Reason.KeyInvalid,
    });
  });

  it('blocks when the key set names another provider or KEK than the hub has', () => {
    for (const set of [set1({ provider: 'pkcs11' }), set1({ kekRef: 'secret/elsewhere/x' })]) {
      expect(planKeys(obs({ keys: present(set) }))).toMatchObject({
        action: 'block',
        reason: Reason.KeyInvalid,
      });
    }
  });

  it('blocks when the keys name another KEK than the one the hub has been using', () => {
    const swapped = obs({
      hub: facts({ reportedKeyRef: `secret/hdh-system/hdh-research-oncology-${earlierUid}` }),
    });
    expect(planKeys(swapped)).toMatchObject({ action: 'block', reason: Reason.KeyInvalid });
    expect(planKeys(obs({ hub: facts({ reportedKeyRef: kekRef }) }))).toMatchObject({ action: 'none' });
  });

  it('blocks a hub whose Secret holds the retained keys of an earlier hub of the same name', () => {
    for (const kek of [kekPresent, { state: 'absent' } as const]) {
      expect(planKeys(obs({ kek, keys: foreign() }))).toEqual({
        action: 'block',
        reason: Reason.RetainedKeysFound,
        message: 'earlier hub',
      });
    }
  });

  describe('adoption of retained keys', () => {
    const earlierKek: KekObservation = { state: 'present', ref: earlierKekRef };
    const adopting = (over: Partial<KeyObservation> = {}): KeyObservation =>
      obs({ hub: facts({ adoptFrom: earlierUid }), kek: earlierKek, keys: foreign(), ...over });

    it('adopts the keys the annotation names once their active version unwraps', () => {
      expect(planKeys(adopting())).toEqual({ action: 'adopt', from: earlierUid });
    });

    it('blocks with a message naming the UID to use when the annotation names another hub', () => {
      const plan = planKeys(adopting({ hub: facts({ adoptFrom: uid }) }));
      expect(plan).toMatchObject({ action: 'block', reason: Reason.RetainedKeysFound });
      expect(plan.action === 'block' && plan.message).toContain(`set the annotation to ${earlierUid}`);
    });

    it('never adopts keys that do not unwrap, whose KEK is gone or differs, or of another provider', () => {
      expect(planKeys(adopting({ active: { state: 'failed', message: 'tag' } }))).toMatchObject({
        action: 'block',
        reason: Reason.KeyInvalid,
      });
      expect(planKeys(adopting({ kek: { state: 'absent' }, active: { state: 'skipped' } }))).toMatchObject({
        action: 'block',
        reason: 'KeyMissing',
      });
      expect(planKeys(adopting({ kek: kekPresent }))).toMatchObject({
        action: 'block',
        reason: Reason.KeyInvalid,
      });
      expect(planKeys(adopting({ keys: foreign({ ...earlierSet(), provider: 'pkcs11' }) }))).toMatchObject({
        action: 'block',
        reason: Reason.KeyInvalid,
      });
      expect(planKeys(adopting({ active: { state: 'unavailable', message: 'down' } }))).toMatchObject({
        action: 'wait',
      });
    });

    it('makes no new keys when the keys to adopt are not there', () => {
      for (const kek of [{ state: 'absent' } as const, kekPresent]) {
        const plan = planKeys(adopting({ kek, keys: { state: 'absent' } }));
        expect(plan).toMatchObject({ action: 'block', reason: 'KeyMissing' });
        expect(plan.action === 'block' && plan.message).toContain('no new keys are made');
      }
    });

    it('says the settings differ, rather than that the KEK is missing, when they lead elsewhere', () => {
      const elsewhere = `secret/other-namespace/hdh-research-oncology-${earlierUid}`;
      for (const kek of [{ state: 'absent' } as const, earlierKek]) {
        const plan = planKeys(adopting({ kek, expectedKekRef: elsewhere }));
        expect(plan).toMatchObject({ action: 'block', reason: Reason.KeyInvalid });
        expect(plan.action === 'block' && plan.message).toContain(`settings lead to ${elsewhere}`);
      }
      expect(planKeys(adopting({ expectedKekRef: earlierKekRef }))).toMatchObject({ action: 'adopt' });
    });

    it('ignores the annotation once the keys are the hub own', () => {
      expect(planKeys(obs({ hub: facts({ adoptFrom: earlierUid }) }))).toMatchObject({ action: 'none' });
    });
  });

  describe('KEK versions (Transit)', () => {
    const versioned = (latest: number, under: number[], over: Partial<KeyObservation> = {}) => {
      let set = set1();
      for (let i = 1; i < under.length; i++) set = addDekVersion(set, `v1:AAA${i}`, t0);
      return obs({
        kek: { state: 'present', ref: kekRef, latestVersion: latest },
        keys: present(set),
        wrappedUnder: new Map(under.map((k, i) => [i + 1, k])),
        ...over,
      });
    };

    it('rotates the KEK with the DEK when every version is wrapped under its latest version', () => {
      expect(planKeys(versioned(2, [2, 2], { hub: facts({ rotateRequest: 'r1' }) }))).toEqual({
        action: 'rotate',
        trigger: 'annotation',
        honour: 'r1',
        rotateKek: true,
      });
    });

    it('does not rotate the KEK again when it is already newer than the wrappings (a resumed rotation)', () => {
      expect(planKeys(versioned(3, [1, 2], { hub: facts({ rotateRequest: 'r1' }) }))).toMatchObject({
        action: 'rotate',
        rotateKek: false,
      });
    });

    it('rewraps versions under an older KEK version when the KEK was rotated elsewhere', () => {
      expect(planKeys(versioned(3, [3, 1, 2]))).toEqual({ action: 'rewrap', versions: [2, 3] });
      expect(planKeys(versioned(3, [3, 3, 3]))).toMatchObject({ action: 'none' });
    });

    it('never rotates the KEK of a provider without versions', () => {
      expect(planKeys(obs({ hub: facts({ rotateRequest: 'r1' }) }))).toMatchObject({
        action: 'rotate',
        rotateKek: false,
      });
    });
  });

  it('blocks on an unusable rotation interval', () => {
    const hub = facts({ rotationIntervalError: 'bad interval' });
    expect(planKeys(obs({ hub }))).toEqual({
      action: 'block',
      reason: Reason.InvalidRotationInterval,
      message: 'bad interval',
    });
  });
});

describe('planKeys rotation', () => {
  it('adds one version per new rotate-key value, and none for a value already honoured', () => {
    const hub = facts({ rotateRequest: 'r1' });
    expect(planKeys(obs({ hub }))).toEqual({
      action: 'rotate',
      trigger: 'annotation',
      honour: 'r1',
      rotateKek: false,
    });
    // After the version was written with the value, the same value asks for nothing more.
    const rotated = { ...addDekVersion(set1(), 'v1:BBBB', t0), honouredRotation: 'r1' };
    expect(planKeys(obs({ hub, keys: present(rotated) }))).toMatchObject({ action: 'none' });
    expect(planKeys(obs({ hub: facts({ rotateRequest: 'r2' }), keys: present(rotated) }))).toEqual({
      action: 'rotate',
      trigger: 'annotation',
      honour: 'r2',
      rotateKek: false,
    });
    // Removing the annotation asks for nothing.
    expect(planKeys(obs({ keys: present(rotated) }))).toMatchObject({ action: 'none' });
  });

  it('rotates by interval from the active version creation time, keeping the honoured value', () => {
    const hub = facts({ rotationIntervalMs: hour });
    const set = set1({ honouredRotation: 'r1' });
    expect(planKeys(obs({ hub, keys: present(set), now: new Date(t0.getTime() + hour) }))).toEqual({
      action: 'rotate',
      trigger: 'interval',
      honour: 'r1',
      rotateKek: false,
    });
    expect(planKeys(obs({ hub, keys: present(set), now: new Date(t0.getTime() + hour - 1) }))).toEqual({
      action: 'none',
      requeueAfterMs: 1,
    });
    // A version added at t0+1h restarts the interval.
    const later = addDekVersion(set, 'v1:CCCC', new Date(t0.getTime() + hour));
    expect(msUntilRotation(hub, later, new Date(t0.getTime() + hour))).toBe(hour);
  });

  it('adds a single version when the annotation and the interval are due together', () => {
    const hub = facts({ rotationIntervalMs: hour, rotateRequest: 'r9' });
    expect(planKeys(obs({ hub, now: new Date(t0.getTime() + 5 * hour) }))).toEqual({
      action: 'rotate',
      trigger: 'annotation',
      honour: 'r9',
      rotateKek: false,
    });
  });

  it('never rotates while the keys cannot be verified', () => {
    const hub = facts({ rotateRequest: 'r1', rotationIntervalMs: hour });
    const now = new Date(t0.getTime() + 9 * hour);
    for (const active of [
      { state: 'failed', message: 'x' },
      { state: 'unavailable', message: 'x' },
    ] satisfies ActiveCheck[]) {
      expect(planKeys(obs({ hub, active, now })).action).not.toBe('rotate');
    }
  });
});

describe('planKeys during deletion', () => {
  const deleting = (over: Partial<HubKeyFacts> = {}) => facts({ deleting: true, ...over });
  const confirmed = (over: Partial<HubKeyFacts> = {}) =>
    deleting({ onDelete: 'CryptoShred', confirmDestroy: uid, ...over });

  it('keeps the keys by default: marks the Secret retained once, never asks the provider', () => {
    const kek: KekObservation = { state: 'not-asked' };
    expect(planKeys(obs({ hub: deleting(), kek }))).toEqual({ action: 'retain', note: undefined });
    expect(planKeys(obs({ hub: deleting(), kek, keys: present(set1(), uid) }))).toEqual({
      action: 'released',
      outcome: 'retained',
      note: undefined,
    });
    expect(planKeys(obs({ hub: deleting(), kek, keys: { state: 'absent' } }))).toEqual({
      action: 'released',
      outcome: 'no-keys',
      note: undefined,
    });
  });

  it('keeps the keys when CryptoShred lacks the exact confirmation, and says why', () => {
    const missing = planKeys(
      obs({ hub: deleting({ onDelete: 'CryptoShred' }), kek: { state: 'not-asked' } }),
    );
    expect(missing).toMatchObject({ action: 'retain' });
    expect(missing.action === 'retain' && missing.note).toMatch(/no hdh.sovereign.eu\/confirm-destroy/);
    for (const confirmDestroy of [
      'yes',
      'true',
      uid.toUpperCase(),
      ` ${uid}`,
      '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0d',
    ]) {
      const hub = deleting({ onDelete: 'CryptoShred', confirmDestroy });
      expect(shredConfirmed(hub)).toBe(false);
      const plan = planKeys(obs({ hub }));
      expect(plan).toMatchObject({ action: 'retain' });
      expect(plan.action === 'retain' && plan.note).toMatch(/does not equal the hub's metadata.uid/);
    }
    // The right value without CryptoShred destroys nothing either.
    expect(planKeys(obs({ hub: deleting({ confirmDestroy: uid }) }))).toEqual({
      action: 'retain',
      note: undefined,
    });
  });

  it('crypto-shreds with CryptoShred and confirm-destroy equal to the UID: KEK, then keys', () => {
    expect(planKeys(obs({ hub: confirmed() }))).toEqual({
      action: 'shred',
      destroyKek: true,
      deleteKeys: true,
    });
    // After a crash between the two: the keys still go.
    expect(planKeys(obs({ hub: confirmed(), kek: { state: 'absent' } }))).toEqual({
      action: 'shred',
      destroyKek: false,
      deleteKeys: true,
    });
    const damagedOurs: KeysObservation = {
      state: 'damaged',
      message: 'x',
      ours: true,
      retainedFrom: undefined,
    };
    expect(planKeys(obs({ hub: confirmed(), keys: damagedOurs }))).toMatchObject({ deleteKeys: true });
    expect(planKeys(obs({ hub: confirmed(), kek: { state: 'absent' }, keys: { state: 'absent' } }))).toEqual({
      action: 'released',
      outcome: 'shredded',
      note: undefined,
    });
  });

  it('never destroys keys of another hub, nor a key object it did not make', () => {
    expect(planKeys(obs({ hub: confirmed(), keys: foreign() }))).toEqual({
      action: 'shred',
      destroyKek: true,
      deleteKeys: false,
    });
    const damagedTheirs: KeysObservation = {
      state: 'damaged',
      message: 'x',
      ours: false,
      retainedFrom: undefined,
    };
    expect(planKeys(obs({ hub: confirmed(), keys: damagedTheirs }))).toMatchObject({ deleteKeys: false });
    expect(planKeys(obs({ hub: deleting(), keys: foreign() }))).toMatchObject({ action: 'released' });
    expect(
      planKeys(obs({ hub: confirmed(), kek: { state: 'invalid', message: 'extractable' } })),
    ).toMatchObject({
      action: 'block',
      reason: Reason.KeyInvalid,
    });
  });

  describe('of adopted keys', () => {
    const adopted: DekSet = { ...earlierSet(), hubUid: uid, kekUid: earlierUid };
    const earlierKek: KekObservation = { state: 'present', ref: earlierKekRef };
    const shredding = (over: Partial<KeyObservation> = {}, reportedKeyRef = earlierKekRef) =>
      obs({ hub: confirmed({ reportedKeyRef }), kek: earlierKek, keys: present(adopted), ...over });

    it("destroys the earlier hub's KEK when the hub's status names it and the keys unwrap under it", () => {
      expect(planKeys(shredding())).toEqual({ action: 'shred', destroyKek: true, deleteKeys: true });
    });

    it('destroys nothing when the status does not name that KEK, or the keys do not unwrap under it', () => {
      for (const o of [
        shredding({}, kekRef),
        // Status lost: nothing records that the hub used the earlier KEK.
        obs({ hub: confirmed({ reportedKeyRef: undefined }), kek: earlierKek, keys: present(adopted) }),
        shredding({ active: { state: 'failed', message: 'tag mismatch' } }),
      ]) {
        const plan = planKeys(o);
        expect(plan).toMatchObject({ action: 'block', reason: Reason.KeyInvalid });
        expect(plan.action === 'block' && plan.message).toMatch(/^crypto-shred stopped, nothing destroyed/);
      }
      expect(planKeys(shredding({ active: { state: 'unavailable', message: 'down' } }))).toMatchObject({
        action: 'wait',
      });
    });

    it('destroys nothing when the KEK found through kek-uid is not the one the Secret and status name', () => {
      // kek-uid edited to point at a third hub's retained KEK, kek-ref left alone.
      const third: KekObservation = {
        state: 'present',
        ref: 'secret/hdh-system/hdh-research-oncology-2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901',
      };
      expect(planKeys(shredding({ kek: third }))).toMatchObject({
        action: 'block',
        reason: Reason.KeyInvalid,
      });
    });

    it('never reports a shred done while the KEK the hub used may still exist', () => {
      const ownRef = kekRef;
      for (const keys of [{ state: 'absent' } as const, present(set1())]) {
        const plan = planKeys(
          obs({
            hub: confirmed({ reportedKeyRef: earlierKekRef }),
            kek: { state: 'absent' },
            keys,
            ownKekRefs: [ownRef],
          }),
        );
        expect(plan).toMatchObject({ action: 'block', reason: Reason.KeyInvalid });
        expect(plan.action === 'block' && plan.message).toContain(`used key-encryption key ${earlierKekRef}`);
      }
      // Found through the record itself (the Secret is gone): that KEK is destroyed, then released.
      const recorded = {
        hub: confirmed({ reportedKeyRef: earlierKekRef }),
        ownKekRefs: [ownRef],
        kekIsRecorded: true,
      };
      expect(
        planKeys(
          obs({ ...recorded, kek: { state: 'present', ref: earlierKekRef }, keys: { state: 'absent' } }),
        ),
      ).toEqual({ action: 'shred', destroyKek: true, deleteKeys: false });
      expect(
        planKeys(obs({ ...recorded, kek: { state: 'absent' }, keys: { state: 'absent' } })),
      ).toMatchObject({
        action: 'released',
        outcome: 'shredded',
      });
      // A hub that used its own KEK is shredded as before.
      expect(
        planKeys(
          obs({ hub: confirmed({ reportedKeyRef: ownRef }), keys: present(set1()), ownKekRefs: [ownRef] }),
        ),
      ).toMatchObject({ action: 'shred', destroyKek: true });
    });

    it('deletes the wrapped keys alone when the KEK is already gone', () => {
      expect(planKeys(shredding({ kek: { state: 'absent' }, active: { state: 'skipped' } }, kekRef))).toEqual(
        {
          action: 'shred',
          destroyKek: false,
          deleteKeys: true,
        },
      );
    });

    it('never releases a damaged Secret naming an earlier KEK as shredded', () => {
      const damaged: KeysObservation = {
        state: 'damaged',
        message: 'lacks kek-ref',
        ours: true,
        retainedFrom: undefined,
        kekUid: earlierUid,
      };
      for (const kek of [{ state: 'absent' } as const, kekPresent]) {
        expect(planKeys(obs({ hub: confirmed(), kek, keys: damaged }))).toMatchObject({
          action: 'block',
          reason: Reason.KeyInvalid,
        });
      }
    });
  });

  it('waits for an unavailable provider before shredding, deleting nothing', () => {
    expect(planKeys(obs({ hub: confirmed(), kek: { state: 'unavailable', message: 'down' } }))).toMatchObject(
      {
        action: 'wait',
      },
    );
  });
});

describe('planKeys and the owner of the KEK', () => {
  const another: KekOwnership = {
    state: 'another-hub',
    message:
      'Secret oncology-keys names key-encryption key secret/hdh-system/x, which is not a key of hub research/oncology',
  };
  const unknown: KekOwnership = {
    state: 'unknown',
    message: 'no owner record hdh-system/hdh-owner.research.oncology',
  };

  it('blocks a live hub whose keys name a KEK of another hub, whatever the provider says', () => {
    for (const kek of [kekPresent, { state: 'absent' } as const, { state: 'not-asked' } as const]) {
      expect(planKeys(obs({ kek, owner: another }))).toEqual({
        action: 'block',
        reason: Reason.KeyOfAnotherHub,
        message: another.message,
      });
    }
    expect(planKeys(obs({ owner: unknown }))).toMatchObject({
      action: 'block',
      reason: Reason.KeyOwnerUnknown,
    });
  });

  it('adopts nothing whose owner is not verified, after saying which UID the annotation needs', () => {
    const adopt = (over: Partial<KeyObservation>) =>
      planKeys(
        obs({
          hub: facts({ adoptFrom: earlierUid }),
          kek: { state: 'present', ref: earlierKekRef },
          keys: foreign(),
          ...over,
        }),
      );
    expect(adopt({})).toEqual({ action: 'adopt', from: earlierUid });
    expect(adopt({ owner: another })).toMatchObject({ action: 'block', reason: Reason.KeyOfAnotherHub });
    const plan = adopt({ owner: unknown });
    expect(plan).toMatchObject({ action: 'block', reason: Reason.KeyOwnerUnknown });
    expect(plan.action === 'block' && plan.message).toContain('the keys are not adopted: no owner record');
    // Without the annotation, the retained keys are reported as such first.
    expect(planKeys(obs({ keys: foreign(), owner: another }))).toMatchObject({
      reason: Reason.RetainedKeysFound,
    });
  });

  it('stops a confirmed crypto-shred, destroying nothing, and keeps keys without asking', () => {
    const hub = facts({ deleting: true, onDelete: 'CryptoShred', confirmDestroy: uid });
    const plan = planKeys(obs({ hub, owner: another, kek: { state: 'not-asked' } }));
    expect(plan).toMatchObject({ action: 'block', reason: Reason.KeyOfAnotherHub });
    expect(plan.action === 'block' && plan.message).toMatch(
      /^crypto-shred stopped, nothing destroyed: .*remove the hdh.sovereign.eu\/confirm-destroy annotation/,
    );
    expect(
      planKeys(obs({ hub: facts({ deleting: true }), owner: another, kek: { state: 'not-asked' } })),
    ).toEqual({
      action: 'retain',
      note: undefined,
    });
  });
});

const ownerReasons: Record<'another-hub' | 'unknown', string> = {
  'another-hub': Reason.KeyOfAnotherHub,
  unknown: Reason.KeyOwnerUnknown,
};

describe('planKeys invariants over every observation', () => {
  const kekStates: KekObservation[] = [
    kekPresent,
    { state: 'present', ref: earlierKekRef },
    { state: 'absent' },
    { state: 'invalid', message: 'i' },
    { state: 'unavailable', message: 'u' },
    { state: 'not-asked' },
  ];
  const keyStates: KeysObservation[] = [
    { state: 'absent' },
    present(),
    present(set1(), uid),
    foreign(),
    { state: 'damaged', message: 'd', ours: true, retainedFrom: undefined },
    { state: 'damaged', message: 'd', ours: false, retainedFrom: undefined },
  ];
  const actives: ActiveCheck[] = [
    { state: 'ok' },
    { state: 'failed', message: 'x' },
    { state: 'unavailable', message: 'x' },
    { state: 'skipped' },
  ];
  const hubs: HubKeyFacts[] = [];
  for (const deleting of [false, true])
    for (const onDelete of ['Keep', 'CryptoShred'] as const)
      for (const confirmDestroy of [undefined, uid, 'other'])
        for (const reportedVersions of [0, 3])
          for (const rotateRequest of [undefined, 'r1'])
            for (const adoptFrom of [undefined, earlierUid])
              hubs.push(
                facts({
                  deleting,
                  onDelete,
                  confirmDestroy,
                  reportedVersions,
                  rotateRequest,
                  adoptFrom,
                  rotationIntervalMs: hour,
                }),
              );
  const all: KeyObservation[] = [];
  for (const hub of hubs)
    for (const kek of kekStates)
      for (const keys of keyStates)
        for (const active of actives)
          for (const dataEvidence of [undefined, 'volumes exist'])
            all.push(obs({ hub, kek, keys, active, dataEvidence, now: new Date(t0.getTime() + 2 * hour) }));

  it(`initializes only when no keys, no evidence and a provider that answered (${all.length} cases)`, () => {
    for (const o of all) {
      const plan = planKeys(o);
      if (plan.action !== 'initialize') continue;
      expect(o.hub.deleting).toBe(false);
      expect(o.keys.state).toBe('absent');
      expect(o.hub.reportedVersions).toBe(0);
      expect(o.dataEvidence).toBeUndefined();
      // Asked to adopt keys that are not there: nothing is made in their place.
      expect(o.hub.adoptFrom).toBeUndefined();
      // A second KEK is never asked for: create only when the provider said there is none.
      expect(plan.createKek).toBe(o.kek.state === 'absent');
      expect(['present', 'absent']).toContain(o.kek.state);
    }
  });

  it('destroys only during deletion with CryptoShred and the exact UID', () => {
    for (const o of all) {
      const plan = planKeys(o);
      if (plan.action !== 'shred') continue;
      expect(o.hub.deleting).toBe(true);
      expect(o.hub.onDelete).toBe('CryptoShred');
      expect(o.hub.confirmDestroy).toBe(uid);
      if (plan.destroyKek) expect(o.kek.state).toBe('present');
      if (plan.deleteKeys)
        expect(o.keys.state === 'present' || (o.keys.state === 'damaged' && o.keys.ours)).toBe(true);
    }
  });

  it('adopts only when asked for exactly the earlier hub, live, with keys proven to unwrap', () => {
    let adoptions = 0;
    for (const o of all) {
      const plan = planKeys(o);
      if (o.keys.state === 'foreign' && o.hub.adoptFrom === undefined && !o.hub.deleting) {
        expect(plan).toMatchObject({ action: 'block', reason: Reason.RetainedKeysFound });
      }
      if (plan.action !== 'adopt') continue;
      adoptions++;
      expect(o.hub.deleting).toBe(false);
      expect(o.keys.state).toBe('foreign');
      expect(plan.from).toBe(earlierUid);
      expect(o.hub.adoptFrom).toBe(earlierUid);
      expect(o.active.state).toBe('ok');
      expect(o.kek).toEqual({ state: 'present', ref: earlierKekRef });
    }
    expect(adoptions).toBeGreaterThan(0);
  });

  it('never uses, rotates, adopts or destroys a KEK whose owner is not verified', () => {
    const owners: Exclude<KekOwnership, { state: 'verified' }>[] = [
      { state: 'another-hub', message: 'names a key of another hub' },
      { state: 'unknown', message: 'no owner record' },
    ];
    let blocked = 0;
    for (const base of all)
      for (const owner of owners) {
        const plan = planKeys({ ...base, owner });
        expect(['none', 'adopt', 'rotate', 'rewrap']).not.toContain(plan.action);
        if (plan.action === 'shred') expect(plan.destroyKek).toBe(false);
        if (plan.action === 'block' && plan.reason === ownerReasons[owner.state]) blocked++;
      }
    expect(blocked).toBeGreaterThan(0);
  });

  it('rotates only verified keys of a live hub, and an unavailable provider always means wait', () => {
    for (const o of all) {
      const plan = planKeys(o);
      if (plan.action === 'rotate') {
        expect(o.hub.deleting).toBe(false);
        expect(o.active.state).toBe('ok');
        expect(o.kek.state).toBe('present');
      }
      if (
        o.kek.state === 'unavailable' &&
        !o.hub.deleting &&
        o.keys.state !== 'foreign' &&
        o.keys.state !== 'damaged'
      ) {
        expect(plan.action).toBe('wait');
      }
    }
  });
});

describe('hubKeyFacts', () => {
  const hub = (
    over: Partial<HealthDataHub['metadata']> = {},
    enc: object = {},
    status?: object,
  ): HealthDataHub =>
    ({
      apiVersion: 'hdh.sovereign.eu/v1alpha1',
      kind: 'HealthDataHub',
      metadata: { name: 'oncology', namespace: 'research', uid, generation: 4, ...over },
      spec: { policyName: 'eu-hds', storage: { size: '1Gi', storageClassName: 'x' }, encryption: enc },
      ...(status ? { status: { encryption: status } } : {}),
    }) as HealthDataHub;

  it('reads provider, deletion, confirmation, rotation request and interval', () => {
    const f = hubKeyFacts(
      hub(
        {
          deletionTimestamp: new Date(),
          annotations: { 'hdh.sovereign.eu/rotate-key': '2026-05', 'hdh.sovereign.eu/confirm-destroy': uid },
        },
        { provider: 'pkcs11', onDelete: 'CryptoShred', rotationInterval: '2160h' },
        { versions: 3, activeVersion: 3 },
      ),
    );
    expect(f).toEqual({
      ref,
      generation: 4,
      provider: 'pkcs11',
      deleting: true,
      onDelete: 'CryptoShred',
      confirmDestroy: uid,
      rotateRequest: '2026-05',
      rotationIntervalMs: 2160 * hour,
      rotationIntervalError: undefined,
      reportedVersions: 3,
    });
  });

  it('defaults to builtin, Keep, no rotation; an empty rotate-key value asks nothing', () => {
    const f = hubKeyFacts(hub({ annotations: { 'hdh.sovereign.eu/rotate-key': '' } }));
    expect(f).toMatchObject({
      provider: 'builtin',
      onDelete: 'Keep',
      deleting: false,
      rotateRequest: undefined,
      rotationIntervalMs: undefined,
      reportedVersions: 0,
    });
  });

  it('records long rotate-key values by hash, and reports an unusable interval', () => {
    const long = 'x'.repeat(500);
    expect(hubKeyFacts(hub({ annotations: { 'hdh.sovereign.eu/rotate-key': long } })).rotateRequest).toBe(
      rotationToken(long),
    );
    expect(rotationToken(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hubKeyFacts(hub({}, { rotationInterval: '90 days' })).rotationIntervalError).toMatch(
      /not a duration/,
    );
    expect(hubKeyFacts(hub({}, { rotationInterval: '1s' })).rotationIntervalError).toMatch(/shorter/);
  });

  it('refuses a hub without a UID', () => {
    expect(() => hubKeyFacts(hub({ uid: undefined }))).toThrow(/uid/);
  });
});

describe('parseDuration', () => {
  it('reads Go durations', () => {
    expect(parseDuration('2160h')).toBe(2160 * hour);
    expect(parseDuration('1h30m')).toBe(1.5 * hour);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(1.5 * hour);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1m500ms')).toBe(60_500);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'h', '10', '10d', '-1h', '1h ', '1H']) expect(() => parseDuration(bad)).toThrow();
  });
});
