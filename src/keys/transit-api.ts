// The Transit engine's API as the provider uses it, without I/O: the requests it sends, the
// ciphertexts and key states it reads, and the errors its answers map to.
import { KeyError, ProviderUnavailableError, UnwrapError } from './provider.js';

export const TRANSIT_KEY_TYPE = 'aes256-gcm96';

/** One HTTP request to the engine, built without I/O so its shape is testable. */
export interface TransitRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path below the server's address, starting with /v1/. */
  path: string;
  body?: Record<string, unknown>;
}

/** What the engine says about a key (GET <mount>/keys/<name>); never key material. */
export interface TransitKeyState {
  type: string;
  exportable: boolean;
  allowPlaintextBackup: boolean;
  deletionAllowed: boolean;
  versions: number[];
  latestVersion: number;
}

/** The requests the provider makes, by operation. */
export function transitRequests(mount: string, name: string) {
  const key = encodeURIComponent(name);
  const base = `/v1/${mount}`;
  return {
    read: (): TransitRequest => ({ method: 'GET', path: `${base}/keys/${key}` }),
    // exportable and allow_plaintext_backup cannot be turned off once on, so they are sent
    // explicitly false rather than left to the engine's defaults.
    create: (): TransitRequest => ({
      method: 'POST',
      path: `${base}/keys/${key}`,
      body: { type: TRANSIT_KEY_TYPE, exportable: false, allow_plaintext_backup: false },
    }),
    encrypt: (plaintext: Buffer): TransitRequest => ({
      method: 'POST',
      path: `${base}/encrypt/${key}`,
      body: { plaintext: plaintext.toString('base64') },
    }),
    decrypt: (ciphertext: string): TransitRequest => ({
      method: 'POST',
      path: `${base}/decrypt/${key}`,
      body: { ciphertext },
    }),
    rewrap: (ciphertext: string): TransitRequest => ({
      method: 'POST',
      path: `${base}/rewrap/${key}`,
      body: { ciphertext },
    }),
    rotate: (): TransitRequest => ({ method: 'POST', path: `${base}/keys/${key}/rotate` }),
    allowDeletion: (): TransitRequest => ({
      method: 'POST',
      path: `${base}/keys/${key}/config`,
      body: { deletion_allowed: true },
    }),
    delete: (): TransitRequest => ({ method: 'DELETE', path: `${base}/keys/${key}` }),
  };
}

/** A Transit ciphertext as the engine makes it: `vault:v<version>:<base64>`. */
const CIPHERTEXT = /^vault:v([1-9][0-9]*):[A-Za-z0-9+/]+={0,2}$/;

/** The KEK version a wrapped DEK needs; throws when it is not a Transit ciphertext. */
export function ciphertextVersion(wrapped: string): number {
  const m = CIPHERTEXT.exec(wrapped);
  if (!m) throw new Error('not a Transit ciphertext (expected vault:v<version>:<base64>)');
  return Number(m[1]);
}

/** Whether `value` is a Transit ciphertext as the engine makes it. */
export function isCiphertext(value: string): boolean {
  return CIPHERTEXT.test(value);
}

/** The engine's answer about a key, or an error naming what is off. */
export function parseKeyState(data: unknown): TransitKeyState {
  const d = (data ?? {}) as Record<string, unknown>;
  const keys = d.keys && typeof d.keys === 'object' ? Object.keys(d.keys) : [];
  const versions = keys
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);
  return {
    type: typeof d.type === 'string' ? d.type : '',
    exportable: d.exportable === true,
    allowPlaintextBackup: d.allow_plaintext_backup === true,
    deletionAllowed: d.deletion_allowed === true,
    versions,
    latestVersion: typeof d.latest_version === 'number' ? d.latest_version : (versions.at(-1) ?? 0),
  };
}

/** Why a key found under the hub's identity is not one the operator would have made, if it is not. */
export function keyProblems(state: TransitKeyState): string[] {
  return [
    state.type !== TRANSIT_KEY_TYPE ? `of type ${state.type || 'unknown'}, not ${TRANSIT_KEY_TYPE}` : '',
    state.exportable ? 'exportable' : '',
    state.allowPlaintextBackup ? 'allowed a plaintext backup' : '',
    state.versions.length === 0 ? 'without versions' : '',
  ].filter(Boolean);
}

/** An HTTP answer of the engine, reduced to what error mapping needs. */
export interface TransitAnswer {
  status: number;
  /** The engine's `errors` list (messages only). */
  errors: string[];
}

/**
 * The error for a failed request. `what` says what was attempted ("create the key"), `path` is
 * the engine path (no address, no token), `tokenSource` where the token comes from.
 */
export function transitError(
  answer: TransitAnswer,
  what: string,
  path: string,
  tokenSource: string,
  decrypting = false,
): KeyError {
  const said = answer.errors.length ? `: ${answer.errors.join('; ')}` : '';
  const enginePath = path.replace(/^\/v1\//, '');
  switch (answer.status) {
    case 400:
      // For decrypt and rewrap, 400 is the engine's answer to a ciphertext that does not
      // authenticate under the key (or whose version was trimmed): the wrapped key is unusable.
      return decrypting
        ? new UnwrapError(`the Transit engine refused to ${what} (HTTP 400${said})`, 'transit')
        : new ProviderUnavailableError(`the Transit engine refused to ${what} (HTTP 400${said})`, 'transit');
    case 401:
    case 403:
      return new ProviderUnavailableError(
        `permission denied to ${what} (HTTP ${answer.status}${said}): the token in ${tokenSource} is invalid or expired, or lacks a policy for ${enginePath}`,
        'transit',
      );
    case 404:
      return new ProviderUnavailableError(
        `cannot ${what}: ${enginePath} not found (HTTP 404${said}); check that a Transit engine is mounted at spec.encryption.transit.mount`,
        'transit',
      );
    case 429:
      return new ProviderUnavailableError(
        `cannot ${what}: the server is rate limiting (HTTP 429)`,
        'transit',
      );
    case 503:
      return new ProviderUnavailableError(
        `cannot ${what}: the server is sealed or in standby (HTTP 503${said}); unseal it`,
        'transit',
      );
    default:
      return new ProviderUnavailableError(`cannot ${what}: HTTP ${answer.status}${said}`, 'transit');
  }
}
