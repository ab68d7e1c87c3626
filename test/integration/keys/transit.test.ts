// The transit provider against a real Vault dev server (same Transit API as OpenBao): the KEK is
// made non-exportable in the engine, wraps and unwraps DEKs across a rotation, is shredded only
// on destroy, and a missing key is never re-created by a wrap. Fails (never skips) without the
// vault binary: run hack/build-vault.sh.
import { randomUUID } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import type { HealthDataHub } from '../../../src/api/index.js';
import { generateDek } from '../../../src/keys/dek.js';
import { keyIdentity, type KeyIdentity } from '../../../src/keys/identity.js';
import {
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  ProviderUnavailableError,
  UnwrapError,
} from '../../../src/keys/provider.js';
import { providerFor } from '../../../src/keys/providers.js';
import { TransitKeyProvider } from '../../../src/keys/transit.js';
import { testKubeConfig } from '../../support/cluster.js';
import { hubManifest } from '../../support/hubs.js';
import { startVaultDevServer, type VaultDevServer } from '../../support/vault.js';

const suffix = Date.now().toString(36);
let vault: VaultDevServer;
let provider: TransitKeyProvider;

const newHub = (name = 'oncology'): KeyIdentity =>
  keyIdentity({ namespace: `it-transit-${suffix}`, name, uid: randomUUID() });

const caught = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
};

const keyPath = (id: KeyIdentity) => `/v1/transit/keys/${id.name}`;

beforeAll(async () => {
  vault = await startVaultDevServer();
  provider = new TransitKeyProvider({ address: vault.address, token: vault.rootToken, ca: vault.ca });
}, 60_000);

afterAll(async () => {
  await vault?.stop();
});

test('create makes a non-exportable aes256-gcm96 key without plaintext backup; find sees it', async () => {
  const id = newHub();
  expect(await provider.find(id)).toBeUndefined();
  const info = await provider.create(id);
  expect(info.ref).toBe(`${vault.address}/v1/transit/keys/${id.name}`);
  expect(info.versions).toEqual([1]);
  expect(await provider.find(id)).toEqual(info);

  const read = await vault.api('GET', keyPath(id));
  expect(read.status).toBe(200);
  expect(read.body?.data).toMatchObject({
    type: 'aes256-gcm96',
    exportable: false,
    allow_plaintext_backup: false,
    deletion_allowed: false,
  });
  // The engine itself refuses to export the key.
  const exported = await vault.api('GET', `/v1/transit/export/encryption-key/${id.name}`);
  expect(exported.status).toBe(400);
});

test('create refuses an existing key and keeps it', async () => {
  const id = newHub();
  await provider.create(id);
  const dek = generateDek();
  const wrapped = await provider.wrap(id, dek);
  const e = await caught(provider.create(id));
  expect(e).toBeInstanceOf(KeyExistsError);
  expect((await provider.unwrap(id, wrapped)).equals(dek)).toBe(true);
});

test('wrap and unwrap round trip; the wrapped form is a Transit ciphertext', async () => {
  const id = newHub();
  await provider.create(id);
  const dek = generateDek();
  const wrapped = await provider.wrap(id, dek);
  expect(wrapped).toMatch(/^vault:v1:/);
  expect(wrapped).not.toContain(dek.toString('base64'));
  expect((await provider.unwrap(id, wrapped)).equals(dek)).toBe(true);
});

test('a DEK wrapped by another hub does not unwrap, and garbage is an UnwrapError', async () => {
  const a = newHub('a');
  const b = newHub('b');
  await provider.create(a);
  await provider.create(b);
  const wrapped = await provider.wrap(a, generateDek());
  expect(await caught(provider.unwrap(b, wrapped))).toBeInstanceOf(UnwrapError);
  expect(await caught(provider.unwrap(a, 'v1:AAAA'))).toBeInstanceOf(UnwrapError);
});

test('rotate adds a version; old ciphertexts still unwrap; rewrap moves them to the latest', async () => {
  const id = newHub();
  await provider.create(id);
  const dek = generateDek();
  const old = await provider.wrap(id, dek);
  const info = await provider.rotate(id);
  expect(info.versions).toEqual([1, 2]);
  expect((await provider.unwrap(id, old)).equals(dek)).toBe(true);
  const fresh = await provider.wrap(id, generateDek());
  expect(fresh).toMatch(/^vault:v2:/);
  const rewrapped = await provider.rewrap(id, old);
  expect(rewrapped).toMatch(/^vault:v2:/);
  expect((await provider.unwrap(id, rewrapped)).equals(dek)).toBe(true);
});

test('destroy allows deletion of that one key, deletes it, and reports a second call', async () => {
  const id = newHub();
  await provider.create(id);
  expect(await provider.destroy(id)).toBe(true);
  expect(await provider.find(id)).toBeUndefined();
  expect((await vault.api('GET', keyPath(id))).status).toBe(404);
  expect(await provider.destroy(id)).toBe(false);
});

