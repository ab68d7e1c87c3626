// The builtin provider against a real kube-apiserver: one immutable KEK Secret per hub, never
// overwritten, wrap/unwrap through it, destroy, and failures reported as unavailability.
import { randomUUID } from 'node:crypto';
import { CoreV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { statusCode } from '../../../src/runtime/errors.js';
import { BuiltinKeyProvider, KEK_SECRET_TYPE } from '../../../src/keys/builtin.js';
import {
  DEK_SECRET_TYPE,
  addDekVersion,
  generateDek,
  newDekSet,
  parseDekSecret,
  renderDekSecret,
} from '../../../src/keys/dek.js';
import { keyIdentity, type KeyIdentity } from '../../../src/keys/identity.js';
import { KeyMetrics, instrumentProvider } from '../../../src/keys/metrics.js';
import {
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  ProviderUnavailableError,
  UnwrapError,
} from '../../../src/keys/provider.js';
import { testKubeConfig } from '../../support/cluster.js';
import { metricValue } from '../../support/metrics.js';

const suffix = Date.now().toString(36);
const operatorNs = `it-keys-op-${suffix}`;
const hubNs = `it-keys-hub-${suffix}`;

let kc: KubeConfig;
let core: CoreV1Api;
let provider: BuiltinKeyProvider;

const newHub = (name = 'oncology'): KeyIdentity => keyIdentity({ namespace: hubNs, name, uid: randomUUID() });
const readSecret = (name: string, namespace = operatorNs): Promise<V1Secret> =>
  core.readNamespacedSecret({ name, namespace });
const errorOf = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
};

beforeAll(async () => {
  kc = testKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  for (const name of [operatorNs, hubNs]) await core.createNamespace({ body: { metadata: { name } } });
  provider = new BuiltinKeyProvider({ core, namespace: operatorNs });
});

afterAll(async () => {
  for (const name of [operatorNs, hubNs]) await core.deleteNamespace({ name }).catch(() => undefined);
});

