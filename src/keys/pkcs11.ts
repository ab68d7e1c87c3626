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
import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import type * as Pkcs11 from 'pkcs11js';
import type { KeyMetrics } from './metrics.js';
import { moduleFileProblem, moduleRefusal, modulesAsNamed, probeModule } from './pkcs11-modules.js';
import { ALLOWED_TOKENS_FLAG, LoginBudget, pinFlagsRefusal } from './pkcs11-tokens.js';
import { IV_BYTES, KEK_BYTES, TAG_BYTES, decodeWrapped, encodeWrapped, wrapAad } from './envelope.js';
import type { KeyIdentity } from './identity.js';
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

type Binding = typeof Pkcs11;
type Handle = Pkcs11.Handle;

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

const require = createRequire(import.meta.url);
let binding: Binding | undefined;

/** The pkcs11js binding, loaded on first use so clusters without PKCS#11 never need it. */
function loadBinding(): Binding {
  if (binding) return binding;
  try {
    binding = require('pkcs11js') as Binding;
    return binding;
  } catch (e) {
    throw new ProviderUnavailableError(
      `the PKCS#11 binding (pkcs11js) cannot be loaded: ${(e as Error).message}; ` +
        'reinstall the operator with install scripts allowed for pkcs11js so its native part is built',
      'pkcs11',
    );
  }
}

// One initialised instance per module path for the whole process: C_Initialize may be called
// once per process, and a second caller would get CKR_CRYPTOKI_ALREADY_INITIALIZED.
const modules = new Map<string, Pkcs11.PKCS11>();

/**
 * The process-wide, initialised handle of a PKCS#11 module, loaded without any check of the path:
 * providers go through openPkcs11Module.
 */