test('wrap, unwrap and rotate on a missing key are KeyMissingError and create nothing', async () => {
  const id = newHub();
  // The root token may create keys, so encrypt alone would silently make one (upsert).
  expect(await caught(provider.wrap(id, generateDek()))).toBeInstanceOf(KeyMissingError);
  expect(await caught(provider.unwrap(id, 'vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'))).toBeInstanceOf(
    KeyMissingError,
  );
  expect(await caught(provider.rotate(id))).toBeInstanceOf(KeyMissingError);
  expect((await vault.api('GET', keyPath(id))).status).toBe(404);
  expect(await provider.find(id)).toBeUndefined();
});

test('a key under the identity that the operator would not have made is KeyInvalidError', async () => {
  const id = newHub();
  const made = await vault.api('POST', keyPath(id), { type: 'aes256-gcm96', exportable: true });
  expect([200, 204]).toContain(made.status);
  const e = await caught(provider.find(id));
  expect(e).toBeInstanceOf(KeyInvalidError);
  expect(e.message).toContain('exportable');
  expect(await caught(provider.wrap(id, generateDek()))).toBeInstanceOf(KeyInvalidError);
});

test('a token without a policy is ProviderUnavailableError naming the fix, never the token', async () => {
  const made = await vault.api('POST', '/v1/auth/token/create', {
    policies: ['default'],
    no_default_policy: false,
    ttl: '10m',
  });
  expect(made.status).toBe(200);
  const weakToken = made.body?.auth?.client_token ?? '';
  expect(weakToken).not.toBe('');
  const weak = new TransitKeyProvider({
    address: vault.address,
    token: weakToken,
    ca: vault.ca,
    tokenSource: 'Secret ns/transit-token key token',
  });
  const e = await caught(weak.find(newHub()));
  expect(e).toBeInstanceOf(ProviderUnavailableError);
  expect(e.message).toContain('lacks a policy for transit/keys/');
  expect(e.message).toContain('Secret ns/transit-token key token');
  expect(e.message).not.toContain(weakToken);

  const wrong = new TransitKeyProvider({ address: vault.address, token: 'not-a-token', ca: vault.ca });
  expect(await caught(wrong.find(newHub()))).toBeInstanceOf(ProviderUnavailableError);
});

test('a missing mount, an untrusted certificate and an unreachable server are unavailable', async () => {
  const otherMount = new TransitKeyProvider({
    address: vault.address,
    mount: 'no-such-transit',
    token: vault.rootToken,
    ca: vault.ca,
  });
  const e = await caught(otherMount.find(newHub()));
  expect(e).toBeInstanceOf(ProviderUnavailableError);
  expect(e.message).toContain('spec.encryption.transit.mount');

  const untrusted = new TransitKeyProvider({ address: vault.address, token: vault.rootToken });
  const t = await caught(untrusted.find(newHub()));
  expect(t).toBeInstanceOf(ProviderUnavailableError);
  expect(t.message).toContain('caSecretRef');

  const down = new TransitKeyProvider({
    address: 'https://127.0.0.1:1',
    token: vault.rootToken,
    ca: vault.ca,
  });
  const d = await caught(down.find(newHub()));
  expect(d).toBeInstanceOf(ProviderUnavailableError);
  expect(d.message).toContain('unreachable');
  for (const err of [e, t, d]) expect(err.message).not.toContain(vault.rootToken);
});

describe('providerFor a transit hub', () => {
  let core: CoreV1Api;
  let ns: string;
  const secret = (name: string, data: Record<string, string>) =>
    core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name },
        data: Object.fromEntries(
          Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
      },
    });
  const transitHub = (tokenSecret: string): HealthDataHub => {
    const hub = hubManifest('oncology', ns);
    hub.metadata.uid = randomUUID();
    hub.spec.encryption = {
      provider: 'transit',
      transit: {
        address: vault.address,
        mount: 'transit',
        authSecretRef: { name: tokenSecret, key: 'token' },
        caSecretRef: { name: 'transit-ca', key: 'ca.crt' },
      },
    };
    return hub;
  };

  beforeAll(async () => {
    core = testKubeConfig().makeApiClient(CoreV1Api);
    ns = `it-transit-${suffix}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    // A trailing line break, as in Secrets made from files: it is not part of the token.
    await secret('transit-token', { token: `${vault.rootToken}\n` });
    await secret('transit-ca', { 'ca.crt': vault.ca });
  });

  afterAll(async () => {
    await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  test('reads the token and CA from the hub namespace and works end to end', async () => {
    const hub = transitHub('transit-token');
    const p = await providerFor(hub, { core, operatorNamespace: 'hdh-system' });
    expect(p.describe()).toEqual({ provider: 'transit', reference: `${vault.address} mount transit` });
    const id = keyIdentity({ namespace: ns, name: 'oncology', uid: hub.metadata.uid! });
    await p.create(id);
    const dek = generateDek();
    expect((await p.unwrap(id, await p.wrap(id, dek))).equals(dek)).toBe(true);
  });

  test('a missing token Secret makes an unavailable provider naming the Secret', async () => {
    const p = await providerFor(transitHub('no-such-secret'), { core, operatorNamespace: 'hdh-system' });
    const e = await caught(p.find(newHub()));
    expect(e).toBeInstanceOf(ProviderUnavailableError);
    expect(e.message).toContain(`token Secret ${ns}/no-such-secret does not exist`);
    expect(e.message).toContain('spec.encryption.transit.authSecretRef');
  });
});
