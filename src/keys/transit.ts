// The transit provider (experimental): each hub's KEK is a key in the Transit secrets engine of a
// Vault or OpenBao server, named with the hub's key identity (which includes its UID). The key is
// created aes256-gcm96, non-exportable and without plaintext backup, so it never leaves the
// engine; DEKs are wrapped and unwrapped by the engine's encrypt and decrypt endpoints, and the
// wrapped form is the engine's own `vault:vN:…` ciphertext, which names the KEK version it needs.
//
// Transit's encrypt endpoint creates a missing key on the fly when the token may create keys
// ("upsert"). A hub whose KEK was deleted out of band must be blocked, never handed a fresh key,
// so every operation on an existing key first asks whether it exists; docs/keys.md also asks for
// upsert to be disabled on the mount and for a token policy without `create` on encrypt.
//
// Requests go through node:https rather than fetch so that a hub's own CA bundle (caSecretRef)
// can be trusted without trusting it process-wide.//
// The engine's API without I/O (requests, ciphertexts, key states, error mapping) is in
// transit-api.ts.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { transitCustody, type KeyCustody } from './custody.js';
import type { KeyIdentity } from './identity.js';
import {
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  ProviderUnavailableError,
  UnwrapError,
  type KeyInfo,
  type KeyProvider,
  type ProviderDescription,
} from './provider.js';
import {
  ciphertextVersion,
  isCiphertext,
  keyProblems,
  parseKeyState,
  transitError,
  transitRequests,
  type TransitKeyState,
  type TransitRequest,
} from './transit-api.js';

export {
  TRANSIT_KEY_TYPE,
  ciphertextVersion,
  keyProblems,
  parseKeyState,
  transitError,
  transitRequests,
  type TransitAnswer,
  type TransitKeyState,
  type TransitRequest,
} from './transit-api.js';

const DEFAULT_TIMEOUT_MS = 10_000;
// Bodies are small JSON documents; a larger answer is not from a Transit engine.
const MAX_RESPONSE_BYTES = 1 << 20;

export interface TransitProviderOptions {
  /** Base URL of the server, such as https://bao.example:8200. */
  address: string;
  /** Where the Transit engine is mounted (default transit). */
  mount?: string | undefined;
  /** The token sent as X-Vault-Token. Kept in a private field; never logged or put in a message. */
  token: string;
  /** PEM CA bundle to trust for the server's certificate instead of the system's CAs. */
  ca?: string | undefined;
  /** Per-request timeout. */
  timeoutMs?: number | undefined;
  /** Where the token comes from, for messages (such as `Secret ns/name key token`). */
  tokenSource?: string | undefined;
}

export class TransitKeyProvider implements KeyProvider {
  // ES private field: invisible to JSON.stringify and util.inspect, so logging the provider
  // cannot print the token.
  readonly #token: string;
  private readonly address: URL;
  private readonly mount: string;
  private readonly ca: string | undefined;
  private readonly timeoutMs: number;
  private readonly tokenSource: string;

