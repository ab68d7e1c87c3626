// The report's integrity: the SHA-256 of its canonical JSON (without the integrity block), and
// optionally an Ed25519 signature over the same bytes. A signature only says who signed: checked
// with the key embedded in the report, it proves nothing against someone who edits the report
// and signs it again with a key of their own, so a verifier names the key it expects.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, CANONICALIZATION, sha256Hex } from './canonical-json.js';
import type { ComplianceReport, Integrity } from './model.js';
import { jsonVisible } from './visible.js';

export interface SealOptions {
  /** An Ed25519 private key, PEM (PKCS#8), unencrypted. */
  signingKeyPem?: string;
}

export interface VerifyOptions {
  /** The Ed25519 public key (SPKI PEM) the report must be signed with. */
  publicKeyPem?: string;
}

export interface Verification {
  /** The digest, the layout and, when there is one or one is expected, the signature hold. */
  ok: boolean;
  digestOk: boolean;
  /** Absent when the report is not signed and no key is expected. */
  signatureOk?: boolean;
  reasons: string[];
}

/** The bytes the digest and the signature cover: the canonical JSON of the report less integrity. */
export function signedBytes(report: ComplianceReport): Buffer {
  const { integrity: _integrity, ...content } = report;
  return Buffer.from(canonicalJson(content), 'utf8');
}

function signingKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new Error(
      `the signing key is not an unencrypted private key in PEM (${(e as Error).message}); ` +
        'make one with: openssl genpkey -algorithm ed25519 -out key.pem',
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `the signing key is a ${key.asymmetricKeyType ?? 'symmetric'} key; reports are signed with Ed25519 only ` +
        '(openssl genpkey -algorithm ed25519 -out key.pem)',
    );
  }
  return key;
}

/**
 * Options come as an object only: a bare string read as options would name no key, and a report
 * meant to be signed would come out unsigned (or a verification expecting a key would expect none).
 */
function optionsObject<T extends object>(options: T, fn: string): T {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${fn} takes an options object, not a ${options === null ? 'null' : typeof options}`);
  }
  return options;
}

/**
 * The report with its integrity block: the digest and, with a signing key, the signature and the
 * public key that checks it. A report sealed before is sealed again from its content.
 */
export function sealReport(report: ComplianceReport, options: SealOptions = {}): ComplianceReport {
  const { signingKeyPem } = optionsObject(options, 'sealReport');
  const { integrity: _old, ...content } = report;
  const bytes = signedBytes(content);
  const integrity: Integrity = {
    canonicalization: CANONICALIZATION,
    algorithm: 'sha256',
    digest: sha256Hex(bytes.toString('utf8')),
  };
  if (signingKeyPem !== undefined) {
    const key = signingKey(signingKeyPem);
    integrity.signature = {
      algorithm: 'ed25519',
      publicKey: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
      value: sign(null, bytes, key).toString('base64'),
    };
  }
  return { ...content, integrity };
}

/**
 * The report as written to a file: the sealed report, indented, with every hidden character of a
 * string (C1 controls, bidirectional overrides, zero-width) as a \u escape, so that the file shows
 * the same on a terminal as in an editor. Keys follow the canonical order, except integer-like
 * keys, which a JavaScript object puts first; verifyReport checks a file against this very
 * function, so that order is part of the layout. Neither changes a value: the digest, over the
 * canonical JSON of the values, is the same.
 */
export function renderJson(report: ComplianceReport): string {
  return `${jsonVisible(JSON.stringify(JSON.parse(canonicalJson(report)), null, 2))}\n`;
}

function publicKey(pem: string, whose: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${whose} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not an Ed25519 public key`);
  }
  return key;
}

const INTEGRITY_KEYS = ['canonicalization', 'algorithm', 'digest', 'signature'];
const SIGNATURE_KEYS = ['algorithm', 'publicKey', 'value'];

const spkiDer = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });

