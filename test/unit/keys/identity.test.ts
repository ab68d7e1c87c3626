import { createHash } from 'node:crypto';
import {
  hubRefOf,
  identityNamedBy,
  keyIdentity,
  legacyKeyIdentity,
  parseKeyName,
  uidInKeyRef,
  type HubRef,
} from '../../../src/keys/identity.js';
import { ownerRecordName } from '../../../src/keys/owner-record.js';

const hub = { namespace: 'research', name: 'oncology', uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c' };
// A Secret name: a DNS-1123 subdomain of at most 253 characters.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// A Transit key name, as the engine's paths accept it (framework.GenericNameRegex).
const TRANSIT_NAME = /^\w(([\w.-]+)?\w)?$/;

describe('keyIdentity', () => {
  it('names the key after the namespace, the name and the UID, separated by dots', () => {
    const id = keyIdentity(hub);
    expect(id.name).toBe('hdh.research.oncology.0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c');
    // CKA_ID: SHA-256 of the name, so it is as injective as the name.
    expect(id.id).toEqual(createHash('sha256').update(id.name).digest());
    expect(id).toMatchObject({ hub, scheme: 'current' });
  });

  it('keeps the legacy identity of keys made before, which is ambiguous at hyphens', () => {
    const old = legacyKeyIdentity(hub);
    expect(old).toMatchObject({
      name: 'hdh-research-oncology-0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c',
      scheme: 'legacy',
    });
    expect(old.id.toString('hex')).toBe('0f8b6a523c1d4e7a9b2f5d6e7f8a9b0c');
    // The ambiguity the current scheme removes: namespace ten-a + hub x, namespace ten + hub a-x.
    const a = { namespace: 'ten-a', name: 'x', uid: hub.uid };
    const b = { namespace: 'ten', name: 'a-x', uid: hub.uid };
    expect(legacyKeyIdentity(a).name).toBe(legacyKeyIdentity(b).name);
    expect(keyIdentity(a).name).not.toBe(keyIdentity(b).name);
    expect(keyIdentity(a).id.equals(keyIdentity(b).id)).toBe(false);
  });

  it('gives a recreated hub (same name, new UID) a different identity', () => {
    const again = keyIdentity({ ...hub, uid: '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' });
    expect(again.name).not.toBe(keyIdentity(hub).name);
    expect(again.id.equals(keyIdentity(hub).id)).toBe(false);
  });

  it('is a pure function', () => {
    expect(keyIdentity(hub)).toEqual(keyIdentity({ ...hub }));
  });

  it('refuses a hub without a UID assigned by the API server', () => {
    expect(() => keyIdentity({ ...hub, uid: '' })).toThrow(/no valid metadata.uid/);
    expect(() => keyIdentity({ ...hub, uid: 'not-a-uuid' })).toThrow(/no valid metadata.uid/);
    expect(() => legacyKeyIdentity({ ...hub, uid: 'not-a-uuid' })).toThrow(/no valid metadata.uid/);
  });

  it('refuses names that are not DNS labels', () => {
    expect(() => keyIdentity({ ...hub, name: 'Onco' })).toThrow(/name "Onco" is not a DNS-1123 label/);
    expect(() => keyIdentity({ ...hub, namespace: 'a.b' })).toThrow(/namespace/);
    expect(() => keyIdentity({ ...hub, name: 'a.b' })).toThrow(/name/);
    expect(() => keyIdentity({ ...hub, namespace: 'n'.repeat(64) })).toThrow(/namespace/);
  });

  it('fits a Secret name and a Transit key name even for the longest namespace and hub name', () => {
    const id = keyIdentity({ namespace: 'n'.repeat(63), name: 'h'.repeat(52), uid: hub.uid });
    expect(id.name.length).toBeLessThanOrEqual(253);
    expect(id.name).toMatch(DNS_SUBDOMAIN);
    expect(id.name).toMatch(TRANSIT_NAME);
  });
});

describe('parseKeyName', () => {
  it('reads the hub back from a current name, and nothing from anything else', () => {
    expect(parseKeyName(keyIdentity(hub).name)).toEqual(hub);
    expect(parseKeyName(legacyKeyIdentity(hub).name)).toBeUndefined();
    expect(parseKeyName(`hdh.a.b.c.${hub.uid}`)).toBeUndefined();
    expect(parseKeyName(`hdx.a.b.${hub.uid}`)).toBeUndefined();
    expect(parseKeyName(`hdh.A.b.${hub.uid}`)).toBeUndefined();
    expect(parseKeyName('hdh.a.b.not-a-uid')).toBeUndefined();
  });
});

describe('identityNamedBy and uidInKeyRef', () => {
  const uid = '7c2d9e41-8a5b-4f3c-b6d1-2e9f0a8b7c6d';
  const earlier = { ...hub, uid };
  const refs = (name: string) => [
    `secret/hdh-system/${name}`,
    `pkcs11:token=hdh;object=${name};type=secret-key`,
    `https://bao.example:8200/v1/transit/keys/${name}`,
  ];

  it('finds the identity (and UID) of this namespace and name that every provider reference names', () => {
    for (const id of [keyIdentity(earlier), legacyKeyIdentity(earlier)]) {
      for (const ref of refs(id.name)) {
        expect(uidInKeyRef(ref, hub)).toBe(uid);
        expect(identityNamedBy(ref, earlier)).toEqual(id);
      }
    }
  });

  it('finds none for another namespace or hub, a malformed UID, or part of a name', () => {
    const other = keyIdentity({ namespace: 'research', name: 'genomics', uid });
    const split = keyIdentity({ namespace: 'research-oncology', name: 'x', uid });
    for (const ref of [...refs(other.name), ...refs(split.name)]) {
      expect(uidInKeyRef(ref, hub)).toBeUndefined();
      expect(identityNamedBy(ref, earlier)).toBeUndefined();
    }
    expect(uidInKeyRef('secret/hdh-system/hdh-research-oncology-not-a-uid', hub)).toBeUndefined();
    expect(identityNamedBy(`secret/hdh-system/x${keyIdentity(earlier).name}`, earlier)).toBeUndefined();
  });
});

describe('hubRefOf', () => {
  it('reads namespace, name and UID from metadata', () => {
    expect(hubRefOf({ metadata: { ...hub, generation: 2 } as never })).toEqual(hub);
  });
  it('refuses an object not yet stored', () => {
    expect(() => hubRefOf({ metadata: { namespace: 'research', name: 'oncology' } })).toThrow(/uid/);
  });
});

// Property: over thousands of generated hubs (the whole legal alphabet, hyphens where they may
// stand, lengths up to the limits: namespaces 63, hub names 52 as the CRD allows), no two distinct
// (namespace, name, uid) triples share a builtin Secret name, a PKCS#11 CKA_LABEL, a PKCS#11
// CKA_ID, a Transit key name or an owner record name — across both schemes — and current names
// parse back to their triple.
describe('key identity is injective (property)', () => {
  // xorshift32: deterministic, so a failure reproduces with the printed seed.
  const rng = (seed: number) => {
    let x = seed >>> 0 || 1;
    return () => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x / 0x1_0000_0000;
    };
  };
  const seed = 0x5eed_1d;
  const next = rng(seed);
  const int = (n: number) => Math.floor(next() * n);
  const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // Few letters and many hyphens make collisions of a weak scheme likely.
  const SMALL = 'ab-';
  const label = (max: number): string => {
    const alphabet = int(2) ? ALNUM : SMALL;
    const length = int(4) === 0 ? max : 1 + int(Math.min(max, int(2) ? 6 : max));
    let s = '';
    for (let i = 0; i < length; i++) {
      const edge = i === 0 || i === length - 1;
      let c = alphabet[int(alphabet.length)]!;
      if (edge && c === '-') c = 'a';
      s += c;
    }
    return s;
  };
  const uids = Array.from({ length: 8 }, () =>
    [8, 4, 4, 4, 12]
      .map((n) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join(''))
      .join('-'),
  );
  const hubs: HubRef[] = [];
  for (let i = 0; i < 6000; i++) {
    // A few UIDs shared among many hubs: the namespace/name split must tell them apart.
    hubs.push({ namespace: label(63), name: label(52), uid: uids[int(uids.length)]! });
  }
  // The pairs the old scheme confused, explicitly.
  for (const uid of uids) {
    hubs.push({ namespace: 'ten-a', name: 'x', uid }, { namespace: 'ten', name: 'a-x', uid });
    hubs.push({ namespace: 'a', name: 'b-c-d', uid }, { namespace: 'a-b', name: 'c-d', uid });
  }
  const triple = (h: HubRef) => `${h.namespace}/${h.name}/${h.uid}`;

  it(`maps distinct triples to distinct names and CKA_IDs, both schemes together (seed ${seed})`, () => {
    const distinct = new Map(hubs.map((h) => [triple(h), h]));
    expect(distinct.size).toBeGreaterThan(5000);
    const seen = {
      name: new Map<string, string>(),
      id: new Map<string, string>(),
      record: new Map<string, string>(),
    };
    const claim = (map: Map<string, string>, key: string, owner: string) => {
      const before = map.get(key);
      if (before !== undefined && before !== owner) throw new Error(`${before} and ${owner} share ${key}`);
      map.set(key, owner);
    };
    let legacyCollisions = 0;
    const legacyNames = new Map<string, string>();
    for (const [t, h] of distinct) {
      const current = keyIdentity(h);
      // Builtin Secret name, CKA_LABEL and Transit key name are all the identity's name.
      claim(seen.name, current.name, t);
      claim(seen.id, current.id.toString('hex'), t);
      claim(seen.record, ownerRecordName(h), t);
      expect(current.name).toMatch(DNS_SUBDOMAIN);
      expect(current.name).toMatch(TRANSIT_NAME);
      expect(current.name.length).toBeLessThanOrEqual(253);
      expect(ownerRecordName(h)).toMatch(DNS_SUBDOMAIN);
      expect(parseKeyName(current.name)).toEqual(h);
      // A legacy name never equals a current one (it has no dot), nor a legacy CKA_ID a current one.
      const legacy = legacyKeyIdentity(h);
      expect(legacy.name).not.toContain('.');
      expect(seen.name.has(legacy.name)).toBe(false);
      expect(legacy.id).toHaveLength(16);
      const other = legacyNames.get(legacy.name);
      if (other !== undefined && other !== t) legacyCollisions++;
      legacyNames.set(legacy.name, t);
    }
    // The generator does produce the collisions the legacy scheme suffers (it can fail).
    expect(legacyCollisions).toBeGreaterThan(0);
  });
});
