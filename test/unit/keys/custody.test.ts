// Key custody without a provider: the verdict from the attributes a provider reports, and what the
// key lifecycle makes of a reading (status.encryption.custody, the KeyExtractable Event, the last
// reading kept when the provider cannot be asked, KeysReady never changed by a failed read). The
// providers' own readings are in test/integration/keys/custody.test.ts.
import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, Reason, type HealthDataHub } from '../../../src/api/index.js';
import {
  becameExtractable,
  builtinCustody,
  custodyVerdict,
  EXPECTED_CUSTODY,
  expectedCustody,
  pkcs11Custody,
  transitCustody,
  type KeyCustody,
} from '../../../src/keys/custody.js';
import { openWithKey, sealWithKey, wrapAad } from '../../../src/keys/envelope.js';
import type { KeyIdentity } from '../../../src/keys/identity.js';
import { KeyLifecycle, type SecretsApi } from '../../../src/keys/lifecycle.js';
import type { Pkcs11KeyAttributes } from '../../../src/keys/pkcs11.js';
import {
  KeyExistsError,
  ProviderUnavailableError,
  type KeyInfo,
  type KeyProvider,
  type ProviderDescription,
} from '../../../src/keys/provider.js';
import type { TransitKeyState } from '../../../src/keys/transit.js';
import { reportKeys } from '../../../src/report/compliance/keys.js';

const pkcs11Key = (over: Partial<Pkcs11KeyAttributes> = {}): Pkcs11KeyAttributes => ({
  extractable: false,
  sensitive: true,
  neverExtractable: true,
  alwaysSensitive: true,
  token: true,
  aes: true,
  valueLength: 32,
  id: Buffer.alloc(32),
  ...over,
});

const transitKey = (over: Partial<TransitKeyState> = {}): TransitKeyState => ({
  type: 'aes256-gcm96',
  exportable: false,
  allowPlaintextBackup: false,
  deletionAllowed: false,
  versions: [1],
  latestVersion: 1,
  ...over,
});

describe('custodyVerdict', () => {
  const a = (expected: string, observed: string) => ({ name: 'x', expected, observed });

  it('is NonExtractable only when every attribute has its expected value', () => {
    expect(custodyVerdict([a('true', 'true'), a('false', 'false')])).toBe('NonExtractable');
    expect(custodyVerdict([a('true', 'true'), a('false', 'true')])).toBe('Extractable');
    expect(custodyVerdict([a('true', 'false')])).toBe('Extractable');
  });

  it('is Extractable when nothing was read: no attribute proves anything', () => {
    expect(custodyVerdict([])).toBe('Extractable');
  });
});

describe('pkcs11Custody', () => {
  it('reads the four attributes of a key the token generated non-extractable', () => {
    expect(pkcs11Custody(pkcs11Key(), 'hdh')).toEqual({
      verdict: 'NonExtractable',
      attributes: [
        { name: 'CKA_SENSITIVE', expected: 'true', observed: 'true' },
        { name: 'CKA_EXTRACTABLE', expected: 'false', observed: 'false' },
        { name: 'CKA_ALWAYS_SENSITIVE', expected: 'true', observed: 'true' },
        { name: 'CKA_NEVER_EXTRACTABLE', expected: 'true', observed: 'true' },
      ],
      message:
        'PKCS#11 token hdh reports the key-encryption key as non-extractable: it cannot leave the provider',
    });
  });

  it.each([
    [
      'extractable',
      { extractable: true, neverExtractable: false },
      ['CKA_EXTRACTABLE=true', 'CKA_NEVER_EXTRACTABLE=false'],
    ],
    [
      'not sensitive',
      { sensitive: false, alwaysSensitive: false },
      ['CKA_SENSITIVE=false', 'CKA_ALWAYS_SENSITIVE=false'],
    ],
    // Locked now, but it was once extractable: it may have been copied before.
    ['once extractable', { neverExtractable: false }, ['CKA_NEVER_EXTRACTABLE=false']],
    ['once readable', { alwaysSensitive: false }, ['CKA_ALWAYS_SENSITIVE=false']],
  ])('is Extractable for a key %s, naming what was read', (_what, over, named) => {
    const c = pkcs11Custody(pkcs11Key(over), 'hdh');
    expect(c.verdict).toBe('Extractable');
    for (const n of named) expect(c.message).toContain(n);
    expect(c.message).toContain('move the data to a new hub');
  });
});

