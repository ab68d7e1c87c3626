// The PKCS#11 provider: each hub's KEK is an AES-256 secret-key object generated inside a token
// (an HSM, or SoftHSM2 in tests) as sensitive and non-extractable, so it never leaves the token.
// DEKs are wrapped by encrypting them on the token with CKM_AES_GCM.
//
// Sessions. The binding is synchronous, and every operation here runs start to finish without
// yielding to the event loop: open a session, log in, act, log out, close. Two reasons:
//  - PKCS#11 login state belongs to the whole process, not to a session; a session left logged
//    in would let a provider holding a wrong PIN (another hub naming the same token) act
//    unchallenged (C_Login answers CKR_USER_ALREADY_LOGGED_IN whatever the PIN). Logging in and
//    out within one synchronous call makes every operation prove its PIN.
//  - find-then-generate in create() cannot interleave with another create() of this process.
// The cost is a login per operation, which is cheap next to how rarely keys are used.
//
// The parts: pkcs11-binding.ts (the binding and the process-wide modules), pkcs11-login.ts (logins
// that never lock a PIN), pkcs11-objects.ts (mechanisms and key attributes), pkcs11-modules.ts and
// pkcs11-tokens.ts (which modules and tokens the platform allows).
import { randomBytes } from 'node:crypto';
import type * as Pkcs11 from 'pkcs11js';
import { pkcs11Custody, type KeyCustody } from './custody.js';
import { IV_BYTES, KEK_BYTES, TAG_BYTES, decodeWrapped, encodeWrapped, wrapAad } from './envelope.js';
import type { KeyIdentity } from './identity.js';
import type { KeyMetrics } from './metrics.js';
import { openPkcs11Module, pkcs11Unavailable, type Binding, type Handle } from './pkcs11-binding.js';
import { login, refusedPinEntry } from './pkcs11-login.js';
import { attributes, gcm, type Pkcs11KeyAttributes } from './pkcs11-objects.js';
import { ALLOWED_TOKENS_FLAG } from './pkcs11-tokens.js';
import {
  KeyError,
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  ProviderUnavailableError,
  UnwrapError,
  type KeyInfo,
  type KeyProvider,
  type ProviderDescription,
} from './provider.js';

export { finalizePkcs11Modules, pkcs11Module } from './pkcs11-binding.js';
export type { Pkcs11LoginResult } from './pkcs11-login.js';
export type { Pkcs11KeyAttributes } from './pkcs11-objects.js';

export interface Pkcs11ProviderOptions {
  /** Absolute path of the PKCS#11 module (shared library). */
  module: string;
  /** The modules the platform allows (--pkcs11-allowed-modules); any other is refused unopened. */
  allowedModules: readonly string[];
  /** Label of the token holding the KEKs. */
  tokenLabel: string;
  /**
   * The token labels the hub's namespace may use (--pkcs11-allowed-tokens); any other is refused
   * before the module is opened.
   */
  allowedTokens: readonly string[];
  /** When set, logins are counted (hdh_pkcs11_logins_total). */
  metrics?: KeyMetrics | undefined;
  /** The token's user PIN. Kept in a private field; never logged or put in a message. */
  pin: string;
}

export class Pkcs11KeyProvider implements KeyProvider {
  // ES private fields are invisible to JSON.stringify and util.inspect, so logging the provider
  // object cannot print the PIN.
  readonly #pin: string;
  readonly #pinEntry: string;
  private readonly module: string;
  private readonly allowedModules: readonly string[];
  private readonly tokenLabel: string;
  private readonly allowedTokens: readonly string[];
  private readonly metrics: KeyMetrics | undefined;

  constructor(options: Pkcs11ProviderOptions) {
    this.module = options.module;
    this.allowedModules = options.allowedModules;
    this.tokenLabel = options.tokenLabel;
    this.allowedTokens = options.allowedTokens ?? [];
    this.metrics = options.metrics;
    this.#pin = options.pin;
    this.#pinEntry = refusedPinEntry(options.module, options.tokenLabel, options.pin);
  }

