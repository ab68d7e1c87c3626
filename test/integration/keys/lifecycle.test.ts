// The key lifecycle against a real kube-apiserver, a real SoftHSM2 token and a real Vault Transit
// engine (the API OpenBao serves too): hubs are real
// HealthDataHub objects (real UIDs), results are written to their status and recorded as Events
// the way the hub reconciler does, and the suite ends by searching everything it produced (debug
// logs, Events, status, metrics) for key material and the PIN.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import winston from 'winston';
import {
  FINALIZER,
  FIELD_MANAGER,
  HEALTH_DATA_HUB,
  LABEL_RETAINED_FROM,
  setCondition,
  type HealthDataHub,
  type HubEncryption,
} from '../../../src/api/index.js';
import { KEK_SECRET_TYPE } from '../../../src/keys/builtin.js';
import { dekFingerprint, dekSecretName, kekIdentityOf, parseDekSecret } from '../../../src/keys/dek.js';
import { LABEL_HUB_UID, hubRefOf, keyIdentity } from '../../../src/keys/identity.js';
import { KeyLifecycle, type KeyLifecycleResult, type SecretsApi } from '../../../src/keys/lifecycle.js';
import { KeyMetrics } from '../../../src/keys/metrics.js';
import { finalizePkcs11Modules } from '../../../src/keys/pkcs11.js';
import { ProviderUnavailableError, type KeyProvider } from '../../../src/keys/provider.js';
import { providerFor, type ProviderDeps } from '../../../src/keys/providers.js';
import { Writer } from '../../../src/runtime/apply.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { statusCode } from '../../../src/runtime/errors.js';
import { EventRecorder } from '../../../src/runtime/events.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  getHub,
  hubManifest,
  listHubs,
  patchHub,
  prepareHubNamespace,
} from '../../support/hubs.js';
import { metricValue } from '../../support/metrics.js';
import {
  createSoftHsmToken,
  tokenFor,
  findKeyObjects,
  withTokenSession,
  type SoftHsmToken,
} from '../../support/softhsm.js';
import { startVaultDevServer, transitEncryption, type VaultDevServer } from '../../support/vault.js';
import { eventually } from '../../support/wait.js';

const suffix = Date.now().toString(36);
const operatorNs = `it-lc-op-${suffix}`;
// A distinctive PIN, so that finding it anywhere cannot be a coincidence.
const PIN = `pin-${randomBytes(6).toString('hex')}`;

let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let hubNs: string;
let token: SoftHsmToken;
let vault: VaultDevServer;
let registry: Registry;
let metrics: KeyMetrics;
let deps: ProviderDeps;
let lifecycle: KeyLifecycle;
let writer: Writer;
let recorder: EventRecorder;

// Everything the suite produced, for the leak check at the end.
const logLines: string[] = [];
const resultsSeen: KeyLifecycleResult[] = [];
// Every plaintext DEK seen while checking fingerprints.
const deksSeen: Buffer[] = [];

const log = winston.createLogger({
  level: 'debug',
  format: winston.format.json(),
  transports: [
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(chunk.toString('utf8'));
          done();
        },
      }),
    }),
  ],
});

const builtin = (over: Partial<HubEncryption> = {}): HubEncryption => ({ provider: 'builtin', ...over });
const pkcs11 = (over: Partial<HubEncryption> = {}): HubEncryption => ({
  provider: 'pkcs11',
  pkcs11: { module: token.module, tokenLabel: token.label, pinSecretRef: { name: 'hsm-pin', key: 'pin' } },
  ...over,
});
// Set once the Vault server runs (beforeAll).
let transitSettings: HubEncryption;
const transit = (over: Partial<HubEncryption> = {}): HubEncryption => ({ ...transitSettings, ...over });
const transitKeyPath = (name: string) => `/v1/transit/keys/${name}`;

const readHub = async (namespace: string, name: string): Promise<HealthDataHub | undefined> => {
  try {
    return await getHub(kc, namespace, name);
  } catch (e) {
    if (statusCode(e) === 404) return undefined;
    throw e;
  }
};
const newLifecycle = (secrets: SecretsApi = core, clock?: () => Date): KeyLifecycle =>
  new KeyLifecycle({ secrets, providers: deps, metrics, log, readHub, ...(clock ? { clock } : {}) });

async function newHub(
  name: string,
  encryption: HubEncryption,
  opts: { finalizer?: boolean; annotations?: Record<string, string> } = {},
): Promise<HealthDataHub> {
  const m = hubManifest(name, hubNs);
  m.spec.encryption = encryption;
  if (opts.finalizer) m.metadata.finalizers = [FINALIZER];
  if (opts.annotations) m.metadata.annotations = opts.annotations;
  await createHub(kc, m);
  return getHub(kc, hubNs, name);
}

async function annotate(
  hub: HealthDataHub,
  annotations: Record<string, string | null>,
): Promise<HealthDataHub> {
  await patchHub(kc, hubNs, hub.metadata.name!, { metadata: { annotations } });
  return getHub(kc, hubNs, hub.metadata.name!);
}

/** Deletes a hub that carries the finalizer: it stays, with a deletionTimestamp. */
async function startDeletion(hub: HealthDataHub): Promise<HealthDataHub> {
  await custom.deleteNamespacedCustomObject({
    ...HEALTH_DATA_HUB,
    namespace: hubNs,
    name: hub.metadata.name!,
  });
  return getHub(kc, hubNs, hub.metadata.name!);
}

async function releaseFinalizer(hub: HealthDataHub): Promise<void> {
  await writer.removeFinalizer(HEALTH_DATA_HUB, await getHub(kc, hubNs, hub.metadata.name!), FINALIZER);
}

/**
 * One pass as the hub reconciler makes it: reconcile the keys, write status.encryption and the
 * KeysReady condition, record the Events. Returns the result and the hub as stored afterwards.
 */
