// The wrapped-DEK format shared by the builtin and PKCS#11 providers, both of which wrap with
// AES-256-GCM: `v1:` + base64(iv | ciphertext | tag), 12-byte IV, 16-byte tag. The prefix is a
// format version, so a future format can be told apart from this one without guessing.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyIdentity } from './identity.js';

export const FORMAT_V1 = 'v1';
export const KEK_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export interface GcmParts {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function encodeWrapped(parts: GcmParts): string {
  if (parts.iv.length !== IV_BYTES || parts.tag.length !== TAG_BYTES)
    throw new Error('invalid AES-GCM parts');
  return `${FORMAT_V1}:${Buffer.concat([parts.iv, parts.ciphertext, parts.tag]).toString('base64')}`;
}

/** Splits a wrapped DEK; throws an Error naming what is wrong (never echoing the value). */
export function decodeWrapped(wrapped: string): GcmParts {
  const sep = wrapped.indexOf(':');
  const format = sep < 0 ? '' : wrapped.slice(0, sep);
  if (format !== FORMAT_V1) throw new Error(`unknown wrapped-key format (expected ${FORMAT_V1}:)`);
  const body = wrapped.slice(sep + 1);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('wrapped key is not base64');
  const raw = Buffer.from(body, 'base64');
  if (raw.length <= IV_BYTES + TAG_BYTES) throw new Error('wrapped key is too short');
  return {
    iv: raw.subarray(0, IV_BYTES),
    ciphertext: raw.subarray(IV_BYTES, raw.length - TAG_BYTES),
    tag: raw.subarray(raw.length - TAG_BYTES),
  };
}

/**
 * Additional authenticated data binding a wrapped DEK to its hub's key identity (and so to the
 * hub's UID): a wrapped value copied to another hub does not unwrap there, even under the
 * same KEK.
 */
export function wrapAad(identity: KeyIdentity): Buffer {
  return Buffer.from(`hdh.sovereign.eu/dek\u0000${identity.name}`, 'utf8');
}

/** AES-256-GCM with a key held in memory (the builtin provider). */
export function sealWithKey(kek: Buffer, aad: Buffer, plaintext: Buffer): string {
  if (kek.length !== KEK_BYTES) throw new Error('key-encryption key must be 256 bits');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return encodeWrapped({ iv, ciphertext, tag: cipher.getAuthTag() });
}

/** Inverse of sealWithKey; throws when the value is malformed or does not authenticate. */
export function openWithKey(kek: Buffer, aad: Buffer, wrapped: string): Buffer {
  if (kek.length !== KEK_BYTES) throw new Error('key-encryption key must be 256 bits');
  const { iv, ciphertext, tag } = decodeWrapped(wrapped);
  const decipher = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // node:crypto's message ("Unsupported state or unable to authenticate data") says the same.
    throw new Error('wrapped key does not authenticate under this key-encryption key');
  }
}