describe('builtin provider', () => {
  it('creates one immutable KEK Secret per hub in the operator namespace, found afterwards', async () => {
    const id = newHub();
    expect(await provider.find(id)).toBeUndefined();
    const info = await provider.create(id);
    expect(info).toEqual({ ref: `secret/${operatorNs}/${id.name}` });
    expect(await provider.find(id)).toEqual(info);

    const secret = await readSecret(id.name);
    expect(secret.type).toBe(KEK_SECRET_TYPE);
    expect(secret.immutable).toBe(true);
    expect(secret.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'hdh-operator',
      'hdh.sovereign.eu/hub': 'oncology',
      'hdh.sovereign.eu/hub-namespace': hubNs,
      'hdh.sovereign.eu/hub-uid': id.hub.uid,
    });
    expect(secret.metadata?.ownerReferences).toBeUndefined();
    expect(Buffer.from(secret.data?.kek ?? '', 'base64')).toHaveLength(32);
  });

  it('never overwrites: a second create fails and the key stays the same', async () => {
    const id = newHub();
    await provider.create(id);
    const before = await readSecret(id.name);
    const e = await errorOf(provider.create(id));
    expect(e).toBeInstanceOf(KeyExistsError);
    expect(e.message).toContain(id.name);
    const after = await readSecret(id.name);
    expect(after.data).toEqual(before.data);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(e.message).not.toContain(before.data?.kek ?? '<no key>');

    // The API server itself refuses to change an immutable Secret's key.
    const replaced = { ...after, data: { kek: Buffer.alloc(32, 1).toString('base64') } };
    const refused = await errorOf(
      core.replaceNamespacedSecret({ name: id.name, namespace: operatorNs, body: replaced }),
    );
    expect(statusCode(refused)).toBe(422);
  });

  it('does not overwrite, use or accept a foreign Secret already under the identity', async () => {
    const id = newHub();
    const foreign = { metadata: { name: id.name, namespace: operatorNs }, stringData: { note: 'not a key' } };
    await core.createNamespacedSecret({ namespace: operatorNs, body: foreign });
    await expect(provider.create(id)).rejects.toThrow(KeyExistsError);
    await expect(provider.find(id)).rejects.toThrow(KeyInvalidError);
    await expect(provider.wrap(id, generateDek())).rejects.toThrow(KeyInvalidError);
    await expect(provider.destroy(id)).rejects.toThrow(KeyInvalidError);
    expect((await readSecret(id.name)).data).toEqual({ note: Buffer.from('not a key').toString('base64') });
  });

  it('wraps and unwraps DEKs; another hub cannot unwrap them; tampering is detected', async () => {
    const id = newHub();
    await provider.create(id);
    const dek = generateDek();
    const wrapped = await provider.wrap(id, dek);
    expect(wrapped).toMatch(/^v1:/);
    expect((await provider.unwrap(id, wrapped)).equals(dek)).toBe(true);

    const kek = (await readSecret(id.name)).data?.kek ?? '';
    expect(wrapped).not.toContain(kek);
    expect(wrapped).not.toContain(dek.toString('base64'));

    const other = newHub('cardiology');
    await provider.create(other);
    await expect(provider.unwrap(other, wrapped)).rejects.toThrow(UnwrapError);
    const raw = Buffer.from(wrapped.slice(3), 'base64');
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 1;
    await expect(provider.unwrap(id, `v1:${raw.toString('base64')}`)).rejects.toThrow(UnwrapError);
  });

  it('destroys the KEK: find says missing, unwrap fails with KeyMissing, destroy again is a no-op', async () => {
    const id = newHub();
    await provider.create(id);
    const wrapped = await provider.wrap(id, generateDek());
    expect(await provider.destroy(id)).toBe(true);
    expect(await provider.find(id)).toBeUndefined();
    await expect(provider.unwrap(id, wrapped)).rejects.toThrow(KeyMissingError);
    await expect(provider.wrap(id, generateDek())).rejects.toThrow(KeyMissingError);
    expect(await provider.destroy(id)).toBe(false);
    expect(statusCode(await errorOf(readSecret(id.name)))).toBe(404);
  });

  it('reports an unreachable API server or a missing namespace as unavailable', async () => {
    const id = newHub();
    const missingNs = new BuiltinKeyProvider({ core, namespace: `it-keys-absent-${suffix}` });
    expect(await missingNs.find(id)).toBeUndefined();
    const e = await errorOf(missingNs.create(id));
    expect(e).toBeInstanceOf(ProviderUnavailableError);
    expect(e.message).toMatch(/does namespace it-keys-absent-.* exist/);

    const down = new KubeConfig();
    down.loadFromOptions({
      clusters: [{ name: 'down', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'down', cluster: 'down', user: 'u' }],
      currentContext: 'down',
    });
    const unreachable = new BuiltinKeyProvider({
      core: down.makeApiClient(CoreV1Api),
      namespace: operatorNs,
    });
    await expect(unreachable.find(id)).rejects.toThrow(ProviderUnavailableError);
  });

  it('counts operations in the metrics without key material', async () => {
    const registry = new Registry();
    const p = instrumentProvider(provider, new KeyMetrics(registry));
    const id = newHub();
    await p.create(id);
    const dek = generateDek();
    const wrapped = await p.wrap(id, dek);
    await p.unwrap(id, wrapped);
    await expect(p.create(id)).rejects.toThrow(KeyExistsError);
    const text = await registry.metrics();
    const count = (op: string, result: string) =>
      metricValue(text, 'hdh_key_operations_total', { provider: 'builtin', op, result });
    expect([count('create', 'success'), count('wrap', 'success'), count('unwrap', 'success')]).toEqual([
      1, 1, 1,
    ]);
    expect(count('create', 'exists')).toBe(1);
    expect(metricValue(text, 'hdh_key_provider_up', { provider: 'builtin' })).toBe(1);
    const kek = (await readSecret(id.name)).data?.kek ?? '';
    for (const secret of [kek, dek.toString('base64'), dek.toString('hex'), wrapped]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('DEK Secret', () => {
  it('is accepted by the API server and parses back to the same set', async () => {
    const id = newHub();
    await provider.create(id);
    const hub = id.hub;
    const one = newDekSet({
      hub,
      provider: 'builtin',
      kekRef: provider.keyRef(id),
      wrapped: await provider.wrap(id, generateDek()),
      now: new Date(),
    });
    const two = addDekVersion(one, await provider.wrap(id, generateDek()), new Date());
    const created = await core.createNamespacedSecret({ namespace: hubNs, body: renderDekSecret(hub, two) });
    expect(created.type).toBe(DEK_SECRET_TYPE);
    expect(parseDekSecret(await readSecret(`${hub.name}-keys`, hubNs), hub)).toEqual(two);
  });
});