async function pass(
  hub: HealthDataHub,
  opts: { lc?: KeyLifecycle; provider?: KeyProvider; dataEvidence?: string } = {},
): Promise<{ result: KeyLifecycleResult; hub: HealthDataHub }> {
  const lc = opts.lc ?? lifecycle;
  const result = opts.provider
    ? await lc.reconcile(hub, opts.provider, { dataEvidence: opts.dataEvidence })
    : await lc.reconcileHub(hub, { dataEvidence: opts.dataEvidence });
  resultsSeen.push(result);
  await writer.applyStatus(HEALTH_DATA_HUB, hub.metadata.name!, hubNs, {
    encryption: result.encryption,
    conditions: setCondition(hub.status?.conditions, result.condition),
  });
  for (const e of result.events) await recorder.record(hub, e.type, e.reason, e.note);
  return { result, hub: await getHub(kc, hubNs, hub.metadata.name!) };
}

async function readKeys(hub: HealthDataHub): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name: dekSecretName(hub.metadata.name!), namespace: hubNs });
  } catch (e) {
    if (statusCode(e) === 404) return undefined;
    throw e;
  }
}

/** Fingerprints of every stored version, by version; remembers the DEKs for the leak check. */
async function fingerprints(hub: HealthDataHub): Promise<Map<number, string>> {
  const secret = await readKeys(hub);
  const out = new Map<number, string>();
  if (!secret) return out;
  const ref = hubRefOf(hub);
  const set = parseDekSecret(secret, ref);
  const provider = await providerFor(hub, deps);
  for (const v of set.versions) {
    const dek = await provider.unwrap(kekIdentityOf(set, ref)!, v.wrapped);
    deksSeen.push(Buffer.from(dek));
    out.set(v.version, dekFingerprint(dek));
    dek.fill(0);
  }
  return out;
}

/** How many KEKs exist for the hub at its provider (its identity includes the UID). */
async function kekCount(hub: HealthDataHub): Promise<number> {
  const id = keyIdentity(hubRefOf(hub));
  const provider = hub.spec.encryption?.provider ?? 'builtin';
  if (provider === 'pkcs11') {
    return withTokenSession(token, (t) => findKeyObjects(t, id.name).length);
  }
  if (provider === 'transit') {
    // Transit key names are unique in a mount: one key, or none.
    return (await vault.api('GET', transitKeyPath(id.name))).status === 200 ? 1 : 0;
  }
  const list = await core.listNamespacedSecret({
    namespace: operatorNs,
    labelSelector: `${LABEL_HUB_UID}=${hub.metadata.uid}`,
  });
  return list.items.length;
}

async function deleteKekOutOfBand(hub: HealthDataHub): Promise<void> {
  const id = keyIdentity(hubRefOf(hub));
  if (hub.spec.encryption?.provider === 'pkcs11') {
    withTokenSession(token, (t) => {
      for (const h of findKeyObjects(t, id.name)) t.lib.C_DestroyObject(t.session, h);
    });
  } else if (hub.spec.encryption?.provider === 'transit') {
    await vault.api('POST', `${transitKeyPath(id.name)}/config`, { deletion_allowed: true });
    expect((await vault.api('DELETE', transitKeyPath(id.name))).status).toBe(204);
  } else {
    await core.deleteNamespacedSecret({ name: id.name, namespace: operatorNs });
  }
}

// ---- fault injection: a crash or lost answer at the n-th operation, before or after it ran ----

class Faults {
  private count = 0;
  constructor(
    private readonly failAt: number,
    private readonly phase: 'before' | 'after',
  ) {}

  fired = false;

  async around<T>(run: () => Promise<T>, error: () => Error): Promise<T> {
    const n = ++this.count;
    if (n === this.failAt && this.phase === 'before') {
      this.fired = true;
      throw error();
    }
    // After: the operation ran (succeeded or failed), but its answer is lost.
    const lost = n === this.failAt && this.phase === 'after';
    let value: T;
    try {
      value = await run();
    } catch (e) {
      if (!lost) throw e;
      value = undefined as T;
    }
    if (lost) {
      this.fired = true;
      throw error();
    }
    return value;
  }

  provider(p: KeyProvider): KeyProvider {
    const name = p.describe().provider;
    const fail = (op: string) => () => new ProviderUnavailableError(`injected failure in ${op}`, name);
    const { rotate, rewrap, kekVersionOf } = p;
    return {
      find: (id) => this.around(() => p.find(id), fail('find')),
      create: (id) => this.around(() => p.create(id), fail('create')),
      wrap: (id, dek) => this.around(() => p.wrap(id, dek), fail('wrap')),
      unwrap: (id, w) => this.around(() => p.unwrap(id, w), fail('unwrap')),
      destroy: (id) => this.around(() => p.destroy(id), fail('destroy')),
      describe: () => p.describe(),
      ...(rotate ? { rotate: (id) => this.around(() => rotate.call(p, id), fail('rotate')) } : {}),
      ...(rewrap ? { rewrap: (id, w) => this.around(() => rewrap.call(p, id, w), fail('rewrap')) } : {}),
      // Reads the wrapped value only: not an operation that can fail at the provider.
      ...(kekVersionOf ? { kekVersionOf: (w) => kekVersionOf.call(p, w) } : {}),
    };
  }

  secrets(api: CoreV1Api): SecretsApi {
    // A lost connection: no HTTP status, so nothing can be concluded from it.
    const fail = (op: string) => () => new Error(`injected connection loss in ${op}`);
    return {
      readNamespacedSecret: (r) => this.around(() => api.readNamespacedSecret(r), fail('read')),
      createNamespacedSecret: (r) => this.around(() => api.createNamespacedSecret(r), fail('create')),
      replaceNamespacedSecret: (r) => this.around(() => api.replaceNamespacedSecret(r), fail('replace')),
      deleteNamespacedSecret: (r) => this.around(() => api.deleteNamespacedSecret(r), fail('delete')),
    } as SecretsApi;
  }
}