describe('transitCustody', () => {
  it('reads exportable and allow_plaintext_backup', () => {
    const c = transitCustody(transitKey(), 'Transit engine https://vault:8200 mount transit');
    expect(c).toMatchObject({
      verdict: 'NonExtractable',
      attributes: [
        { name: 'exportable', expected: 'false', observed: 'false' },
        { name: 'allow_plaintext_backup', expected: 'false', observed: 'false' },
      ],
    });
  });

  it.each([
    [{ exportable: true }, 'exportable=true'],
    [{ allowPlaintextBackup: true }, 'allow_plaintext_backup=true'],
  ])('is Extractable for %j', (over, named) => {
    const c = transitCustody(transitKey(over), 'Transit engine https://vault:8200 mount transit');
    expect(c.verdict).toBe('Extractable');
    expect(c.message).toContain(named);
    expect(c.message).toContain('cannot take either setting back');
  });
});

describe('EXPECTED_CUSTODY, the one custody table', () => {
  /** `name: expected` of a reading. */
  const expectations = (c: KeyCustody) =>
    Object.fromEntries((c.attributes ?? []).map((a) => [a.name, a.expected]));

  it('holds the values of the custody contract', () => {
    expect(EXPECTED_CUSTODY).toEqual({
      pkcs11: {
        CKA_SENSITIVE: 'true',
        CKA_EXTRACTABLE: 'false',
        CKA_ALWAYS_SENSITIVE: 'true',
        CKA_NEVER_EXTRACTABLE: 'true',
      },
      transit: { exportable: 'false', allow_plaintext_backup: 'false' },
    });
  });

  it('is what the verdict of each provider reading expects, attribute by attribute, in order', () => {
    expect(expectations(pkcs11Custody(pkcs11Key(), 'hdh'))).toEqual(EXPECTED_CUSTODY.pkcs11);
    expect(Object.keys(expectations(pkcs11Custody(pkcs11Key(), 'hdh')))).toEqual(
      Object.keys(EXPECTED_CUSTODY.pkcs11),
    );
    expect(expectations(transitCustody(transitKey(), 'memory'))).toEqual(EXPECTED_CUSTODY.transit);
  });

  it('is what the compliance report requires, whatever expected value a record claims', () => {
    const recorded = (provider: string, attributes: KeyCustody['attributes']): HealthDataHub => ({
      ...hub(),
      status: { encryption: { provider, custody: { verdict: 'NonExtractable', attributes } } },
    });
    for (const [provider, table] of Object.entries(EXPECTED_CUSTODY)) {
      const agreeing = Object.entries(table).map(([name, v]) => ({ name, expected: v, observed: v }));
      expect(reportKeys(recorded(provider, agreeing)).custody.verdict).toBe('NonExtractable');
      for (const [name, value] of Object.entries(table)) {
        // A record agreeing with itself, on a value other than the table's.
        const other = value === 'true' ? 'false' : 'true';
        const attributes = agreeing.map((a) =>
          a.name === name ? { name, expected: other, observed: other } : a,
        );
        const custody = reportKeys(recorded(provider, attributes)).custody;
        expect(custody.verdict).toBe('Extractable');
        expect(custody.message).toContain(`${name} is ${other}, ${value} needed`);
      }
    }
  });

  it('has nothing for builtin, nor for a name every object inherits', () => {
    expect(expectedCustody('pkcs11')).toBe(EXPECTED_CUSTODY.pkcs11);
    expect(expectedCustody('transit')).toBe(EXPECTED_CUSTODY.transit);
    for (const provider of ['builtin', 'constructor', 'toString', '__proto__']) {
      expect(expectedCustody(provider)).toBeUndefined();
    }
  });
});

