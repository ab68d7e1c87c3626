// Cancellation of the key lifecycle, without a cluster: once the reconcile's signal is aborted
// (leadership lost, shutdown), no further step writes anything. The Secret API and the provider
// are in-memory fakes that count what is asked of them.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, type HealthDataHub } from '../../../src/api/index.js';
import { LifecycleKeyGate } from '../../../src/hub/steps/key-lifecycle-gate.js';
import type { KeyIdentity } from '../../../src/keys/identity.js';
import { KeyLifecycle, type SecretsApi } from '../../../src/keys/lifecycle.js';
import {
  KeyExistsError,
  UnwrapError,
  type KeyInfo,
  type KeyProvider,
  type ProviderDescription,
} from '../../../src/keys/provider.js';
import type { ProviderDeps } from '../../../src/keys/providers.js';

const t0 = new Date('2026-03-01T10:00:00.000Z');
const hour = 3_600_000;

/** A hub asking for a key rotation every hour. */
const hub = (): HealthDataHub =>
  ({
    apiVersion: HEALTH_DATA_HUB.apiVersion,
    kind: HEALTH_DATA_HUB.kind,
    metadata: {
      name: 'oncology',
      namespace: 'research',
      uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c',
      generation: 1,
    },
    spec: {
      policyName: 'eu-hds',
      storage: { size: '1Gi', storageClassName: 'encrypted-eu' },
      encryption: { provider: 'builtin', rotationInterval: '1h' },
    },
  }) as HealthDataHub;

type Write = 'create' | 'replace' | 'delete';

/** Secrets in memory, with the API server's conditional semantics (404, 409, resourceVersion). */
class FakeSecrets {
  readonly stored = new Map<string, V1Secret>();
  readonly writes: Write[] = [];
  reads = 0;
  /** Runs after each write is stored. */
  afterWrite: (write: Write) => void = () => {};
  private version = 0;

  api(): SecretsApi {
    const fail = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });
    const key = (namespace: string, name: string) => `${namespace}/${name}`;
    const store = (s: V1Secret): V1Secret => {
      const copy = structuredClone(s);
      copy.metadata = { ...copy.metadata, resourceVersion: String(++this.version), uid: 'secret-uid' };
      this.stored.set(key(copy.metadata.namespace!, copy.metadata.name!), copy);
      return structuredClone(copy);
    };
    const wrote = <T>(write: Write, value: T): T => {
      this.writes.push(write);
      this.afterWrite(write);
      return value;
    };
    return {
      readNamespacedSecret: async ({ namespace, name }: { namespace: string; name: string }) => {
        this.reads++;
        const s = this.stored.get(key(namespace, name));
        if (!s) throw fail(404);
        return structuredClone(s);
      },
      createNamespacedSecret: async ({ namespace, body }: { namespace: string; body: V1Secret }) => {
        if (this.stored.has(key(namespace, body.metadata!.name!))) throw fail(409);
        return wrote('create', store({ ...body, metadata: { ...body.metadata, namespace } }));
      },
      replaceNamespacedSecret: async ({
        namespace,
        name,
        body,
      }: {
        namespace: string;
        name: string;
        body: V1Secret;
      }) => {
        const s = this.stored.get(key(namespace, name));
        if (!s) throw fail(404);
        if (s.metadata!.resourceVersion !== body.metadata?.resourceVersion) throw fail(409);
        return wrote('replace', store(body));
      },
      deleteNamespacedSecret: async ({ namespace, name }: { namespace: string; name: string }) => {
        if (!this.stored.delete(key(namespace, name))) throw fail(404);
        return wrote('delete', {});
      },
    } as unknown as SecretsApi;
  }
}

/** KEKs in memory: AES-256-GCM, one per identity. */
class FakeProvider implements KeyProvider {
  private readonly keks = new Map<string, Buffer>();
  calls = 0;
  /** Runs at the start of each unwrap. */
  beforeUnwrap: () => void = () => {};

  describe(): ProviderDescription {
    return { provider: 'builtin', reference: 'memory' };
  }

  keyRef(identity: KeyIdentity): string {
    return `memory/${identity.name}`;
  }

  async find(identity: KeyIdentity): Promise<KeyInfo | undefined> {
    this.calls++;
    return this.keks.has(identity.name) ? { ref: this.keyRef(identity) } : undefined;
  }

  async create(identity: KeyIdentity): Promise<KeyInfo> {
    this.calls++;
    if (this.keks.has(identity.name)) throw new KeyExistsError(identity.name, 'builtin', 'memory');
    this.keks.set(identity.name, randomBytes(32));
    return { ref: this.keyRef(identity) };
  }