/** A pass with the fault injected; it may throw or report the provider unavailable. */
async function faultyPass(hub: HealthDataHub, faults: Faults): Promise<void> {
  const lc = newLifecycle(faults.secrets(core));
  const provider = faults.provider(await providerFor(hub, deps));
  try {
    await pass(hub, { lc, provider });
  } catch {
    // A crash: whatever the pass did before is what the next one finds.
  }
}

beforeAll(async () => {
  kc = testKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  hubNs = await prepareHubNamespace(kc, 'it-lifecycle');
  await core.createNamespace({ body: { metadata: { name: operatorNs } } });
  token = createSoftHsmToken(`hdh-lc-${suffix}`, PIN);
  await core.createNamespacedSecret({
    namespace: hubNs,
    body: { metadata: { name: 'hsm-pin' }, stringData: { pin: `${PIN}\n` } },
  });
  vault = await startVaultDevServer();
  transitSettings = await transitEncryption(core, hubNs, vault);
  registry = new Registry();
  metrics = new KeyMetrics(registry);
  deps = {
    core,
    operatorNamespace: operatorNs,
    metrics,
    pkcs11AllowedModules: token.allowedModules,
    pkcs11AllowedTokens: tokenFor(token, hubNs),
  };
  lifecycle = newLifecycle();
  const clients = new ApiClients(kc);
  writer = new Writer(clients, FIELD_MANAGER);
  recorder = new EventRecorder(clients, 'hdh.sovereign.eu/hdh-operator', 'it-lifecycle', log);
});

afterAll(async () => {
  finalizePkcs11Modules();
  await vault?.stop();
  if (hubNs) {
    for (const h of await listHubs(kc, hubNs).catch(() => [])) {
      await writer.removeFinalizer(HEALTH_DATA_HUB, h, FINALIZER).catch(() => undefined);
    }
  }
  for (const name of [operatorNs, hubNs])
    if (name) await core.deleteNamespace({ name }).catch(() => undefined);
});

const providers = [
  ['builtin', builtin],
  ['pkcs11', pkcs11],
  ['transit', transit],
] as const;

describe.each(providers)('%s hub', (provider, encryption) => {
  it('reaches KeysReady=True with key version 1, one KEK and a status that names it', async () => {
    const { result, hub } = await pass(await newHub(`ready-${provider}`, encryption()));
    expect(result).toMatchObject({ action: 'none', ready: true, released: false, requeueAfterMs: undefined });
    expect(result.condition).toMatchObject({ type: 'KeysReady', status: 'True', reason: 'KeyAvailable' });
    expect(result.events.map((e) => e.reason)).toEqual(['KeysCreated']);
    const id = keyIdentity(hubRefOf(hub));
    expect(hub.status?.encryption).toEqual({
      provider,
      keyRef: {
        builtin: `secret/${operatorNs}/${id.name}`,
        pkcs11: `pkcs11:token=${token.label};object=${id.name};type=secret-key`,
        transit: `${vault.address}/v1/transit/keys/${id.name}`,
      }[provider],
      activeVersion: 1,
      versions: 1,
      lastRotationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      // Read from the provider itself: the token's attributes, the engine's settings.
      custody: expect.objectContaining({
        verdict: provider === 'builtin' ? 'SecretInCluster' : 'NonExtractable',
      }),
    });
    expect(await kekCount(hub)).toBe(1);
    const secret = (await readKeys(hub))!;
    expect(secret.metadata?.ownerReferences).toBeUndefined();
    expect((await fingerprints(hub)).size).toBe(1);

    // A second pass changes nothing.
    const again = await pass(hub);
    expect(again.result).toMatchObject({ action: 'none', events: [] });
    expect((await readKeys(hub))!.metadata?.resourceVersion).toBe(secret.metadata?.resourceVersion);
  });

  it('adds exactly one version per new rotate-key value, keeping every older version', async () => {
    let hub = (await pass(await newHub(`rotate-${provider}`, encryption()))).hub;
    const before = await fingerprints(hub);
    const rotations = metricValue(await registry.metrics(), 'hdh_key_rotations_total');

    hub = await annotate(hub, { 'hdh.sovereign.eu/rotate-key': 'r1' });
    const first = await pass(hub);
    expect(first.result.events.map((e) => e.reason)).toEqual(['KeyRotated']);
    expect(first.hub.status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });
    // The same value again, on a stale or a fresh copy of the hub: nothing more.
    expect((await pass(hub)).result).toMatchObject({ action: 'none', events: [] });
    expect((await pass(first.hub)).hub.status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });

    hub = await annotate(first.hub, { 'hdh.sovereign.eu/rotate-key': 'r2' });
    expect((await pass(hub)).hub.status?.encryption).toMatchObject({ activeVersion: 3, versions: 3 });
    expect((await pass(hub)).hub.status?.encryption).toMatchObject({ activeVersion: 3, versions: 3 });

    const after = await fingerprints(hub);
    expect(after.size).toBe(3);
    expect(after.get(1)).toBe(before.get(1));
    expect(new Set(after.values()).size).toBe(3);
    expect(metricValue(await registry.metrics(), 'hdh_key_rotations_total')).toBe(rotations + 2);
    expect(await kekCount(hub)).toBe(1);
  });

  it('rotates by interval from the active version creation time, once per interval', async () => {
    let now = new Date();
    const lc = newLifecycle(core, () => now);
    const created = await pass(await newHub(`interval-${provider}`, encryption({ rotationInterval: '1h' })), {
      lc,
    });
    expect(created.result.requeueAfterMs).toBe(3_600_000);
    now = new Date(now.getTime() + 3_600_000 + 1000);
    const rotated = await pass(created.hub, { lc });
    expect(rotated.result.events.map((e) => e.reason)).toEqual(['KeyRotated']);
    expect(rotated.hub.status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });
    expect(rotated.result.requeueAfterMs).toBe(3_600_000);
    expect((await pass(rotated.hub, { lc })).hub.status?.encryption).toMatchObject({ versions: 2 });
  });

  it('blocks with KeyMissing and creates nothing when the KEK is deleted out of band', async () => {
    const { hub } = await pass(await newHub(`kek-gone-${provider}`, encryption()));
    const before = (await readKeys(hub))!;
    await deleteKekOutOfBand(hub);

    const { result, hub: after } = await pass(await annotate(hub, { 'hdh.sovereign.eu/rotate-key': 'x' }));
    expect(result).toMatchObject({ action: 'block', ready: false });
    expect(result.condition).toMatchObject({ status: 'False', reason: 'KeyMissing' });
    expect(result.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'KeyMissing' })]);
    expect(await kekCount(hub)).toBe(0);
    expect((await readKeys(hub))!.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    // Status keeps reporting the versions that exist; the Event is not repeated.
    expect(after.status?.encryption).toMatchObject({ activeVersion: 1, versions: 1 });
    expect((await pass(after)).result.events).toEqual([]);
    expect(await kekCount(hub)).toBe(0);
  });

  it('blocks with KeyMissing when the wrapped keys are deleted while the KEK exists', async () => {
    const created = await newHub(`dek-gone-${provider}`, encryption());
    const { hub } = await pass(created);
    await core.deleteNamespacedSecret({ name: dekSecretName(hub.metadata.name!), namespace: hubNs });

    // A stale copy of the hub (a cache that has not seen the status yet) shows no evidence; the
    // lifecycle reads the hub afresh before it would create anything.
    const stale = await pass(created);
    expect(stale.result.condition).toMatchObject({ status: 'False', reason: 'KeyMissing' });
    expect(stale.hub.status?.encryption).toMatchObject({ versions: 1 });

    const { result, hub: after } = await pass(hub);
    expect(result.condition).toMatchObject({ status: 'False', reason: 'KeyMissing' });
    expect(result.condition.message).toMatch(/status reports 1 key version/);
    expect(await readKeys(hub)).toBeUndefined();
    expect(await kekCount(hub)).toBe(1);
    // The evidence stays in status, so the next pass blocks too.
    expect(after.status?.encryption).toMatchObject({ versions: 1 });
    expect((await pass(after)).result.condition.reason).toBe('KeyMissing');
    expect(await readKeys(hub)).toBeUndefined();
  });
});