export function pkcs11Module(path: string): { lib: Pkcs11.PKCS11; pk: Binding } {
  const pk = loadBinding();
  const known = modules.get(path);
  if (known) return { lib: known, pk };
  if (!isAbsolute(path)) {
    throw new ProviderUnavailableError(
      `PKCS#11 module path ${JSON.stringify(path)} is not absolute; set spec.encryption.pkcs11.module to the library's full path`,
      'pkcs11',
    );
  }
  // A fresh instance per attempt: a failed load leaves an instance unusable.
  const lib = new pk.PKCS11();
  try {
    lib.load(path);
  } catch (e) {
    throw new ProviderUnavailableError(
      `cannot load PKCS#11 module ${path}: ${(e as Error).message}; check spec.encryption.pkcs11.module and that the library is installed in the operator's image`,
      'pkcs11',
    );
  }
  try {
    lib.C_Initialize({ flags: pk.CKF_OS_LOCKING_OK });
  } catch (e) {
    // Another library in this process (or an earlier instance) initialised it: usable as is.
    if (!(e instanceof pk.Pkcs11Error && e.code === pk.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
      throw new ProviderUnavailableError(
        `PKCS#11 module ${path} failed to initialise: ${(e as Error).message}`,
        'pkcs11',
      );
    }
  }
  modules.set(path, lib);
  return { lib, pk };
}

// Probes in flight, passed or recently failed, per path: concurrent first uses share one probe.
const probes = new Map<string, Promise<string | undefined>>();
const FAILED_PROBE_KEPT_MS = 60_000;

/**
 * The process-wide handle of an allowed module. A path the platform did not allow is refused from
 * the path alone; an allowed one is checked as a file (no pipe, device or symbolic link out of the
 * allowed list) and tried in a separate process with a timeout before this process loads it, so a
 * module that hangs or crashes does not take the operator with it.
 */
async function openPkcs11Module(
  path: string,
  allowed: readonly string[],
): Promise<{ lib: Pkcs11.PKCS11; pk: Binding }> {
  const refused = moduleRefusal(path, allowed);
  if (refused) throw new ProviderUnavailableError(refused, 'pkcs11');
  if (modules.has(path)) return pkcs11Module(path);
  loadBinding();
  const problem = moduleFileProblem(path, allowed);
  if (problem) throw new ProviderUnavailableError(problem, 'pkcs11');
  let probe = probes.get(path);
  if (!probe) {
    probe = probeModule(path, require.resolve('pkcs11js'));
    probes.set(path, probe);
  }
  const failed = await probe;
  if (failed) {
    // Remembered for a minute, so that reconciles of hubs naming it do not each wait for a probe
    // (and hold a worker); then tried again, as the platform may have fixed the module.
    const forget = () => probes.get(path) === probe && probes.delete(path);
    setTimeout(forget, FAILED_PROBE_KEPT_MS).unref();
    throw new ProviderUnavailableError(`${failed}: check the module's installation`, 'pkcs11');
  }
  return pkcs11Module(path);
}

/** Finalises every module this process initialised (at shutdown; providers stop working). */
export function finalizePkcs11Modules(): void {
  for (const [path, lib] of modules) {
    modules.delete(path);
    try {
      lib.C_Finalize();
    } catch {
      // Shutting down: nothing useful to do with a failure here.
    }
  }
}

// PINs a token refused, keyed by an HMAC under a per-process random key (not a plain hash, which
// a short numeric PIN would not protect). A refused PIN is not presented again: hardware tokens
// lock the PIN after a few failures, and a reconcile loop retrying would lock it within minutes.
// A corrected PIN is a different entry, so recovery is automatic.
const refusedPinKey = randomBytes(32);
const refusedPins = new Set<string>();

// Failed logins per token, whatever the PIN: each wrong PIN is tried once, but a tenant can write
// many, and a token locks (or can be guessed) after enough of them. Per process, like the list above.
const loginBudget = new LoginBudget();

/** What came of a login attempt, for hdh_pkcs11_logins_total. */
export type Pkcs11LoginResult =
  'success' | 'pin_incorrect' | 'failed' | 'skipped_budget' | 'skipped_pin_state';

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
    this.#pinEntry = createHmac('sha256', refusedPinKey)
      .update(`${options.module}\u0000${options.tokenLabel}\u0000${options.pin}`)
      .digest('base64');
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
      this.kek(lib, pk, s, identity) ? { ref: this.keyRef(identity) } : undefined,
    );
  }

  async create(identity: KeyIdentity): Promise<KeyInfo> {
    return this.session('create the key', (lib, pk, s) => {
      if (this.kek(lib, pk, s, identity)) throw new KeyExistsError(identity.name, 'pkcs11', this.where());
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
      const key = this.kek(lib, pk, s, identity);
      if (!key) return false;
      lib.C_DestroyObject(s, key);
      return true;
    });
  }

  /** The token's view of the KEK object, without judging it; undefined when there is none. */
  async keyAttributes(identity: KeyIdentity): Promise<Pkcs11KeyAttributes | undefined> {
    return this.session('read key attributes', (lib, pk, s) => {
      const handles = this.handles(lib, pk, s, identity);
      const first = handles[0];
      return first === undefined ? undefined : attributes(lib, pk, s, first);
    });
  }

  /** Whether the token would let the KEK out (it must not). Throws KeyMissingError without a key. */
  async isExtractable(identity: KeyIdentity): Promise<boolean> {
    const a = await this.keyAttributes(identity);
    if (!a) throw new KeyMissingError(identity.name, 'pkcs11', this.where());
    return a.extractable || !a.sensitive;
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

  /** The hub's KEK, after checking it is one the operator would have made; undefined if absent. */
  private kek(lib: Pkcs11.PKCS11, pk: Binding, s: Handle, identity: KeyIdentity): Handle | undefined {
    const handles = this.handles(lib, pk, s, identity);
    const [key] = handles;
    if (key === undefined) return undefined;
    const what = `key object ${identity.name} on token ${this.tokenLabel}`;
    if (handles.length > 1) {
      // Choosing one could pick a key that wraps nothing; a person must decide.
      throw new KeyInvalidError(`more than one ${what}; the operator refuses to choose`, 'pkcs11');
    }
    const a = attributes(lib, pk, s, key);
    const problems = [
      !a.aes || a.valueLength !== KEK_BYTES ? 'not an AES-256 key' : '',
      a.extractable ? 'extractable' : '',
      !a.sensitive ? 'not sensitive' : '',
      !a.id.equals(identity.id) ? `of a CKA_ID other than the key identity's` : '',
    ].filter(Boolean);
    if (problems.length > 0) {
      throw new KeyInvalidError(
        `${what} is ${problems.join(', ')}; it was not made by the operator`,
        'pkcs11',
      );
    }
    return key;
  }

  private requireKek(lib: Pkcs11.PKCS11, pk: Binding, s: Handle, identity: KeyIdentity): Handle {
    const key = this.kek(lib, pk, s, identity);
    if (!key) throw new KeyMissingError(identity.name, 'pkcs11', this.where());
    return key;
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
        throw this.unavailable(`cannot open a session on token ${this.tokenLabel}`, e);
      }
      try {
        this.login(lib, pk, s, flags);
        try {
          return Promise.resolve(fn(lib, pk, s));
        } catch (e) {
          if (e instanceof KeyError) throw e;
          if (e instanceof pk.NativeError)
            throw this.unavailable(`cannot ${what} on token ${this.tokenLabel}`, e);
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
      throw this.unavailable(`cannot list the tokens of PKCS#11 module ${this.module}`, e);
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

  private login(lib: Pkcs11.PKCS11, pk: Binding, s: Handle, flags: number): void {
    if (refusedPins.has(this.#pinEntry)) {
      throw new ProviderUnavailableError(
        `token ${this.tokenLabel} refused this PIN before; it is not tried again (tokens lock a PIN after repeated failures): put the right PIN in the Secret named by spec.encryption.pkcs11.pinSecretRef`,
        'pkcs11',
      );
    }
    const count = (result: Pkcs11LoginResult) => this.metrics?.pkcs11Logins.inc({ result });
    // The token as the budget knows it: the same library under another allowed path (a link and
    // its target) is the same token. Resolved only now, once the module is allowed and loaded.
    const budgetKey = `${modulesAsNamed(this.module).at(-1)}\u0000${this.tokenLabel}`;
    const pinState = pinFlagsRefusal(this.tokenLabel, flags, {
      finalTry: pk.CKF_USER_PIN_FINAL_TRY,
      locked: pk.CKF_USER_PIN_LOCKED,
    });
    if (pinState) {
      count('skipped_pin_state');
      throw new ProviderUnavailableError(pinState, 'pkcs11');
    }
    const until = loginBudget.blockedUntil(budgetKey);
    if (until) {
      count('skipped_budget');
      throw new ProviderUnavailableError(
        `token ${this.tokenLabel} refused too many logins recently; the operator tries no login to it until ${until.toISOString()} so that its user PIN does not lock: check the PIN Secret named by spec.encryption.pkcs11.pinSecretRef of each hub using this token`,
        'pkcs11',
      );
    }
    // Tokens set COUNT_LOW after a failed login since the last good one: said on a new failure.
    const earlier = flags & pk.CKF_USER_PIN_COUNT_LOW ? ' (the token reports earlier failed logins too)' : '';
    const attempt = () => lib.C_Login(s, pk.CKU_USER, this.#pin);
    try {
      try {
        attempt();
      } catch (e) {
        // Someone else's login is still open: end it so that this PIN is checked too.
        if (!(e instanceof pk.Pkcs11Error && e.code === pk.CKR_USER_ALREADY_LOGGED_IN)) throw e;
        lib.C_Logout(s);
        attempt();
      }
    } catch (e) {
      const code = e instanceof pk.Pkcs11Error ? e.code : undefined;
      loginBudget.fail(budgetKey);
      count(code === pk.CKR_PIN_INCORRECT ? 'pin_incorrect' : 'failed');
      if (code === pk.CKR_PIN_INCORRECT) {
        refusedPins.add(this.#pinEntry);
        throw new ProviderUnavailableError(
          `token ${this.tokenLabel} refused the PIN (CKR_PIN_INCORRECT)${earlier}: put the right PIN in the Secret named by spec.encryption.pkcs11.pinSecretRef`,
          'pkcs11',
        );
      }
      const fixes = new Map<number | undefined, string>([
        [pk.CKR_PIN_LOCKED, "the token's security officer must unlock or reset the user PIN"],
        [pk.CKR_PIN_EXPIRED, 'the user PIN has expired: set a new one on the token and in the PIN Secret'],
        [pk.CKR_PIN_LEN_RANGE, 'the PIN in the PIN Secret has a length the token does not accept'],
        [pk.CKR_USER_PIN_NOT_INITIALIZED, 'the token has no user PIN yet: initialise it'],
      ]);
      const fix = fixes.get(code);
      throw this.unavailable(`cannot log in to token ${this.tokenLabel}${fix ? `: ${fix}` : ''}`, e);
    }
    count('success');
  }

  private unavailable(message: string, e: unknown): ProviderUnavailableError {
    return new ProviderUnavailableError(`${message} (${(e as Error)?.message ?? String(e)})`, 'pkcs11');
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

function gcm(pk: Binding, iv: Buffer, aad: Buffer): Pkcs11.Mechanism {
  const parameter: Pkcs11.AesGCM = {
    type: pk.CK_PARAMS_AES_GCM,
    iv,
    aad,
    ivBits: IV_BYTES * 8,
    tagBits: TAG_BYTES * 8,
  };
  return { mechanism: pk.CKM_AES_GCM, parameter };
}

function attributes(lib: Pkcs11.PKCS11, pk: Binding, s: Handle, key: Handle): Pkcs11KeyAttributes {
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