describe('builtinCustody', () => {
  it('is SecretInCluster, without attributes, saying why it is the weakest', () => {
    const c = builtinCustody('hdh-system');
    expect(c.verdict).toBe('SecretInCluster');
    expect(c.attributes).toEqual([]);
    expect(c.message).toContain('Kubernetes Secret in namespace hdh-system');
    expect(c.message).toContain('etcd');
    expect(c.message).toContain('weakest');
  });
});

describe('becameExtractable', () => {
  const of = (verdict: KeyCustody['verdict']): KeyCustody => ({ verdict, attributes: [] });
  it('is true only on a change to Extractable', () => {
    expect(becameExtractable(undefined, of('Extractable'))).toBe(true);
    expect(becameExtractable(of('NonExtractable'), of('Extractable'))).toBe(true);
    expect(becameExtractable(of('Extractable'), of('Extractable'))).toBe(false);
    expect(becameExtractable(of('Extractable'), of('NonExtractable'))).toBe(false);
    expect(becameExtractable(of('NonExtractable'), undefined)).toBe(false);
  });
});

// ---- the lifecycle's use of a reading ----

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
      encryption: { provider: 'transit' },
    },
  }) as HealthDataHub;

/** Secrets in memory, with the API server's conditional semantics (404, 409, resourceVersion). */
function memorySecrets(): SecretsApi {
  const stored = new Map<string, V1Secret>();
  let version = 0;
  const fail = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });
  const key = (namespace: string, name: string) => `${namespace}/${name}`;
  const store = (s: V1Secret): V1Secret => {
    const copy = structuredClone(s);
    copy.metadata = { ...copy.metadata, resourceVersion: String(++version), uid: 'secret-uid' };
    stored.set(key(copy.metadata.namespace!, copy.metadata.name!), copy);
    return structuredClone(copy);
  };
  return {
    readNamespacedSecret: async ({ namespace, name }: { namespace: string; name: string }) => {
      const s = stored.get(key(namespace, name));
      if (!s) throw fail(404);
      return structuredClone(s);
    },
    createNamespacedSecret: async ({ namespace, body }: { namespace: string; body: V1Secret }) => {
      if (stored.has(key(namespace, body.metadata!.name!))) throw fail(409);
      return store({ ...body, metadata: { ...body.metadata, namespace } });
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
      const s = stored.get(key(namespace, name));
      if (!s) throw fail(404);
      if (s.metadata!.resourceVersion !== body.metadata?.resourceVersion) throw fail(409);
      return store(body);
    },
    deleteNamespacedSecret: async ({ namespace, name }: { namespace: string; name: string }) => {
      if (!stored.delete(key(namespace, name))) throw fail(404);
      return {};
    },
  } as unknown as SecretsApi;
}

/** KEKs in memory; custody answers what the test sets, or fails when `custodyFails`. */
class CustodyProvider implements KeyProvider {
  private readonly keks = new Map<string, Buffer>();
  exportable = false;
  custodyFails = false;
  custodyReads = 0;

  describe(): ProviderDescription {
    return { provider: 'transit', reference: 'memory' };
  }
  keyRef(identity: KeyIdentity): string {
    return `memory/${identity.name}`;
  }
  async find(identity: KeyIdentity): Promise<KeyInfo | undefined> {
    return this.keks.has(identity.name) ? { ref: this.keyRef(identity) } : undefined;
  }
  async create(identity: KeyIdentity): Promise<KeyInfo> {
    if (this.keks.has(identity.name)) throw new KeyExistsError(identity.name, 'transit', 'memory');
    this.keks.set(identity.name, randomBytes(32));
    return { ref: this.keyRef(identity) };
  }
  async wrap(identity: KeyIdentity, dek: Buffer): Promise<string> {
    return sealWithKey(this.keks.get(identity.name)!, wrapAad(identity), dek);
  }
  async unwrap(identity: KeyIdentity, wrapped: string): Promise<Buffer> {
    return openWithKey(this.keks.get(identity.name)!, wrapAad(identity), wrapped);
  }
  async destroy(identity: KeyIdentity): Promise<boolean> {
    return this.keks.delete(identity.name);
  }
  async custody(): Promise<KeyCustody> {
    this.custodyReads++;
    if (this.custodyFails) throw new ProviderUnavailableError('the engine is sealed', 'transit');
    return transitCustody(transitKey({ exportable: this.exportable }), 'memory');
  }
}

