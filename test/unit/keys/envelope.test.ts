// The AES-256-GCM wrap format of the builtin and PKCS#11 providers, with keys in memory.
import { randomBytes } from 'node:crypto';
import {
  decodeWrapped,
  encodeWrapped,
  openWithKey,
  sealWithKey,
  wrapAad,
} from '../../../src/keys/envelope.js';
import { keyIdentity } from '../../../src/keys/identity.js';

const identity = keyIdentity({
  namespace: 'research',
  name: 'oncology',
  uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c',
});
const other = keyIdentity({
  namespace: 'research',
  name: 'oncology',
  uid: '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
});

describe('sealWithKey / openWithKey', () => {
  const kek = randomBytes(32);
  const dek = randomBytes(32);

  it('round-trips a DEK in the v1 format: iv (12) | ciphertext (32) | tag (16)', () => {
    const wrapped = sealWithKey(kek, wrapAad(identity), dek);
    expect(wrapped).toMatch(/^v1:[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(wrapped.slice(3), 'base64')).toHaveLength(12 + 32 + 16);
    expect(openWithKey(kek, wrapAad(identity), wrapped).equals(dek)).toBe(true);
  });

  it('uses a fresh IV every time', () => {
    const a = sealWithKey(kek, wrapAad(identity), dek);
    const b = sealWithKey(kek, wrapAad(identity), dek);
    expect(a).not.toBe(b);
    expect(decodeWrapped(a).iv.equals(decodeWrapped(b).iv)).toBe(false);
  });

  it('never contains the DEK or the KEK in any encoding', () => {
    const wrapped = sealWithKey(kek, wrapAad(identity), dek);
    for (const secret of [kek, dek]) {
      expect(wrapped).not.toContain(secret.toString('base64'));
      expect(wrapped).not.toContain(secret.toString('hex'));
    }
  });

  it('refuses another KEK, another hub (AAD) and any tampering', () => {
    const wrapped = sealWithKey(kek, wrapAad(identity), dek);
    expect(() => openWithKey(randomBytes(32), wrapAad(identity), wrapped)).toThrow(/does not authenticate/);
    expect(() => openWithKey(kek, wrapAad(other), wrapped)).toThrow(/does not authenticate/);
    const parts = decodeWrapped(wrapped);
    const flipped = Buffer.from(parts.ciphertext);
    flipped[0] = flipped[0]! ^ 1;
    expect(() =>
      openWithKey(kek, wrapAad(identity), encodeWrapped({ ...parts, ciphertext: flipped })),
    ).toThrow(/does not authenticate/);
  });

  it('refuses keys that are not 256 bits', () => {
    expect(() => sealWithKey(randomBytes(16), wrapAad(identity), dek)).toThrow(/256 bits/);
  });

  it('says what is wrong with a malformed value without echoing it', () => {
    expect(() => decodeWrapped('v2:AAAA')).toThrow(/unknown wrapped-key format/);
    expect(() => decodeWrapped('no-format')).toThrow(/unknown wrapped-key format/);
    expect(() => decodeWrapped('v1:not base64!')).toThrow(/not base64/);
    expect(() => decodeWrapped('v1:AAAA')).toThrow(/too short/);
    try {
      decodeWrapped('v1:c2VjcmV0LXZhbHVl');
    } catch (e) {
      expect((e as Error).message).not.toContain('c2VjcmV0LXZhbHVl');
    }
  });
});