  async wrap(identity: KeyIdentity, dek: Buffer): Promise<string> {
    this.calls++;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.kek(identity), iv);
    const out = Buffer.concat([iv, c.update(dek), c.final(), c.getAuthTag()]);
    return `v1:${out.toString('base64')}`;
  }

  async unwrap(identity: KeyIdentity, wrapped: string): Promise<Buffer> {
    this.calls++;
    this.beforeUnwrap();
    const raw = Buffer.from(wrapped.replace(/^v1:/, ''), 'base64');
    const d = createDecipheriv('aes-256-gcm', this.kek(identity), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
    } catch (e) {
      throw new UnwrapError(`does not authenticate: ${(e as Error).message}`, 'builtin');
    }
  }

  async destroy(identity: KeyIdentity): Promise<boolean> {
    this.calls++;
    return this.keks.delete(identity.name);
  }

  private kek(identity: KeyIdentity): Buffer {
    const kek = this.keks.get(identity.name);
    if (!kek) throw new Error(`no key ${identity.name}`);
    return kek;
  }
}

function setup() {
  const secrets = new FakeSecrets();
  const provider = new FakeProvider();
  let now = t0;
  const lifecycle = new KeyLifecycle({ secrets: secrets.api(), clock: () => now });
  // Creating the keys takes the clock past the rotation interval: the next step is a rotation.
  const laterAfterCreate = () => {
    secrets.afterWrite = (write) => {
      if (write === 'create') now = new Date(t0.getTime() + 2 * hour);
    };
  };
  return { secrets, provider, lifecycle, laterAfterCreate };
}

describe('KeyLifecycle cancellation', () => {
  it('without a signal, creates the keys and then rotates them in one reconcile', async () => {
    const { secrets, provider, lifecycle, laterAfterCreate } = setup();
    laterAfterCreate();
    const r = await lifecycle.reconcile(hub(), provider);
    expect(secrets.writes).toEqual(['create', 'replace']);
    expect(r.events.map((e) => e.reason)).toEqual(['KeysCreated', 'KeyRotated']);
    expect(r.ready).toBe(true);
  });

  it('stops before the next write once the signal is aborted during a step', async () => {
    const { secrets, provider, lifecycle, laterAfterCreate } = setup();
    laterAfterCreate();
    const controller = new AbortController();
    const lost = new Error('leadership lost');
    const create = secrets.afterWrite;
    let providerCallsAtAbort = -1;
    secrets.afterWrite = (write) => {
      create(write);
      controller.abort(lost);
      providerCallsAtAbort = provider.calls;
    };
    await expect(lifecycle.reconcile(hub(), provider, { signal: controller.signal })).rejects.toBe(lost);
    // The rotation the plan would have made next was never written, nor even observed for.
    expect(secrets.writes).toEqual(['create']);
    expect(provider.calls).toBe(providerCallsAtAbort);
    expect(secrets.stored.size).toBe(1);
  });

  it('stops before the next write once the signal is aborted while observing', async () => {
    const { secrets, provider, lifecycle, laterAfterCreate } = setup();
    laterAfterCreate();
    const controller = new AbortController();
    const create = secrets.afterWrite;
    secrets.afterWrite = (write) => {
      create(write);
      // The next unwrap is the observation's check of the active version, before the rotation.
      provider.beforeUnwrap = () => controller.abort();
    };
    await expect(lifecycle.reconcile(hub(), provider, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(secrets.writes).toEqual(['create']);
  });

  it('does nothing at all with a signal aborted before it starts', async () => {
    const { secrets, provider, lifecycle } = setup();
    const signal = AbortSignal.abort();
    await expect(lifecycle.reconcile(hub(), provider, { signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(secrets.reads).toBe(0);
    expect(secrets.writes).toEqual([]);
    expect(provider.calls).toBe(0);
  });

  it('is passed down by the key gate, which then neither builds a provider nor reads a Secret', async () => {
    const secrets = new FakeSecrets();
    const providers = {} as ProviderDeps;
    const lifecycle = new KeyLifecycle({ secrets: secrets.api(), providers });
    const gate = new LifecycleKeyGate(lifecycle, () => undefined);
    const stop = new Error('shutting down');
    const signal = AbortSignal.abort(stop);
    await expect(gate.ensure(hub(), undefined, signal)).rejects.toBe(stop);
    await expect(gate.release(hub(), signal)).rejects.toBe(stop);
    expect(secrets.reads).toBe(0);
  });
});
