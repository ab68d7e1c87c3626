// What every key provider offers. A provider holds one key-encryption key (KEK) per hub and uses
// it to wrap and unwrap the hub's data-encryption keys (DEKs); the KEK itself never leaves it
// (except for builtin, whose "provider" is a Secret).
//
// Three outcomes are kept apart on purpose, because the hub reconciler acts differently on each:
// the key exists, the key does not exist (the provider said so), or nobody knows (the provider
// could not be asked). Only the second may lead to creating a key, and only for a hub that has
// no wrapped keys yet.
import type { KeyCustody } from './custody.js';
import type { KeyIdentity } from './identity.js';

export type ProviderName = 'builtin' | 'pkcs11' | 'transit';

/** A KEK as the provider reports it. Never contains key material. */
export interface KeyInfo {
  /** Provider-specific reference to the KEK, safe for status (`status.encryption.keyRef`). */
  ref: string;
  /** KEK versions, for providers that version KEKs (Transit); absent otherwise. */
  versions?: number[];
}

/** The provider itself, for status, Events and logs. */
export interface ProviderDescription {
  provider: ProviderName;
  /** Where the KEKs are held (a namespace, a token, a server); no secret. */
  reference: string;
}

export interface KeyProvider {
  /**
   * The reference a KEK of this identity has (or would have) at this provider, as find reports
   * it; computed from the settings alone, without asking the provider.
   */
  keyRef?(identity: KeyIdentity): string;
  /** Asks the provider whether the KEK exists. Undefined means the provider said it does not. */
  find(identity: KeyIdentity): Promise<KeyInfo | undefined>;
  /** Creates the KEK. Refuses (KeyExistsError) if it exists: a KEK is never replaced. */
  create(identity: KeyIdentity): Promise<KeyInfo>;
  /** Wraps a plaintext DEK with the hub's KEK; the result is a versioned string. */
  wrap(identity: KeyIdentity, plaintextDek: Buffer): Promise<string>;
  /** Unwraps a DEK. The caller owns the returned buffer and should zero it when done. */
  unwrap(identity: KeyIdentity, wrapped: string): Promise<Buffer>;
  /** Adds a KEK version (providers that version KEKs); older versions still unwrap. */
  rotate?(identity: KeyIdentity): Promise<KeyInfo>;
  /**
   * Re-encrypts a wrapped DEK under the KEK's latest version without revealing it (providers
   * that version KEKs). The DEK itself does not change.
   */
  rewrap?(identity: KeyIdentity, wrapped: string): Promise<string>;
  /**
   * The KEK version a wrapped DEK was made with (providers that version KEKs). Reads the wrapped
   * value only; throws UnwrapError when it is not in the provider's format.
   */
  kekVersionOf?(wrapped: string): number;
  /**
   * Reads, without changing anything, the attributes that say whether the KEK can leave the
   * provider, and judges them (custody.ts). Throws KeyMissingError without a key object.
   */
  custody?(identity: KeyIdentity): Promise<KeyCustody>;
  /** Destroys the KEK (crypto-shredding). Returns false when it was already gone. */
  destroy(identity: KeyIdentity): Promise<boolean>;
  describe(): ProviderDescription;
  /** Releases connections or sessions; the provider may not be used afterwards. */
  close?(): Promise<void>;
}

/** Base of the errors providers throw; messages name keys and fixes, never secrets. */
export class KeyError extends Error {
  constructor(
    message: string,
    readonly provider: ProviderName,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The provider says the hub's KEK does not exist. Never a reason to create one silently. */
export class KeyMissingError extends KeyError {
  constructor(
    readonly identity: string,
    provider: ProviderName,
    where: string,
  ) {
    super(`key-encryption key ${identity} does not exist in ${where}`, provider);
  }
}

/** create() found the KEK already there; the existing key is kept. */
export class KeyExistsError extends KeyError {
  constructor(
    readonly identity: string,
    provider: ProviderName,
    where: string,
  ) {
    super(`key-encryption key ${identity} already exists in ${where}; it is never replaced`, provider);
  }
}

/**
 * The provider could not be asked: unreachable, module or token missing, PIN refused,
 * permission denied. Nothing may be concluded about the key; the hub fails closed.
 */
export class ProviderUnavailableError extends KeyError {}

/**
 * An object exists under the KEK's identity but is not a KEK the operator would have made
 * (wrong type or size, extractable, malformed). It is neither used nor replaced.
 */
export class KeyInvalidError extends KeyError {}

/**
 * A key object exists under the identity, but the operator's own record of its owner (builtin:
 * the KEK Secret's labels) names another hub. It is neither used, granted nor destroyed.
 */
export class KeyOwnerError extends KeyInvalidError {}

/**
 * A wrapped DEK is malformed or does not authenticate under the hub's KEK (tampered, or wrapped
 * by another key). The DEK is unusable with this KEK; nothing is re-created.
 */
export class UnwrapError extends KeyError {}

/** True for errors that say nothing about the key, only that the provider could not answer. */
export function isUnavailable(e: unknown): e is ProviderUnavailableError {
  return e instanceof ProviderUnavailableError;
}