describe('KeyLifecycle and custody', () => {
  /** One reconcile; the hub's status is what the keys controller would have written. */
  async function pass(lifecycle: KeyLifecycle, provider: CustodyProvider, h: HealthDataHub) {
    const r = await lifecycle.reconcile(h, provider);
    const next: HealthDataHub = {
      ...h,
      status: {
        conditions: [{ ...r.condition, lastTransitionTime: '2026-03-01T10:00:00Z' }],
        encryption: r.encryption,
      },
    };
    return { r, hub: next };
  }

  it('reports the custody read, warns once when it becomes Extractable, and keeps KeysReady as it is', async () => {
    const lifecycle = new KeyLifecycle({ secrets: memorySecrets() });
    const provider = new CustodyProvider();

    const first = await pass(lifecycle, provider, hub());
    expect(first.r.condition).toMatchObject({ status: 'True', reason: Reason.KeyAvailable });
    expect(first.r.encryption?.custody?.verdict).toBe('NonExtractable');
    expect(first.r.events.map((e) => e.reason)).toEqual([Reason.KeysCreated]);

    // The same reading again: nothing new to say, the same status.
    const again = await pass(lifecycle, provider, first.hub);
    expect(again.r.events).toEqual([]);
    expect(again.r.encryption).toEqual(first.r.encryption);

    // Made exportable at the provider (this fake still uses it; Transit itself is refused as
    // KeyInvalid by find, see the integration tests).
    provider.exportable = true;
    const exported = await pass(lifecycle, provider, again.hub);
    expect(exported.r.encryption?.custody).toMatchObject({
      verdict: 'Extractable',
      attributes: expect.arrayContaining([{ name: 'exportable', expected: 'false', observed: 'true' }]),
    });
    expect(exported.r.events).toEqual([
      { type: 'Warning', reason: Reason.KeyExtractable, note: expect.stringContaining('exportable=true') },
    ]);
    expect(exported.r.condition).toMatchObject({ status: 'True', reason: Reason.KeyAvailable });
    expect(exported.r.condition.message).toContain('extractable (status.encryption.custody)');
    // Said once, not at every reconcile.
    expect((await pass(lifecycle, provider, exported.hub)).r.events).toEqual([]);
  });

  it('keeps the last reading when the provider cannot be asked, and KeysReady does not move', async () => {
    const lifecycle = new KeyLifecycle({ secrets: memorySecrets() });
    const provider = new CustodyProvider();
    const first = await pass(lifecycle, provider, hub());
    provider.custodyFails = true;
    const failed = await pass(lifecycle, provider, first.hub);
    expect(provider.custodyReads).toBe(2);
    expect(failed.r.encryption).toEqual(first.r.encryption);
    expect(failed.r.condition).toEqual(first.r.condition);
    expect(failed.r.events).toEqual([]);
  });

  it('writes nothing once aborted during the custody read: the reconcile rejects with the reason', async () => {
    const lifecycle = new KeyLifecycle({ secrets: memorySecrets() });
    const provider = new CustodyProvider();
    const first = await pass(lifecycle, provider, hub());
    const controller = new AbortController();
    const lost = new Error('leadership lost');
    const read = provider.custody.bind(provider);
    provider.custody = async () => {
      // The lease is lost while the provider answers.
      const answer = await read();
      controller.abort(lost);
      return answer;
    };
    await expect(lifecycle.reconcile(first.hub, provider, { signal: controller.signal })).rejects.toBe(lost);
    expect(provider.custodyReads).toBe(2);
  });

  it('asks nothing of the provider about custody while the hub has no key', async () => {
    const lifecycle = new KeyLifecycle({ secrets: memorySecrets() });
    const provider = new CustodyProvider();
    const deleting = hub();
    deleting.metadata.deletionTimestamp = new Date('2026-03-01T10:00:00Z');
    deleting.metadata.finalizers = ['hdh.sovereign.eu/finalizer'];
    await lifecycle.reconcile(deleting, provider);
    expect(provider.custodyReads).toBe(0);
  });
});
