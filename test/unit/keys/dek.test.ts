import type { V1Secret } from '@kubernetes/client-node';
import {
  DEK_SECRET_TYPE,
  DekSetError,
  ForeignDekSetError,
  activeDek,
  addDekVersion,
  adoptDekSet,
  assertOnlyAdds,
  dekFingerprint,
  dekSecretName,
  generateDek,
  kekIdentityOf,
  newDekSet,
  parseDekSecret,
  renderDekSecret,
  type DekSet,
} from '../../../src/keys/dek.js';

const hub = { namespace: 'research', name: 'oncology', uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c' };
const t0 = new Date('2026-03-01T10:00:00.000Z');
const t1 = new Date('2026-06-01T10:00:00.000Z');
const kekRef =
  'pkcs11:token=hdh;object=hdh-research-oncology-0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c;type=secret-key';

const initial = (): DekSet => newDekSet({ hub, provider: 'pkcs11', kekRef, wrapped: 'v1:AAAA1', now: t0 });

const decoded = (s: V1Secret): Record<string, string> =>
  Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));

const withData = (s: V1Secret, change: (d: Record<string, string>) => void): V1Secret => {
  const d = decoded(s);
  change(d);
  return {
    ...s,
    data: Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
};

describe('generateDek and dekFingerprint', () => {
  it('makes distinct 256-bit keys', () => {
    const a = generateDek();
    const b = generateDek();
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(false);
  });

  it('fingerprints deterministically without revealing the key', () => {
    const k = generateDek();
    expect(dekFingerprint(k)).toBe(dekFingerprint(Buffer.from(k)));
    expect(dekFingerprint(k)).toMatch(/^[0-9a-f]{16}$/);
    expect(k.toString('hex')).not.toContain(dekFingerprint(k));
  });
});

describe('DEK sets', () => {
  it('start at version 1, active', () => {
    const set = initial();
    expect(set.activeVersion).toBe(1);
    expect(activeDek(set)).toEqual({ version: 1, wrapped: 'v1:AAAA1', createdAt: t0.toISOString() });
  });

  it('rotate by adding the next version and activating it, leaving the input untouched', () => {
    const before = initial();
    const copy = structuredClone(before);
    const after = addDekVersion(before, 'v1:BBBB2', t1);
    expect(before).toEqual(copy);
    expect(after.activeVersion).toBe(2);
    expect(after.versions.map((d) => d.version)).toEqual([1, 2]);
    expect(after.versions[0]).toEqual(before.versions[0]);
    expect(activeDek(after).createdAt).toBe(t1.toISOString());
    expect(() => assertOnlyAdds(before, after)).not.toThrow();
  });

  it('refuse a write that changes or drops a version, or moves the active version back', () => {
    const one = initial();
    const two = addDekVersion(one, 'v1:BBBB2', t1);
    expect(() => assertOnlyAdds(two, one)).toThrow(/version 2 would be changed or dropped/);
    expect(() =>
      assertOnlyAdds(one, { ...one, versions: [{ ...one.versions[0]!, wrapped: 'v1:CCCC' }] }),
    ).toThrow(/version 1 would be changed/);
    expect(() => assertOnlyAdds(two, { ...two, activeVersion: 1 })).toThrow(/may not go back/);
    expect(() => assertOnlyAdds(one, { ...one, kekRef: 'other' })).toThrow(/may not change/);
  });

  it('let a rewrap change the wrapped value of exactly the versions named, nothing else', () => {
    const two = addDekVersion(initial(), 'v1:BBBB2', t1);
    const rewrapped = { ...two, versions: [{ ...two.versions[0]!, wrapped: 'v1:CCCC' }, two.versions[1]!] };
    expect(() => assertOnlyAdds(two, rewrapped, new Set([1]))).not.toThrow();
    expect(() => assertOnlyAdds(two, rewrapped, new Set([2]))).toThrow(/version 1 would be changed/);
    const retimed = {
      ...two,
      versions: [{ ...two.versions[0]!, wrapped: 'v1:CCCC', createdAt: t1.toISOString() }, two.versions[1]!],
    };
    expect(() => assertOnlyAdds(two, retimed, new Set([1]))).toThrow(/version 1 would be changed/);
    expect(() => assertOnlyAdds(two, { ...two, versions: [two.versions[1]!] }, new Set([1]))).toThrow(
      /version 1 would be changed or dropped/,
    );
  });

  it('adopt: the new hub owns the same versions, still wrapped by the first hub KEK', () => {
    const recreated = { ...hub, uid: '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' };
    const before = addDekVersion(initial(), 'v1:BBBB2', t1);
    const adopted = adoptDekSet(before, recreated);
    expect(adopted).toEqual({ ...before, hubUid: recreated.uid, kekUid: hub.uid });
    // kek-ref names a key made under the legacy scheme: that identity, of this namespace and name.
    expect(kekIdentityOf(adopted, recreated)).toMatchObject({
      name: `hdh-research-oncology-${hub.uid}`,
      scheme: 'legacy',
      hub,
    });
    expect(kekIdentityOf(before, hub)?.name).toBe(`hdh-research-oncology-${hub.uid}`);
    const current = {
      ...before,
      kekRef: `pkcs11:token=hdh;object=hdh.research.oncology.${hub.uid};type=secret-key`,
    };
    expect(kekIdentityOf(current, hub)).toMatchObject({
      name: `hdh.research.oncology.${hub.uid}`,
      scheme: 'current',
    });
    // A kek-ref naming a key of another namespace or hub names no identity of this hub.
    for (const other of [`hdh.research-x.oncology.${hub.uid}`, `hdh.research.x-oncology.${hub.uid}`]) {
      expect(kekIdentityOf({ ...before, kekRef: `secret/hdh-system/${other}` }, hub)).toBeUndefined();
    }
    // Adopted once more by a third hub: the KEK is still the first one's.
    const third = { ...hub, uid: '2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901' };
    expect(adoptDekSet(adopted, third)).toMatchObject({ hubUid: third.uid, kekUid: hub.uid });
    expect(() => adoptDekSet(adopted, recreated)).toThrow(/already belong/);
    // A later write of the adopted set may not drop or change the binding.
    expect(() => assertOnlyAdds(adopted, { ...adopted, kekUid: undefined })).toThrow(/may not change/);
  });
});

describe('renderDekSecret / parseDekSecret', () => {
  const set = addDekVersion(initial(), 'v1:BBBB2', t1);
  const secret = renderDekSecret(hub, set);

  it('renders <hub>-keys in the hub namespace, labelled, without an owner reference', () => {
    expect(dekSecretName('oncology')).toBe('oncology-keys');
    expect(secret.metadata).toEqual({
      name: 'oncology-keys',
      namespace: 'research',
      labels: {
        'app.kubernetes.io/managed-by': 'hdh-operator',
        'hdh.sovereign.eu/hub': 'oncology',
        'hdh.sovereign.eu/hub-uid': hub.uid,
      },
    });
    expect(secret.type).toBe(DEK_SECRET_TYPE);
    expect(decoded(secret)).toEqual({
      'hub-uid': hub.uid,
      provider: 'pkcs11',
      'kek-ref': kekRef,
      'active-version': '2',
      'dek-v1': 'v1:AAAA1',
      'dek-v1-created': t0.toISOString(),
      'dek-v2': 'v1:BBBB2',
      'dek-v2-created': t1.toISOString(),
    });
  });

  it('round-trips', () => {
    expect(parseDekSecret(secret, hub)).toEqual(set);
  });

  it('round-trips the rotate-key value a version honoured, and keeps it through rotation', () => {
    const honoured = { ...set, honouredRotation: '2026-05-rotation' };
    const s = renderDekSecret(hub, honoured);
    expect(decoded(s)['rotate-key-honoured']).toBe('2026-05-rotation');
    expect(parseDekSecret(s, hub)).toEqual(honoured);
    expect(addDekVersion(honoured, 'v1:CCCC3', t1).honouredRotation).toBe('2026-05-rotation');
  });

  it('round-trips adopted keys, and refuses a kek-uid that is not another hub UID', () => {
    const recreated = { ...hub, uid: '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' };
    const adopted = adoptDekSet(set, recreated);
    const s = renderDekSecret(recreated, adopted);
    expect(decoded(s)['kek-uid']).toBe(hub.uid);
    expect(s.metadata?.labels?.['hdh.sovereign.eu/hub-uid']).toBe(recreated.uid);
    expect(parseDekSecret(s, recreated)).toEqual(adopted);
    expect(() => parseDekSecret(s, hub)).toThrow(ForeignDekSetError);
    for (const bad of ['not-a-uid', recreated.uid]) {
      expect(() =>
        parseDekSecret(
          withData(s, (d) => (d['kek-uid'] = bad)),
          recreated,
        ),
      ).toThrow(/kek-uid is not the UID of another hub/);
    }
  });

  it('ignores unknown keys (written by a newer operator)', () => {
    const s = withData(secret, (d) => (d['future-field'] = 'x'));
    expect(parseDekSecret(s, hub)).toEqual(set);
  });

  it('refuses the keys of an earlier hub of the same name', () => {
    const recreated = { ...hub, uid: '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' };
    expect(() => parseDekSecret(secret, recreated)).toThrow(ForeignDekSetError);
    expect(() => parseDekSecret(secret, recreated)).toThrow(
      /earlier hub \(uid 0f8b6a52-.*not reused silently: adopt them with the annotation hdh.sovereign.eu\/adopt-keys=0f8b6a52-/,
    );
    try {
      parseDekSecret(secret, recreated);
    } catch (e) {
      expect((e as ForeignDekSetError).set).toEqual(set);
    }
  });

  it.each<[string, (d: Record<string, string>) => void, RegExp]>([
    ['a lost version', (d) => delete d['dek-v1'], /lacks dek-v1|version 1 is missing/],
    [
      'a gap',
      (d) => ((d['dek-v4'] = 'v1:DDDD'), (d['dek-v4-created'] = t1.toISOString())),
      /version 3 is missing/,
    ],
    ['an active version that does not exist', (d) => (d['active-version'] = '3'), /active version 3/],
    ['an active version that is not a number', (d) => (d['active-version'] = 'two'), /not a version number/],
    ['a version without a time', (d) => delete d['dek-v2-created'], /lacks dek-v2-created/],
    ['an unknown provider', (d) => (d.provider = 'cloud-kms'), /unknown provider cloud-kms/],
    ['no KEK reference', (d) => delete d['kek-ref'], /lacks kek-ref/],
    ['no hub UID', (d) => delete d['hub-uid'], /lacks hub-uid/],
  ])('refuses %s', (_what, change, message) => {
    const broken = withData(secret, change);
    expect(() => parseDekSecret(broken, hub)).toThrow(DekSetError);
    expect(() => parseDekSecret(broken, hub)).toThrow(message);
  });

  it('refuses a Secret of another type', () => {
    expect(() => parseDekSecret({ ...secret, type: 'Opaque' }, hub)).toThrow(
      /not hdh.sovereign.eu\/wrapped-keys/,
    );
  });
});