  constructor(options: TransitProviderOptions) {
    let url: URL;
    try {
      url = new URL(options.address);
    } catch {
      throw new ProviderUnavailableError(
        `transit address ${JSON.stringify(options.address)} is not a URL; set spec.encryption.transit.address`,
        'transit',
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ProviderUnavailableError(`transit address ${url.origin} must be https`, 'transit');
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new ProviderUnavailableError(
        'transit address must be a plain base URL (no credentials, query or fragment)',
        'transit',
      );
    }
    this.address = url;
    this.mount = (options.mount ?? 'transit').replace(/^\/+|\/+$/g, '');
    if (!/^[A-Za-z0-9._/-]+$/.test(this.mount) || this.mount.split('/').includes('..')) {
      throw new ProviderUnavailableError(
        `transit mount ${JSON.stringify(options.mount)} is not a valid path`,
        'transit',
      );
    }
    this.#token = options.token;
    this.ca = options.ca;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.tokenSource = options.tokenSource ?? 'spec.encryption.transit.authSecretRef';
  }

  describe(): ProviderDescription {
    return { provider: 'transit', reference: `${this.base()} mount ${this.mount}` };
  }

  keyRef(identity: KeyIdentity): string {
    return `${this.base()}/v1/${this.mount}/keys/${identity.name}`;
  }

  async find(identity: KeyIdentity): Promise<KeyInfo | undefined> {
    const state = await this.state(identity);
    return state && { ref: this.keyRef(identity), versions: state.versions };
  }

  async create(identity: KeyIdentity): Promise<KeyInfo> {
    if (await this.state(identity)) throw new KeyExistsError(identity.name, 'transit', this.where());
    await this.call(this.requests(identity).create(), 'create the key');
    // Read back: the engine must report exactly the key asked for (a key created by someone
    // else in between, with other settings, is refused here).
    const state = await this.state(identity);
    if (!state) {
      throw new ProviderUnavailableError(
        `key ${identity.name} was created in ${this.where()} but cannot be read back`,
        'transit',
      );
    }
    return { ref: this.keyRef(identity), versions: state.versions };
  }

  async wrap(identity: KeyIdentity, plaintextDek: Buffer): Promise<string> {
    await this.requireKey(identity);
    const data = await this.call(this.requests(identity).encrypt(plaintextDek), 'wrap a key');
    return this.ciphertextIn(data, 'encrypt');
  }

  async unwrap(identity: KeyIdentity, wrapped: string): Promise<Buffer> {
    this.checkCiphertext(identity, wrapped, 'unwrap');
    await this.requireKey(identity);
    const data = await this.call(
      this.requests(identity).decrypt(wrapped),
      `unwrap a key of ${identity.name}`,
      { decrypting: true },
    );
    const plaintext = (data as { plaintext?: unknown } | undefined)?.plaintext;
    if (typeof plaintext !== 'string') {
      throw new ProviderUnavailableError(
        `the Transit engine at ${this.base()} answered decrypt without a plaintext`,
        'transit',
      );
    }
    return Buffer.from(plaintext, 'base64');
  }

  async rotate(identity: KeyIdentity): Promise<KeyInfo> {
    await this.requireKey(identity);
    await this.call(this.requests(identity).rotate(), 'rotate the key');
    const state = await this.requireKey(identity);
    return { ref: this.keyRef(identity), versions: state.versions };
  }

  kekVersionOf(wrapped: string): number {
    try {
      return ciphertextVersion(wrapped);
    } catch (e) {
      throw new UnwrapError((e as Error).message, 'transit');
    }
  }

  /** Re-encrypts a wrapped DEK under the KEK's latest version, without revealing the DEK. */
  async rewrap(identity: KeyIdentity, wrapped: string): Promise<string> {
    this.checkCiphertext(identity, wrapped, 'rewrap');
    await this.requireKey(identity);
    const data = await this.call(
      this.requests(identity).rewrap(wrapped),
      `rewrap a key of ${identity.name}`,
      { decrypting: true },
    );
    return this.ciphertextIn(data, 'rewrap');
  }

  /** Refuses, before any request, a value that is not a Transit ciphertext. */
  private checkCiphertext(identity: KeyIdentity, wrapped: string, what: 'unwrap' | 'rewrap'): void {
    try {
      this.kekVersionOf(wrapped);
    } catch (e) {
      throw new UnwrapError(`cannot ${what} a key of ${identity.name}: ${(e as Error).message}`, 'transit');
    }
  }

  /** The ciphertext of an encrypt or rewrap answer; an answer without one is the engine's fault. */
  private ciphertextIn(data: unknown, answered: 'encrypt' | 'rewrap'): string {
    const ciphertext = (data as { ciphertext?: unknown } | undefined)?.ciphertext;
    if (typeof ciphertext !== 'string' || !isCiphertext(ciphertext)) {
      throw new ProviderUnavailableError(
        `the Transit engine at ${this.base()} answered ${answered} without a ciphertext`,
        'transit',
      );
    }
    return ciphertext;
  }

  /** Only called for a confirmed crypto-shred: allows deletion of this one key, then deletes it. */
  async destroy(identity: KeyIdentity): Promise<boolean> {
    // Not state(): a key the operator would not have made is still this hub's key to shred.
    const read = this.requests(identity).read();
    if ((await this.call(read, 'find the key', { missingIsUndefined: true })) === undefined) return false;
    await this.call(this.requests(identity).allowDeletion(), 'allow deletion of the key');
    await this.call(this.requests(identity).delete(), 'delete the key');
    return true;
  }

  /** The engine's view of the key, for checks and tests; undefined when there is none. */
  async keyState(identity: KeyIdentity): Promise<TransitKeyState | undefined> {
    const data = await this.call(this.requests(identity).read(), 'find the key', {
      missingIsUndefined: true,
    });
    return data === undefined ? undefined : parseKeyState(data);
  }

  /** The key's custody settings as the engine reports them. Throws KeyMissingError without a key. */
  async custody(identity: KeyIdentity): Promise<KeyCustody> {
    const state = await this.keyState(identity);
    if (!state) throw new KeyMissingError(identity.name, 'transit', this.where());
    return transitCustody(state, this.where());
  }

  private where(): string {
    return `Transit engine ${this.base()} mount ${this.mount}`;
  }

  private base(): string {
    return this.address.href.replace(/\/+$/, '');
  }

  private requests(identity: KeyIdentity) {
    return transitRequests(this.mount, identity.name);
  }

  /** The key after checking it is one the operator would have made; undefined when absent. */
  private async state(identity: KeyIdentity): Promise<TransitKeyState | undefined> {
    const state = await this.keyState(identity);
    if (!state) return undefined;
    const problems = keyProblems(state);
    if (problems.length > 0) {
      throw new KeyInvalidError(
        `key ${identity.name} in ${this.where()} is ${problems.join(', ')}; it was not made by the operator`,
        'transit',
      );
    }
    return state;
  }

  private async requireKey(identity: KeyIdentity): Promise<TransitKeyState> {
    const state = await this.state(identity);
    if (!state) throw new KeyMissingError(identity.name, 'transit', this.where());
    return state;
  }

  /**
   * Sends one request; resolves with the answer's `data` (undefined for an empty answer, or for
   * a missing key when missingIsUndefined is set), rejects with a KeyError.
   */
  private async call(
    req: TransitRequest,
    what: string,
    opts: { missingIsUndefined?: boolean; decrypting?: boolean } = {},
  ): Promise<unknown> {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.send(req));
    } catch (e) {
      throw new ProviderUnavailableError(this.scrub(`cannot ${what}: ${this.transportHint(e)}`), 'transit');
    }
    let body: { data?: unknown; errors?: unknown } | undefined;
    try {
      body = text ? (JSON.parse(text) as typeof body) : undefined;
    } catch {
      body = undefined;
    }
    const errors = Array.isArray(body?.errors) ? body.errors.map(String) : [];
    // A missing key is a 404 with an empty error list; a missing mount (or any unknown path) is a
    // 404 with a "no handler for route" error, and says nothing about the key.
    if (status === 404 && opts.missingIsUndefined && errors.length === 0) return undefined;
    if (status >= 200 && status < 300) return body?.data;
    const error = transitError({ status, errors }, what, req.path, this.tokenSource, opts.decrypting);
    error.message = this.scrub(error.message);
    throw error;
  }

  private send(req: TransitRequest): Promise<{ status: number; text: string }> {
    const url = new URL(this.address.pathname.replace(/\/+$/, '') + req.path, this.address);
    const payload = req.body ? JSON.stringify(req.body) : undefined;
    const headers: Record<string, string> = { 'X-Vault-Token': this.#token, 'X-Vault-Request': 'true' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const r = request(
        url,
        {
          method: req.method,
          headers,
          timeout: this.timeoutMs,
          ...(url.protocol === 'https:' && this.ca ? { ca: this.ca } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              res.destroy(new Error('answer too large'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      r.on('timeout', () => r.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      r.on('error', reject);
      r.end(payload);
    });
  }

  private transportHint(e: unknown): string {
    const err = e as NodeJS.ErrnoException;
    const code = err?.code ?? '';
    const msg = err?.message ?? String(e);
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return `the certificate of ${this.base()} is not trusted (${msg}); put the CA that signs it in the Secret named by spec.encryption.transit.caSecretRef`;
    }
    return `${this.base()} is unreachable (${msg}); check spec.encryption.transit.address and network policies`;
  }

  // Belt and braces: no message built here contains the token, but a server's own error text
  // could echo anything.
  private scrub(message: string): string {
    return this.#token.length >= 4 ? message.split(this.#token).join('***') : message;
  }
}