describe('deletion', () => {
  it('crypto-shreds with CryptoShred and confirm-destroy equal to the UID: token object and keys gone', async () => {
    let hub = (await pass(await newHub('shred-ok', pkcs11({ onDelete: 'CryptoShred' }), { finalizer: true })))
      .hub;
    expect(await kekCount(hub)).toBe(1);
    hub = await annotate(hub, { 'hdh.sovereign.eu/confirm-destroy': hub.metadata.uid! });
    const { result } = await pass(await startDeletion(hub));
    expect(result).toMatchObject({ action: 'released', released: true });
    expect(result.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'KeysDestroyed' })]);
    expect(result.events[0]!.note).toMatch(/key-encryption key pkcs11:.* destroyed; Secret shred-ok-keys/);
    expect(await kekCount(hub)).toBe(0);
    expect(await readKeys(hub)).toBeUndefined();
    await releaseFinalizer(hub);
  });

  it.each([
    ['missing', undefined, /no hdh.sovereign.eu\/confirm-destroy annotation/],
    ['wrong', 'yes-destroy-it', /does not equal the hub's metadata.uid/],
  ])('keeps everything with a %s confirmation, marking the keys retained', async (what, confirm, note) => {
    let hub = (
      await pass(await newHub(`shred-${what}`, pkcs11({ onDelete: 'CryptoShred' }), { finalizer: true }))
    ).hub;
    const before = await fingerprints(hub);
    if (confirm) hub = await annotate(hub, { 'hdh.sovereign.eu/confirm-destroy': confirm });
    const { result } = await pass(await startDeletion(hub));
    expect(result).toMatchObject({ action: 'released', released: true });
    expect(result.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'KeysRetained' })]);
    expect(result.events[0]!.note).toMatch(note);
    expect(await kekCount(hub)).toBe(1);
    const secret = (await readKeys(hub))!;
    expect(secret.metadata?.labels?.[LABEL_RETAINED_FROM]).toBe(hub.metadata.uid);
    expect(await fingerprints(hub)).toEqual(before);
    await releaseFinalizer(hub);
  });

  it('keeps the keys of a Keep hub, and a recreated hub of the same name does not use them', async () => {
    const hub = (await pass(await newHub('recreated', builtin(), { finalizer: true }))).hub;
    const before = await fingerprints(hub);
    const deleting = await startDeletion(hub);
    const { result } = await pass(deleting);
    expect(result.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'KeysRetained' })]);
    // Once marked, further passes have nothing to do; they say again that the keys are kept (so a
    // deletion that stopped before recording it records it on its next pass).
    expect((await pass(deleting)).result).toMatchObject({
      released: true,
      events: [expect.objectContaining({ type: 'Normal', reason: 'KeysRetained' })],
    });
    await releaseFinalizer(hub);
    await waitGone(hub.metadata.name!);

    const successor = await newHub('recreated', builtin());
    expect(successor.metadata.uid).not.toBe(hub.metadata.uid);
    const next = await pass(successor);
    expect(next.result.condition).toMatchObject({ status: 'False', reason: 'RetainedKeysFound' });
    expect(next.result.condition.message).toContain(hub.metadata.uid!);
    expect(await kekCount(successor)).toBe(0);
    expect(await kekCount(hub)).toBe(1);
    expect(await fingerprints(hub)).toEqual(before);
  });
});