  describe(): ProviderDescription {
    return { provider: 'pkcs11', reference: `token ${this.tokenLabel} (module ${this.module})` };
  }

  /** An RFC 7512 PKCS#11 URI naming the KEK object. */
  keyRef(identity: KeyIdentity): string {
    const enc = (s: string) => encodeURIComponent(s);
    return `pkcs11:token=${enc(this.tokenLabel)};object=${enc(identity.name)};type=secret-key`;
  }

  async find(identity: KeyIdentity): Promise<KeyInfo | undefined> {
    return this.session('find the key', (lib, pk, s) =>
      this.kek(lib, pk, s, identity, 'use') ? { ref: this.keyRef(identity) } : undefined,
    );
  }

  async create(identity: KeyIdentity): Promise<KeyInfo> {
    return this.session('create the key', (lib, pk, s) => {
      if (this.kek(lib, pk, s, identity, 'use'))
        throw new KeyExistsError(identity.name, 'pkcs11', this.where());
      lib.C_GenerateKey(s, { mechanism: pk.CKM_AES_KEY_GEN }, [
        { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
        { type: pk.CKA_KEY_TYPE, value: pk.CKK_AES },
        { type: pk.CKA_VALUE_LEN, value: KEK_BYTES },
        { type: pk.CKA_TOKEN, value: true },
        { type: pk.CKA_PRIVATE, value: true },
        { type: pk.CKA_SENSITIVE, value: true },
        { type: pk.CKA_EXTRACTABLE, value: false },
        // Encrypt/decrypt, not wrap/unwrap: DEKs are data the operator generates, not key
        // objects on the token. No other use is allowed.
        { type: pk.CKA_ENCRYPT, value: true },
        { type: pk.CKA_DECRYPT, value: true },
        { type: pk.CKA_WRAP, value: false },
        { type: pk.CKA_UNWRAP, value: false },
        { type: pk.CKA_SIGN, value: false },
        { type: pk.CKA_VERIFY, value: false },
        { type: pk.CKA_DERIVE, value: false },
        // Nobody can relabel the key or loosen its usage later.
        { type: pk.CKA_MODIFIABLE, value: false },
        { type: pk.CKA_LABEL, value: identity.name },
        { type: pk.CKA_ID, value: identity.id },
      ]);
      return { ref: this.keyRef(identity) };
    });
  }

  async wrap(identity: KeyIdentity, plaintextDek: Buffer): Promise<string> {
    return this.session('wrap a key', (lib, pk, s) => {
      const key = this.requireKek(lib, pk, s, identity);
      const iv = randomBytes(IV_BYTES);
      lib.C_EncryptInit(s, gcm(pk, iv, wrapAad(identity)), key);
      const out = lib.C_Encrypt(s, plaintextDek, Buffer.alloc(plaintextDek.length + TAG_BYTES));
      return encodeWrapped({
        iv,
        ciphertext: out.subarray(0, out.length - TAG_BYTES),
        tag: out.subarray(out.length - TAG_BYTES),
      });
    });
  }

  async unwrap(identity: KeyIdentity, wrapped: string): Promise<Buffer> {
    let parts: ReturnType<typeof decodeWrapped>;
    try {
      parts = decodeWrapped(wrapped);
    } catch (e) {
      throw new UnwrapError(`cannot unwrap a key of ${identity.name}: ${(e as Error).message}`, 'pkcs11');
    }
    return this.session('unwrap a key', (lib, pk, s) => {
      const key = this.requireKek(lib, pk, s, identity);
      const input = Buffer.concat([parts.ciphertext, parts.tag]);
      lib.C_DecryptInit(s, gcm(pk, parts.iv, wrapAad(identity)), key);
      try {
        return lib.C_Decrypt(s, input, Buffer.alloc(input.length));
      } catch (e) {
        // Tokens differ in how they report a failed GCM tag (SoftHSM2: CKR_GENERAL_ERROR).
        const failedTag = [
          pk.CKR_ENCRYPTED_DATA_INVALID,
          pk.CKR_ENCRYPTED_DATA_LEN_RANGE,
          pk.CKR_GENERAL_ERROR,
          pk.CKR_FUNCTION_FAILED,
        ];
        if (e instanceof pk.Pkcs11Error && failedTag.includes(e.code)) {
          throw new UnwrapError(
            `a wrapped key of ${identity.name} does not authenticate under its key-encryption key on token ${this.tokenLabel} (${e.message})`,
            'pkcs11',
          );
        }
        throw e;
      }
    });
  }

  async destroy(identity: KeyIdentity): Promise<boolean> {
    return this.session('destroy the key', (lib, pk, s) => {
      const kek = this.kek(lib, pk, s, identity, 'use');
      if (!kek) return false;
      lib.C_DestroyObject(s, kek.key);
      return true;
    });
  }

  /**
   * The token's view of the hub's KEK object, found as every use finds it but not judged for use
   * (an extractable key is read, not refused); undefined when there is none.
   */
  async keyAttributes(identity: KeyIdentity): Promise<Pkcs11KeyAttributes | undefined> {
    return this.session(
      'read key attributes',
      (lib, pk, s) => this.kek(lib, pk, s, identity, 'identity')?.attributes,
    );
  }

  /** The KEK's custody attributes as the token reports them. Throws KeyMissingError without a key. */
  async custody(identity: KeyIdentity): Promise<KeyCustody> {
    const a = await this.keyAttributes(identity);
    if (!a) throw new KeyMissingError(identity.name, 'pkcs11', this.where());
    return pkcs11Custody(a, this.tokenLabel);
  }

  private where(): string {
    return `PKCS#11 token ${this.tokenLabel}`;
  }

  private handles(lib: Pkcs11.PKCS11, pk: Binding, s: Handle, identity: KeyIdentity): Handle[] {
    lib.C_FindObjectsInit(s, [
      { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
      { type: pk.CKA_TOKEN, value: true },
      { type: pk.CKA_LABEL, value: identity.name },
    ]);
    try {
      return lib.C_FindObjects(s, 2);
    } finally {
      lib.C_FindObjectsFinal(s);
    }
  }

  /**
   * The hub's KEK: the one secret key object under the identity's label, with the identity's
   * CKA_ID (an object of another identity is not the hub's key); for `use`, also one the operator
   * would have made: AES-256, sensitive, not extractable. Undefined if absent.
   */
  private kek(
    lib: Pkcs11.PKCS11,
    pk: Binding,
    s: Handle,
    identity: KeyIdentity,
    check: 'identity' | 'use',
  ): { key: Handle; attributes: Pkcs11KeyAttributes } | undefined {
    const handles = this.handles(lib, pk, s, identity);
    const [key] = handles;
    if (key === undefined) return undefined;
    const what = `key object ${identity.name} on token ${this.tokenLabel}`;
    if (handles.length > 1) {
      // Choosing one could pick a key that wraps nothing; a person must decide.
      throw new KeyInvalidError(`more than one ${what}; the operator refuses to choose`, 'pkcs11');
    }
    const a = attributes(lib, pk, s, key);
    const use = check === 'use';
    const problems = [
      use && (!a.aes || a.valueLength !== KEK_BYTES) ? 'not an AES-256 key' : '',
      use && a.extractable ? 'extractable' : '',
      use && !a.sensitive ? 'not sensitive' : '',
      !a.id.equals(identity.id) ? `of a CKA_ID other than the key identity's` : '',
    ].filter(Boolean);
    if (problems.length > 0) {
      throw new KeyInvalidError(
        `${what} is ${problems.join(', ')}; it was not made by the operator`,
        'pkcs11',
      );
    }
    return { key, attributes: a };
  }

  private requireKek(lib: Pkcs11.PKCS11, pk: Binding, s: Handle, identity: KeyIdentity): Handle {
    const kek = this.kek(lib, pk, s, identity, 'use');
    if (!kek) throw new KeyMissingError(identity.name, 'pkcs11', this.where());
    return kek.key;
  }

  /** Runs fn in a fresh, logged-in read-write session once the module is loaded (see the file comment). */
  private async session<T>(
    what: string,
    fn: (lib: Pkcs11.PKCS11, pk: Binding, session: Handle) => T,
  ): Promise<T> {
    // Refused before the module is opened: the answer never depends on the token existing.
    if (!this.allowedTokens.includes(this.tokenLabel)) {
      throw new ProviderUnavailableError(
        `PKCS#11 token ${JSON.stringify(this.tokenLabel)} (spec.encryption.pkcs11.tokenLabel) is not one this hub's namespace may use: the platform maps tokens to namespaces with the operator flag ${ALLOWED_TOKENS_FLAG}`,
        'pkcs11',
      );
    }
    let loaded: { lib: Pkcs11.PKCS11; pk: Binding };
    try {
      loaded = await openPkcs11Module(this.module, this.allowedModules);
    } catch (e) {
      throw e instanceof KeyError ? this.scrubbed(e) : e;
    }
    return this.loggedIn(loaded, what, fn);
  }

  /** fn in a session, start to finish without yielding to the event loop (see the file comment). */
  private loggedIn<T>(
    { lib, pk }: { lib: Pkcs11.PKCS11; pk: Binding },
    what: string,
    fn: (lib: Pkcs11.PKCS11, pk: Binding, session: Handle) => T,
  ): Promise<T> {
    try {
      const { slot, flags } = this.slot(lib);
      let s: Handle;
      try {
        s = lib.C_OpenSession(slot, pk.CKF_SERIAL_SESSION | pk.CKF_RW_SESSION);
      } catch (e) {
        throw pkcs11Unavailable(`cannot open a session on token ${this.tokenLabel}`, e);
      }
      try {
        login(lib, pk, s, flags, {
          module: this.module,
          tokenLabel: this.tokenLabel,
          pinEntry: this.#pinEntry,
          enterPin: (session) => lib.C_Login(session, pk.CKU_USER, this.#pin),
          metrics: this.metrics,
        });
        try {
          return Promise.resolve(fn(lib, pk, s));
        } catch (e) {
          if (e instanceof KeyError) throw e;
          if (e instanceof pk.NativeError)
            throw pkcs11Unavailable(`cannot ${what} on token ${this.tokenLabel}`, e);
          throw e;
        }
      } finally {
        // Logging out ends the login for the whole process (see the file comment).
        for (const end of [() => lib.C_Logout(s), () => lib.C_CloseSession(s)]) {
          try {
            end();
          } catch {
            // Not logged in, or the token went away: the session is gone either way.
          }
        }
      }
    } catch (e) {
      return Promise.reject(e instanceof KeyError ? this.scrubbed(e) : e);
    }
  }

  /** The token's slot and its CK_TOKEN_INFO flags. */
  private slot(lib: Pkcs11.PKCS11): { slot: Handle; flags: number } {
    let matches: { slot: Handle; flags: number }[];
    try {
      matches = lib
        .C_GetSlotList(true)
        .map((slot) => ({ slot, info: lib.C_GetTokenInfo(slot) }))
        .filter(({ info }) => info.label.trimEnd() === this.tokenLabel)
        .map(({ slot, info }) => ({ slot, flags: info.flags }));
    } catch (e) {
      throw pkcs11Unavailable(`cannot list the tokens of PKCS#11 module ${this.module}`, e);
    }
    const [slot] = matches;
    if (slot === undefined) {
      throw new ProviderUnavailableError(
        `no token labelled ${this.tokenLabel} in PKCS#11 module ${this.module}; check spec.encryption.pkcs11.tokenLabel and that the token is initialised and present`,
        'pkcs11',
      );
    }
    if (matches.length > 1) {
      throw new ProviderUnavailableError(
        `${matches.length} tokens are labelled ${this.tokenLabel} in PKCS#11 module ${this.module}; token labels must be unique`,
        'pkcs11',
      );
    }
    return slot;
  }

  // Belt and braces: no message built here contains the PIN, but a module's own error text could
  // echo anything. Short PINs are not searched for, to keep messages readable.
  private scrubbed(e: KeyError): KeyError {
    if (this.#pin.length >= 4 && e.message.includes(this.#pin)) {
      e.message = e.message.split(this.#pin).join('***');
    }
    return e;
  }
}