function checkSignature(
  integrity: Integrity,
  bytes: Buffer,
  expected: string | undefined,
  reasons: string[],
): boolean | undefined {
  const signature = integrity.signature;
  if (!signature) {
    if (expected === undefined) return undefined;
    reasons.push('the report is not signed, and a signature by the given public key was expected');
    return false;
  }
  try {
    if (signature.algorithm !== 'ed25519')
      throw new Error(`signature algorithm ${String(signature.algorithm)}`);
    // Both are held to the one form sealReport writes: base64 and PEM decoders skip some bits and
    // characters, which would leave bytes of the file free to change.
    const embedded = publicKey(String(signature.publicKey), 'the embedded public key');
    if (embedded.export({ type: 'spki', format: 'pem' }).toString() !== signature.publicKey) {
      throw new Error('the embedded public key is not written as sealReport writes it');
    }
    const value = Buffer.from(String(signature.value), 'base64');
    if (value.toString('base64') !== signature.value)
      throw new Error('the signature is not canonical base64');
    if (
      expected !== undefined &&
      !spkiDer(publicKey(expected, 'the given public key')).equals(spkiDer(embedded))
    ) {
      reasons.push('the report is signed with another key than the given public key');
      return false;
    }
    if (!verify(null, bytes, embedded, value)) {
      reasons.push('the signature does not match the report');
      return false;
    }
    return true;
  } catch (e) {
    reasons.push(`the signature cannot be checked: ${(e as Error).message}`);
    return false;
  }
}

/**
 * Checks a report file: its digest against its content, its signature (with the embedded key, or
 * with the given one, which the embedded key must then be), and its layout against the one the
 * report is written in, so that no byte of the file, whitespace included, can change unnoticed.
 */
export function verifyReport(jsonText: string, options: VerifyOptions = {}): Verification {
  const { publicKeyPem } = optionsObject(options, 'verifyReport');
  const reasons: string[] = [];
  let report: ComplianceReport;
  try {
    report = JSON.parse(jsonText) as ComplianceReport;
  } catch (e) {
    return { ok: false, digestOk: false, reasons: [`the report is not JSON: ${(e as Error).message}`] };
  }
  const integrity = report && typeof report === 'object' ? report.integrity : undefined;
  if (!integrity || typeof integrity !== 'object') {
    return { ok: false, digestOk: false, reasons: ['the report has no integrity block'] };
  }
  let bytes: Buffer;
  let layoutOk: boolean;
  try {
    bytes = signedBytes(report);
    layoutOk = jsonText === renderJson(report) || jsonText === canonicalJson(report);
  } catch (e) {
    return {
      ok: false,
      digestOk: false,
      reasons: [`the report cannot be canonicalized: ${(e as Error).message}`],
    };
  }
  // The block is not covered by the digest: anything in it the verifier would not read (a
  // misspelt `signature`, say) is refused rather than ignored.
  const unknown = [
    ...Object.keys(integrity).filter((k) => !INTEGRITY_KEYS.includes(k)),
    ...Object.keys(integrity.signature ?? {}).filter((k) => !SIGNATURE_KEYS.includes(k)),
  ];
  if (unknown.length) reasons.push(`the integrity block has unknown fields: ${unknown.join(', ')}`);
  // A signature present is an object: `null` (or anything else) is refused, not read as unsigned.
  const signature = (integrity as { signature?: unknown }).signature;
  if (
    signature !== undefined &&
    (typeof signature !== 'object' || signature === null || Array.isArray(signature))
  ) {
    reasons.push('the integrity block has a signature that is not an object');
  }
  if (integrity.canonicalization !== CANONICALIZATION || integrity.algorithm !== 'sha256') {
    reasons.push(
      `unknown canonicalization or digest algorithm: ${integrity.canonicalization}, ${integrity.algorithm}`,
    );
  }
  const known = reasons.length === 0;
  const digestOk = known && sha256Hex(bytes.toString('utf8')) === integrity.digest;
  if (known && !digestOk) reasons.push('the digest does not match the report: its content was changed');
  if (!layoutOk) {
    reasons.push('the file is not laid out as the report was written (whitespace or key order changed)');
  }
  const signatureOk = checkSignature(integrity, bytes, publicKeyPem, reasons);
  return {
    ok: digestOk && layoutOk && signatureOk !== false,
    digestOk,
    ...(signatureOk !== undefined ? { signatureOk } : {}),
    reasons,
  };
}