describe.each(providers)('adoption of retained keys (%s)', (provider, encryption) => {
  /** A hub with keys, deleted with Keep: its keys retained, the hub gone. */
  async function retainedHub(name: string): Promise<{ hub: HealthDataHub; before: Map<number, string> }> {
    let hub = (await pass(await newHub(name, encryption(), { finalizer: true }))).hub;
    hub = (await pass(await annotate(hub, { 'hdh.sovereign.eu/rotate-key': 'r1' }))).hub;
    const before = await fingerprints(hub);
    expect(before.size).toBe(2);
    await pass(await startDeletion(hub));
    await releaseFinalizer(hub);
    await waitGone(name);
    return { hub, before };
  }

  it('takes over the kept keys only when adopt-keys names the earlier hub; they keep their KEK', async () => {
    const name = `adopt-${provider}`;
    const { hub: earlier, before } = await retainedHub(name);
    const uid = earlier.metadata.uid!;

    // A wrong value: blocked, with the UID to use; nothing written.
    let successor = await newHub(name, encryption(), {
      finalizer: true,
      annotations: { 'hdh.sovereign.eu/adopt-keys': '00000000-0000-4000-8000-000000000000' },
    });
    const kept = (await readKeys(successor))!;
    const wrong = await pass(successor);
    expect(wrong.result.condition).toMatchObject({ status: 'False', reason: 'RetainedKeysFound' });
    expect(wrong.result.condition.message).toContain(`set the annotation to ${uid}`);
    expect((await readKeys(successor))!.metadata?.resourceVersion).toBe(kept.metadata?.resourceVersion);

    successor = await annotate(wrong.hub, { 'hdh.sovereign.eu/adopt-keys': uid });
    const adopted = await pass(successor);
    expect(adopted.result.condition).toMatchObject({ status: 'True', reason: 'KeyAvailable' });
    expect(adopted.result.events.map((e) => e.reason)).toContain('KeysAdopted');
    expect(adopted.result.kekUid).toBe(uid);
    expect(adopted.hub.status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });
    expect(adopted.hub.status?.encryption?.keyRef).toContain(uid);
    const secret = (await readKeys(successor))!;
    expect(secret.metadata?.labels?.[LABEL_HUB_UID]).toBe(successor.metadata.uid);
    expect(secret.metadata?.labels?.[LABEL_RETAINED_FROM]).toBeUndefined();
    expect(Buffer.from(secret.data!['kek-uid']!, 'base64').toString()).toBe(uid);
    // The same DEKs, the same single KEK: none was made for the successor.
    expect(await fingerprints(adopted.hub)).toEqual(before);
    expect(await kekCount(earlier)).toBe(1);
    expect(await kekCount(successor)).toBe(0);

    // The adopted keys rotate under their KEK, and are crypto-shredded with it.
    const rotated = await pass(await annotate(adopted.hub, { 'hdh.sovereign.eu/rotate-key': 'r2' }));
    expect(rotated.hub.status?.encryption).toMatchObject({ activeVersion: 3, versions: 3 });
    const after = await fingerprints(rotated.hub);
    for (const [v, fp] of before) expect(after.get(v)).toBe(fp);
    expect(await kekCount(successor)).toBe(0);

    let doomed = await annotate(rotated.hub, {
      'hdh.sovereign.eu/confirm-destroy': successor.metadata.uid!,
    });
    await patchHub(kc, hubNs, name, { spec: { encryption: { onDelete: 'CryptoShred' } } });
    doomed = await startDeletion(await getHub(kc, hubNs, name));
    // The earlier hub's KEK is destroyed only when the hub's own record names it: with the status
    // lost, nothing is destroyed, however often the hub is looked at.
    const recorded = doomed.status!.encryption!;
    const { keyRef: _kept, ...withoutRef } = recorded;
    await writer.applyStatus(HEALTH_DATA_HUB, name, hubNs, { encryption: withoutRef });
    for (let i = 0; i < 2; i++) {
      const stopped = await pass(await getHub(kc, hubNs, name));
      expect(stopped.result.condition).toMatchObject({ status: 'False', reason: 'KeyInvalid' });
      expect(stopped.result.condition.message).toMatch(/^crypto-shred stopped, nothing destroyed/);
      expect(await kekCount(earlier)).toBe(1);
    }
    await writer.applyStatus(HEALTH_DATA_HUB, name, hubNs, { encryption: recorded });
    const shred = await pass(await getHub(kc, hubNs, name));
    expect(shred.result).toMatchObject({ released: true });
    expect(shred.result.events.map((e) => e.reason)).toEqual(['KeysDestroyed']);
    expect(await kekCount(earlier)).toBe(0);
    expect(await readKeys(successor)).toBeUndefined();
    await releaseFinalizer(doomed);
  });

  it('makes no new keys when the keys to adopt are gone, nor over a KEK that is gone', async () => {
    const name = `adopt-gone-${provider}`;
    const { hub: earlier } = await retainedHub(name);
    const uid = earlier.metadata.uid!;
    await deleteKekOutOfBand(earlier);
    const successor = await newHub(name, encryption(), {
      annotations: { 'hdh.sovereign.eu/adopt-keys': uid },
    });
    const kekGone = await pass(successor);
    expect(kekGone.result.condition).toMatchObject({ status: 'False', reason: 'KeyMissing' });
    expect(Buffer.from((await readKeys(successor))!.data!['hub-uid']!, 'base64').toString()).toBe(uid);

    await core.deleteNamespacedSecret({ name: dekSecretName(name), namespace: hubNs });
    const keysGone = await pass(kekGone.hub);
    expect(keysGone.result.condition).toMatchObject({ status: 'False', reason: 'KeyMissing' });
    expect(keysGone.result.condition.message).toMatch(/no new keys are made/);
    expect(await readKeys(successor)).toBeUndefined();
    expect(await kekCount(successor)).toBe(0);
  });
});

