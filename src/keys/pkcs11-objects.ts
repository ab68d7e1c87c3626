// The PKCS#11 objects and mechanisms the provider uses: AES-GCM parameters and what a token says
// about a key object.
import type * as Pkcs11 from 'pkcs11js';
import { IV_BYTES, TAG_BYTES } from './envelope.js';
import type { Binding, Handle } from './pkcs11-binding.js';

/** What the token says about a KEK object, for checks and tests. Never includes its value. */
export interface Pkcs11KeyAttributes {
  extractable: boolean;
  sensitive: boolean;
  neverExtractable: boolean;
  alwaysSensitive: boolean;
  token: boolean;
  aes: boolean;
  valueLength: number;
  id: Buffer;
}

/** CKM_AES_GCM with the envelope's IV and tag sizes, authenticating `aad`. */
export function gcm(pk: Binding, iv: Buffer, aad: Buffer): Pkcs11.Mechanism {
  const parameter: Pkcs11.AesGCM = {
    type: pk.CK_PARAMS_AES_GCM,
    iv,
    aad,
    ivBits: IV_BYTES * 8,
    tagBits: TAG_BYTES * 8,
  };
  return { mechanism: pk.CKM_AES_GCM, parameter };
}

export function attributes(lib: Pkcs11.PKCS11, pk: Binding, s: Handle, key: Handle): Pkcs11KeyAttributes {
  const types = [
    pk.CKA_EXTRACTABLE,
    pk.CKA_SENSITIVE,
    pk.CKA_NEVER_EXTRACTABLE,
    pk.CKA_ALWAYS_SENSITIVE,
    pk.CKA_TOKEN,
    pk.CKA_KEY_TYPE,
    pk.CKA_VALUE_LEN,
    pk.CKA_ID,
  ];
  const values = new Map(
    lib
      .C_GetAttributeValue(
        s,
        key,
        types.map((type) => ({ type })),
      )
      .map((a) => [a.type, a.value]),
  );
  const get = (type: number) => values.get(type) ?? Buffer.alloc(0);
  const bool = (type: number) => get(type)[0] === 1;
  return {
    extractable: bool(pk.CKA_EXTRACTABLE),
    sensitive: bool(pk.CKA_SENSITIVE),
    neverExtractable: bool(pk.CKA_NEVER_EXTRACTABLE),
    alwaysSensitive: bool(pk.CKA_ALWAYS_SENSITIVE),
    token: bool(pk.CKA_TOKEN),
    aes: ulong(get(pk.CKA_KEY_TYPE)) === pk.CKK_AES,
    valueLength: ulong(get(pk.CKA_VALUE_LEN)),
    id: Buffer.from(get(pk.CKA_ID)),
  };
}

// CK_ULONG in host byte order: 8 bytes on 64-bit Linux, little-endian on x86-64 and arm64.
function ulong(b: Buffer): number {
  if (b.length >= 8) return Number(b.readBigUInt64LE(0));
  if (b.length >= 4) return b.readUInt32LE(0);
  return -1;
}
