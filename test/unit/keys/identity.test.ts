import { hubRefOf, keyIdentity, uidInKeyRef } from '../../../src/keys/identity.js';

const hub = { namespace: 'research', name: 'oncology', uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c' };

describe('keyIdentity', () => {
  it('names the key after the namespace, the name and the UID', () => {
    const id = keyIdentity(hub);
    expect(id.name).toBe('hdh-research-oncology-0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c');
    expect(id.id.toString('hex')).toBe('0f8b6a523c1d4e7a9b2f5d6e7f8a9b0c');
    expect(id.hub).toEqual(hub);
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
  });

  it('refuses names that are not DNS labels', () => {
    expect(() => keyIdentity({ ...hub, name: 'Onco' })).toThrow(/name "Onco" is not a DNS-1123 label/);
    expect(() => keyIdentity({ ...hub, namespace: 'a.b' })).toThrow(/namespace/);
  });

  it('fits a Secret name even for the longest namespace and hub name', () => {
    const id = keyIdentity({ namespace: 'n'.repeat(63), name: 'h'.repeat(52), uid: hub.uid });
    expect(id.name.length).toBeLessThanOrEqual(253);
    expect(id.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
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

describe('uidInKeyRef', () => {
  const uid = '7c2d9e41-8a5b-4f3c-b6d1-2e9f0a8b7c6d';
  it('finds the UID in every provider reference of the hub identity', () => {
    for (const ref of [
      `secret/hdh-system/hdh-research-oncology-${uid}`,
      `pkcs11:token=hdh;object=hdh-research-oncology-${uid};type=secret-key`,
      `https://bao.example:8200/v1/transit/keys/hdh-research-oncology-${uid}`,
    ]) {
      expect(uidInKeyRef(ref, hub)).toBe(uid);
    }
  });
  it('finds none for another hub or a malformed UID', () => {
    expect(uidInKeyRef(`secret/hdh-system/hdh-research-genomics-${uid}`, hub)).toBeUndefined();
    expect(uidInKeyRef('secret/hdh-system/hdh-research-oncology-not-a-uid', hub)).toBeUndefined();
  });
});