describe('keys swapped under a hub', () => {
  it('blocks, keeps the record of the KEK the hub used, and never lets a crypto-shred destroy the other KEK', async () => {
    const name = 'swapped';
    // An earlier hub of the same name, deleted with Keep; its kept Secret moved aside.
    let earlier = (await pass(await newHub(name, builtin(), { finalizer: true }))).hub;
    await pass(await startDeletion(earlier));
    await releaseFinalizer(earlier);
    await waitGone(name);
    const kept = (await readKeys(earlier))!;
    await core.deleteNamespacedSecret({ name: dekSecretName(name), namespace: hubNs });

    // The new hub makes its own keys.
    let hub = (await pass(await newHub(name, builtin({ onDelete: 'CryptoShred' }), { finalizer: true }))).hub;
    const ownRef = hub.status!.encryption!.keyRef!;
    expect(ownRef).toContain(hub.metadata.uid!);

    // Someone with write access to Secrets puts the earlier keys in its place, as if adopted.
    const forged = (await readKeys(hub))!;
    const earlierData = Object.fromEntries(
      Object.entries(kept.data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    await core.replaceNamespacedSecret({
      name: dekSecretName(name),
      namespace: hubNs,
      body: {
        ...forged,
        stringData: { ...earlierData, 'hub-uid': hub.metadata.uid!, 'kek-uid': earlier.metadata.uid! },
        data: {},
      },
    });
    for (let i = 0; i < 2; i++) {
      const r = await pass(await getHub(kc, hubNs, name));
      expect(r.result.condition).toMatchObject({ status: 'False', reason: 'KeyInvalid' });
      expect(r.result.condition.message).toContain(`has been using ${ownRef}`);
      expect(r.hub.status?.encryption?.keyRef).toBe(ownRef);
      hub = r.hub;
    }

    hub = await startDeletion(await annotate(hub, { 'hdh.sovereign.eu/confirm-destroy': hub.metadata.uid! }));
    const shred = await pass(hub);
    expect(shred.result.condition).toMatchObject({ status: 'False', reason: 'KeyInvalid' });
    expect(shred.result.condition.message).toMatch(/^crypto-shred stopped, nothing destroyed/);
    expect(await kekCount(earlier)).toBe(1);
    expect(await kekCount(hub)).toBe(1);
    await releaseFinalizer(hub);
    earlier = hub;
  });
});

describe('transit KEK rotation', () => {
  it('rotates the KEK with each key rotation and rewraps every stored version, keeping the DEKs', async () => {
    let hub = (await pass(await newHub('kek-rotation', transit()))).hub;
    const first = await fingerprints(hub);
    expect(await transitLatest(hub)).toBe(1);
    const rewrapsBefore = metricValue(await registry.metrics(), 'hdh_key_operations_total', {
      provider: 'transit',
      op: 'rewrap',
      result: 'success',
    });

    const rotated = await pass(await annotate(hub, { 'hdh.sovereign.eu/rotate-key': 'k1' }));
    hub = rotated.hub;
    expect(rotated.result.events.map((e) => e.reason)).toEqual(['KeyRotated']);
    expect(rotated.result.events[0]!.note).toMatch(
      /key-encryption key rotated to version 2, and key version 1 rewrapped under its version 2/,
    );
    expect(await transitLatest(hub)).toBe(2);
    const set = parseDekSecret((await readKeys(hub))!, hubRefOf(hub));
    expect(set.versions.map((v) => v.wrapped.split(':')[1])).toEqual(['v2', 'v2']);
    const second = await fingerprints(hub);
    expect(second.get(1)).toBe(first.get(1));
    expect(second.size).toBe(2);
    expect(
      metricValue(await registry.metrics(), 'hdh_key_operations_total', {
        provider: 'transit',
        op: 'rewrap',
        result: 'success',
      }),
    ).toBe(rewrapsBefore + 1);

    // The old KEK version can now be retired at the engine: every stored version still unwraps.
    const path = transitKeyPath(keyIdentity(hubRefOf(hub)).name);
    expect((await vault.api('POST', `${path}/config`, { min_decryption_version: 2 })).status).toBeLessThan(
      300,
    );
    expect(await fingerprints(hub)).toEqual(second);
    expect((await pass(hub)).result).toMatchObject({ action: 'none', ready: true, events: [] });
  });

  it('rewraps stored versions when the KEK was rotated at the engine, adding no key version', async () => {
    let hub = (await pass(await newHub('kek-rotated-elsewhere', transit()))).hub;
    hub = (await pass(await annotate(hub, { 'hdh.sovereign.eu/rotate-key': 'k1' }))).hub;
    const before = await fingerprints(hub);
    const path = transitKeyPath(keyIdentity(hubRefOf(hub)).name);
    expect((await vault.api('POST', `${path}/rotate`)).status).toBeLessThan(300);
    expect(await transitLatest(hub)).toBe(3);

    const { result, hub: after } = await pass(hub);
    expect(result).toMatchObject({ action: 'none', ready: true });
    expect(result.events).toEqual([
      expect.objectContaining({
        type: 'Normal',
        reason: 'KeysRewrapped',
        note: expect.stringMatching(/^key versions 1 and 2 rewrapped under version 3 of key-encryption key/),
      }),
    ]);
    expect(after.status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });
    const set = parseDekSecret((await readKeys(hub))!, hubRefOf(hub));
    expect(set.versions.every((v) => v.wrapped.startsWith('vault:v3:'))).toBe(true);
    expect(await fingerprints(after)).toEqual(before);
    expect(await transitLatest(hub)).toBe(3);
    expect((await pass(after)).result.events).toEqual([]);
  });

  it('blocks with KeyInvalid, changing nothing, when a stored version cannot be rewrapped', async () => {
    let hub = (await pass(await newHub('kek-damaged', transit()))).hub;
    hub = (await pass(await annotate(hub, { 'hdh.sovereign.eu/rotate-key': 'k1' }))).hub;
    // Version 1 damaged (a ciphertext of the right shape that does not authenticate); the active
    // version 2 is intact, so the hub is ready until something needs version 1.
    const secret = (await readKeys(hub))!;
    const damaged = `vault:v2:${randomBytes(60).toString('base64')}`;
    await core.replaceNamespacedSecret({
      name: secret.metadata!.name!,
      namespace: hubNs,
      body: { ...secret, data: { ...secret.data, 'dek-v1': Buffer.from(damaged).toString('base64') } },
    });
    const before = (await readKeys(hub))!;

    // A rotation, which rewraps every version under a new KEK version, stops before the KEK
    // rotates: nothing changes anywhere.
    const asked = await pass(await annotate(hub, { 'hdh.sovereign.eu/rotate-key': 'k2' }));
    expect(asked.result.condition).toMatchObject({ status: 'False', reason: 'KeyInvalid' });
    expect(asked.result.condition.message).toMatch(/key version 1 does not unwrap: /);
    expect(await transitLatest(hub)).toBe(2);
    expect((await readKeys(hub))!.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);

    // The KEK rotated at the engine: version 1 cannot be rewrapped either.
    const path = transitKeyPath(keyIdentity(hubRefOf(hub)).name);
    expect((await vault.api('POST', `${path}/rotate`)).status).toBeLessThan(300);
    const { result } = await pass(asked.hub);
    expect(result).toMatchObject({ action: 'block', ready: false });
    expect(result.condition).toMatchObject({ status: 'False', reason: 'KeyInvalid' });
    expect(result.condition.message).toMatch(
      /key version 1 cannot be rewrapped: .*restore Secret kek-damaged-keys/,
    );
    expect((await readKeys(hub))!.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(await transitLatest(hub)).toBe(3);
  });
});

describe('fail closed', () => {
  it('reports a wrong PIN, a missing PIN Secret and a missing Transit token as KeyProviderUnavailable, creating nothing', async () => {
    await core.createNamespacedSecret({
      namespace: hubNs,
      body: { metadata: { name: 'wrong-pin' }, stringData: { pin: 'not-the-pin-0000' } },
    });
    const cases: [string, HubEncryption, RegExp][] = [
      [
        'wrong-pin',
        pkcs11({
          pkcs11: {
            module: token.module,
            tokenLabel: token.label,
            pinSecretRef: { name: 'wrong-pin', key: 'pin' },
          },
        }),
        /refused the PIN/,
      ],
      [
        'no-pin',
        pkcs11({
          pkcs11: {
            module: token.module,
            tokenLabel: token.label,
            pinSecretRef: { name: 'absent', key: 'pin' },
          },
        }),
        /PIN Secret .*\/absent does not exist/,
      ],
      [
        'transit',
        {
          provider: 'transit',
          transit: { address: 'https://openbao.invalid:8200', authSecretRef: { name: 'bao', key: 'token' } },
        },
        /bao/, // the missing token Secret is named
      ],
    ];
    for (const [name, enc, message] of cases) {
      const { result, hub } = await pass(await newHub(`unavailable-${name}`, enc));
      expect(result).toMatchObject({ action: 'wait', ready: false, requeueAfterMs: 30_000 });
      expect(result.condition).toMatchObject({ status: 'False', reason: 'KeyProviderUnavailable' });
      expect(result.condition.message).toMatch(message);
      expect(result.events).toEqual([
        expect.objectContaining({ type: 'Warning', reason: 'KeyProviderUnavailable' }),
      ]);
      expect(await readKeys(hub)).toBeUndefined();
      if (name !== 'transit') expect(await kekCount(hub)).toBe(0);
    }
    const text = await registry.metrics();
    expect(metricValue(text, 'hdh_key_provider_up', { provider: 'transit' })).toBe(0);
  });

  it('recovers by itself when the provider is back', async () => {
    await core.createNamespacedSecret({
      namespace: hubNs,
      body: { metadata: { name: 'late-pin' }, stringData: { pin: 'placeholder-0000' } },
    });
    const enc = pkcs11({
      pkcs11: {
        module: token.module,
        tokenLabel: token.label,
        pinSecretRef: { name: 'late-pin', key: 'pin' },
      },
    });
    const first = await pass(await newHub('recovers', enc));
    expect(first.result.condition.reason).toBe('KeyProviderUnavailable');
    await core.replaceNamespacedSecret({
      name: 'late-pin',
      namespace: hubNs,
      body: { metadata: { name: 'late-pin' }, stringData: { pin: PIN } },
    });
    const second = await pass(first.hub);
    expect(second.result.condition).toMatchObject({ status: 'True', reason: 'KeyAvailable' });
    expect(second.hub.status?.encryption).toMatchObject({ activeVersion: 1, versions: 1 });
  });
});

describe.each(providers)('crashes at every step (%s)', (provider, encryption) => {
  // Operations in a creating pass: read, find, (hub read afresh) read, find, create, wrap, unwrap,
  // write, then read, find, unwrap: 11. In a rotating pass: read, find, unwrap, wrap, unwrap,
  // write, then read, find, unwrap: 9. Transit also checks that each of the v stored versions
  // unwraps, rotates its KEK and rewraps each (rewrap, unwrap old, unwrap new): 10 + 4v; its own
  // test below reaches every one of those points. One more point checks a pass with no failure.
  const rotatingOps = (storedVersions: number) => (provider === 'transit' ? 10 + 4 * storedVersions : 9);
  const points = Array.from({ length: 12 }, (_, i) => i + 1).flatMap((n) =>
    (['before', 'after'] as const).map((phase) => [n, phase] as const),
  );

  it('creation: never a second KEK, exactly one version 1 that never changes once written', async () => {
    for (const [n, phase] of points) {
      const hub = await newHub(`crash-${provider}-${n}-${phase}`, encryption());
      const faults = new Faults(n, phase);
      await faultyPass(hub, faults);
      expect(faults.fired).toBe(n <= 11);
      expect(await kekCount(hub)).toBeLessThanOrEqual(1);
      const written = await fingerprints(hub);
      const { result } = await pass(await getHub(kc, hubNs, hub.metadata.name!));
      expect(result.condition.reason).toBe('KeyAvailable');
      expect(await kekCount(hub)).toBe(1);
      const after = await fingerprints(hub);
      expect(after.size).toBe(1);
      if (written.size > 0) expect(after).toEqual(written);
    }
  });

  it('rotation: one version per new value wherever the crash falls; no version lost or changed', async () => {
    let hub = (await pass(await newHub(`crash-rot-${provider}`, encryption()))).hub;
    let known = await fingerprints(hub);
    let round = 0;
    for (const [n, phase] of points) {
      round++;
      hub = await annotate(hub, { 'hdh.sovereign.eu/rotate-key': `round-${round}` });
      const faults = new Faults(n, phase);
      await faultyPass(hub, faults);
      expect(faults.fired).toBe(n <= rotatingOps(round));
      hub = (await pass(await getHub(kc, hubNs, hub.metadata.name!))).hub;
      expect(hub.status?.encryption).toMatchObject({ activeVersion: round + 1, versions: round + 1 });
      const now = await fingerprints(hub);
      for (const [v, fp] of known) expect(now.get(v)).toBe(fp);
      expect(new Set(now.values()).size).toBe(now.size);
      known = now;
      expect(await kekCount(hub)).toBe(1);
      if (provider === 'transit') {
        // One KEK version per rotation, even where a crash came after rotating it; every stored
        // version wrapped under the latest.
        const latest = await transitLatest(hub);
        expect(latest).toBe(round + 1);
        const set = parseDekSecret((await readKeys(hub))!, hubRefOf(hub));
        expect(set.versions.every((v) => v.wrapped.startsWith(`vault:v${latest}:`))).toBe(true);
      }
    }
  });

  it('crypto-shred: a crash between destroying the KEK and the keys is finished by the next pass', async () => {
    for (const n of [1, 2, 3, 4]) {
      for (const phase of ['before', 'after'] as const) {
        let hub = (
          await pass(
            await newHub(`crash-shred-${provider}-${n}-${phase}`, encryption({ onDelete: 'CryptoShred' }), {
              finalizer: true,
            }),
          )
        ).hub;
        hub = await startDeletion(
          await annotate(hub, { 'hdh.sovereign.eu/confirm-destroy': hub.metadata.uid! }),
        );
        const faults = new Faults(n, phase);
        await faultyPass(hub, faults);
        expect(faults.fired).toBe(true);
        const { result } = await pass(await getHub(kc, hubNs, hub.metadata.name!));
        expect(result.released).toBe(true);
        expect(await kekCount(hub)).toBe(0);
        expect(await readKeys(hub)).toBeUndefined();
        await releaseFinalizer(hub);
      }
    }
  });
});

describe('crashes at every step of a Transit KEK rotation', () => {
  // A hub with one version: read, find, unwrap (active), unwrap (check), rotate, rewrap, unwrap,
  // unwrap, wrap, unwrap, write, then read, find, unwrap: 14 operations, each failed before or
  // after it ran; 15 checks a pass with no failure.
  it('never a second KEK version for one rotation, no version lost or changed, all rewrapped', async () => {
    for (let n = 1; n <= 15; n++) {
      for (const phase of ['before', 'after'] as const) {
        let hub = (await pass(await newHub(`crash-kek-${n}-${phase}`, transit()))).hub;
        const before = await fingerprints(hub);
        hub = await annotate(hub, { 'hdh.sovereign.eu/rotate-key': 'once' });
        const faults = new Faults(n, phase);
        await faultyPass(hub, faults);
        expect(faults.fired).toBe(n <= 14);
        const { result, hub: after } = await pass(await getHub(kc, hubNs, hub.metadata.name!));
        expect(result.condition.reason).toBe('KeyAvailable');
        expect(after.status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });
        const now = await fingerprints(after);
        expect(now.get(1)).toBe(before.get(1));
        expect(now.size).toBe(2);
        expect(await transitLatest(after)).toBe(2);
        const set = parseDekSecret((await readKeys(after))!, hubRefOf(after));
        expect(set.versions.every((v) => v.wrapped.startsWith('vault:v2:'))).toBe(true);
      }
    }
  });
});

describe('no leak', () => {
  it('no DEK, builtin KEK, PIN or Transit token in debug logs, Events, status or metrics', async () => {
    // The builtin KEKs made during the suite.
    const keks = (await core.listNamespacedSecret({ namespace: operatorNs })).items
      .filter((s) => s.type === KEK_SECRET_TYPE)
      .map((s) => Buffer.from(s.data!.kek!, 'base64'));
    expect(keks.length).toBeGreaterThan(5);
    expect(deksSeen.length).toBeGreaterThan(20);
    expect(logLines.some((l) => l.includes('"level":"debug"'))).toBe(true);

    const events = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: hubNs });
    expect(events.items.length).toBeGreaterThan(10);
    const haystacks: [string, string][] = [
      ['logs', logLines.join('\n')],
      ['events', JSON.stringify(events.items)],
      ['status', JSON.stringify(await listHubs(kc, hubNs))],
      ['results', JSON.stringify(resultsSeen)],
      ['metrics', await registry.metrics()],
    ];
    const needles = [...keks, ...deksSeen].flatMap((k) => [
      k.toString('hex'),
      k.toString('hex').toUpperCase(),
      k.toString('base64'),
      k.toString('base64url'),
      dekFingerprint(k),
    ]);
    needles.push(PIN, Buffer.from(PIN).toString('base64'));
    needles.push(vault.rootToken, Buffer.from(vault.rootToken).toString('base64'));
    // Transit hubs took part, so their DEKs are among those searched for.
    expect(logLines.some((l) => l.includes('"provider":"transit"'))).toBe(true);
    for (const [where, text] of haystacks) {
      for (const needle of needles) {
        if (text.includes(needle)) throw new Error(`key material or PIN found in ${where}`);
      }
    }
  });
});

/** The latest version of a transit hub's KEK, as the engine reports it. */
async function transitLatest(hub: HealthDataHub): Promise<number> {
  const read = await vault.api('GET', transitKeyPath(keyIdentity(hubRefOf(hub)).name));
  return read.body?.data?.latest_version as number;
}

async function waitGone(name: string): Promise<void> {
  await eventually(
    `hub ${name} deleted`,
    async () => (await readHub(hubNs, name)) === undefined,
    10_000,
    100,
  );
}
