// `hdh-operator unwrap-dek` as the datastore's init container runs it: the built CLI in its own
// process, the hub's `<hub>-keys` Secret as mounted files, the real API server (builtin), a
// SoftHSM2 token (pkcs11) or a Vault Transit engine (transit). The files it writes must hold the very DEKs the lifecycle made, and
// nothing it prints may carry key bytes.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { FIELD_MANAGER, type HealthDataHub, type HubEncryption } from '../../../src/api/index.js';
import { dekFingerprint, dekSecretName, kekIdentityOf, parseDekSecret } from '../../../src/keys/dek.js';
import { dekDelivery } from '../../../src/keys/delivery.js';
import { hubRefOf, keyIdentity, type KeyIdentity } from '../../../src/keys/identity.js';
import { kekAccessList, renderKekAccess } from '../../../src/keys/kek-access.js';
import { KeyLifecycle } from '../../../src/keys/lifecycle.js';
import { finalizePkcs11Modules } from '../../../src/keys/pkcs11.js';
import { providerFor, type ProviderDeps } from '../../../src/keys/providers.js';
import { Writer } from '../../../src/runtime/apply.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteHubAndWait,
  getHub,
  hubManifest,
  patchHub,
  prepareHubNamespace,
} from '../../support/hubs.js';
import { writeLegacyKeys } from '../../support/legacy-keys.js';
import { createSoftHsmToken, tokenFor, type SoftHsmToken } from '../../support/softhsm.js';
import { startVaultDevServer, transitEncryption, type VaultDevServer } from '../../support/vault.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const suffix = Date.now().toString(36);
const operatorNs = `it-unwrap-op-${suffix}`;

let kc: KubeConfig;
let core: CoreV1Api;
let hubNs: string;
let token: SoftHsmToken;
let vault: VaultDevServer;
let transit: HubEncryption;
let deps: ProviderDeps;
let lifecycle: KeyLifecycle;
let work: string;
const deksSeen: Buffer[] = [];

beforeAll(async () => {
  kc = testKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: operatorNs } } });
  hubNs = await prepareHubNamespace(kc, 'it-unwrap');
  token = createSoftHsmToken(`hdh-unwrap-${suffix}`, `pin-${randomBytes(4).toString('hex')}`);
  await core.createNamespacedSecret({
    namespace: hubNs,
    body: { metadata: { name: 'hsm-pin' }, stringData: { pin: `${token.pin}\n` } },
  });
  vault = await startVaultDevServer();
  transit = await transitEncryption(core, hubNs, vault);
  deps = {
    core,
    operatorNamespace: operatorNs,
    pkcs11AllowedModules: token.allowedModules,
    pkcs11AllowedTokens: tokenFor(token, hubNs),
  };
  lifecycle = new KeyLifecycle({ secrets: core, providers: deps });
  work = mkdtempSync(join(tmpdir(), 'it-unwrap-'));
});

afterAll(async () => {
  finalizePkcs11Modules();
  await vault?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  for (const name of [operatorNs, hubNs])
    if (name) await core.deleteNamespace({ name }).catch(() => undefined);
});

/** A hub with ready keys, made (or adopted) as the hub reconciler makes them. */
async function hubWithKeys(
  name: string,
  encryption: HubEncryption,
  annotations?: Record<string, string>,
): Promise<HealthDataHub> {
  const m = hubManifest(name, hubNs);
  m.spec.encryption = encryption;
  if (annotations) m.metadata.annotations = annotations;
  await createHub(kc, m);
  const hub = await getHub(kc, hubNs, name);
  const r = await lifecycle.reconcileHub(hub);
  expect(r.ready).toBe(true);
  return hub;
}

/** The projected service-account token and CA of `serviceAccount`, as the kubelet places them. */
async function projectedCredentials(serviceAccount: string): Promise<{ dir: string; token: string }> {
  const dir = mkdtempSync(join(work, 'creds-'));
  const tr = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace: hubNs,
    body: { spec: { expirationSeconds: 600, audiences: [] } },
  });
  writeFileSync(join(dir, 'token'), tr.status!.token);
  const cluster = kc.getCurrentCluster()!;
  writeFileSync(
    join(dir, 'ca.crt'),
    cluster.caData ? Buffer.from(cluster.caData, 'base64') : readFileSync(cluster.caFile!),
  );
  return { dir, token: tr.status!.token };
}

/** What the init container finds in its environment inside the cluster. */
function inClusterEnv(): NodeJS.ProcessEnv {
  const server = new URL(kc.getCurrentCluster()!.server);
  return { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port };
}

/** The `<hub>-keys` Secret written as a Secret volume would show it: one file per data key. */
async function mountKeys(hub: HealthDataHub): Promise<string> {
  const secret = await core.readNamespacedSecret({
    name: dekSecretName(hub.metadata.name!),
    namespace: hubNs,
  });
  const dir = mkdtempSync(join(work, 'wrapped-'));
  for (const [k, v] of Object.entries(secret.data ?? {}))
    writeFileSync(join(dir, k), Buffer.from(v, 'base64'));
  return dir;
}

/** Fingerprints of the stored versions, unwrapped in this process through the provider. */
async function fingerprints(hub: HealthDataHub): Promise<Map<number, string>> {
  const ref = hubRefOf(hub);
  const secret = await core.readNamespacedSecret({ name: dekSecretName(ref.name), namespace: hubNs });
  const set = parseDekSecret(secret, ref);
  const provider = await providerFor(hub, deps);
  const out = new Map<number, string>();
  for (const v of set.versions) {
    const dek = await provider.unwrap(kekIdentityOf(set, ref)!, v.wrapped);
    deksSeen.push(Buffer.from(dek));
    out.set(v.version, dekFingerprint(dek));
    dek.fill(0);
  }
  return out;
}

/** The init container's arguments for `hub`, exactly as rendered into the pod template. */
function initArgs(
  hub: HealthDataHub,
  wrapped: string,
  out: string,
  credentials: string,
  kek?: KeyIdentity,
): string[] {
  const d = dekDelivery(hub, { image: 'unused', operatorNamespace: operatorNs, kek });
  return d.initContainers[0]!.args!.map((a) =>
    a
      .replace(/^--wrapped-keys=.*/, `--wrapped-keys=${wrapped}`)
      .replace(/^--out=.*/, `--out=${out}`)
      .replace(/^--credentials=.*/, `--credentials=${credentials}`),
  );
}

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** No DEK seen by this suite appears in `output`, as hex or base64. */
function expectNoKeyBytes(output: string): void {
  for (const dek of deksSeen) {
    expect(output).not.toContain(dek.toString('hex'));
    expect(output).not.toContain(dek.toString('base64'));
    expect(output).not.toContain(dek.toString('base64url'));
  }
}

function expectKeyFiles(out: string, expected: Map<number, string>, active: number): void {
  for (const [version, fp] of expected) {
    const file = join(out, `dek-v${version}`);
    expect(dekFingerprint(readFileSync(file))).toBe(fp);
    expect(statSync(file).mode & 0o777).toBe(0o440);
  }
  expect(
    createHash('sha256')
      .update(readFileSync(join(out, 'dek')))
      .digest('hex')
      .slice(0, 16),
  ).toBe(expected.get(active));
  expect(readFileSync(join(out, 'active-version'), 'utf8').trim()).toBe(String(active));
}

describe('unwrap-dek', () => {
  it('builtin: unwraps every version with the admin kubeconfig', async () => {
    const hub = await hubWithKeys('ledger', { provider: 'builtin' });
    const expected = await fingerprints(hub);
    const out = mkdtempSync(join(work, 'out-'));
    const args = initArgs(hub, await mountKeys(hub), out, join(work, 'none'));
    const r = run([...args, `--kubeconfig=${testCluster().kubeconfig}`]);
    expect(r).toMatchObject({ status: 0 });
    expect(r.output).toContain('unwrapped 1 key version(s)');
    expectKeyFiles(out, expected, 1);
    expectNoKeyBytes(r.output);
  });

  it('builtin: unwraps as the hub service account, allowed to get only its own KEK', async () => {
    const hub = await getHub(kc, hubNs, 'ledger');
    const ref = hubRefOf(hub);
    const access = dekDelivery(hub, { image: 'unused', operatorNamespace: operatorNs }).kekAccess!;
    const writer = new Writer(new ApiClients(kc), FIELD_MANAGER);
    for (const obj of kekAccessList(renderKekAccess(ref, access))) await writer.apply(obj);

    const { dir: creds, token: saToken } = await projectedCredentials(access.serviceAccountName);
    const env = inClusterEnv();

    const out = mkdtempSync(join(work, 'out-'));
    const wrapped = await mountKeys(hub);
    const r = run(initArgs(hub, wrapped, out, creds), env);
    expect(r).toMatchObject({ status: 0 });
    expectKeyFiles(out, await fingerprints(hub), 1);
    expectNoKeyBytes(r.output);

    // Another hub's KEK is out of reach of this account: the init container fails closed.
    const other = await hubWithKeys('other', { provider: 'builtin' });
    const otherArgs = initArgs(other, await mountKeys(other), mkdtempSync(join(work, 'out-')), creds);
    const denied = run(otherArgs, env);
    expect(denied.status).not.toBe(0);
    expect(denied.output).toMatch(/other-keys needs get on the KEK Secret/);
    expect(denied.output).not.toContain(saToken);
  });

  it('builtin, adopted keys: reads the earlier hub KEK through a Role named for the new hub', async () => {
    const earlier = await hubWithKeys('heir', { provider: 'builtin' });
    const expected = await fingerprints(earlier);
    // The hub goes (its keys stay: no owner reference) and a new one adopts them.
    await deleteHubAndWait(kc, hubNs, 'heir');
    const hub = await hubWithKeys(
      'heir',
      { provider: 'builtin' },
      { 'hdh.sovereign.eu/adopt-keys': earlier.metadata.uid! },
    );
    const r = await lifecycle.reconcileHub(hub);
    expect(r.kekUid).toBe(earlier.metadata.uid);
    const access = dekDelivery(hub, {
      image: 'unused',
      operatorNamespace: operatorNs,
      kek: r.kek,
    }).kekAccess!;
    expect(access.kekSecret).toContain(earlier.metadata.uid!);
    expect(access.roleName).toContain(hub.metadata.uid!);
    const writer = new Writer(new ApiClients(kc), FIELD_MANAGER);
    for (const obj of kekAccessList(renderKekAccess(hubRefOf(hub), access))) await writer.apply(obj);

    const { dir: creds } = await projectedCredentials(access.serviceAccountName);
    const out = mkdtempSync(join(work, 'out-'));
    const res = run(initArgs(hub, await mountKeys(hub), out, creds, r.kek), inClusterEnv());
    expect(res).toMatchObject({ status: 0 });
    expectKeyFiles(out, expected, 1);
    expect(await fingerprints(hub)).toEqual(expected);
    expectNoKeyBytes(res.output);
  });

  it('transit: unwraps every version through the engine after a KEK rotation, token and CA from files', async () => {
    const hub = await hubWithKeys('vaulted', transit);
    await patchHub(kc, hubNs, 'vaulted', {
      metadata: { annotations: { 'hdh.sovereign.eu/rotate-key': 'once' } },
    });
    expect((await lifecycle.reconcileHub(await getHub(kc, hubNs, 'vaulted'))).encryption).toMatchObject({
      activeVersion: 2,
    });
    const expected = await fingerprints(hub);
    expect(expected.size).toBe(2);
    const creds = mkdtempSync(join(work, 'creds-'));
    writeFileSync(join(creds, 'token'), vault.rootToken);
    writeFileSync(join(creds, 'ca.crt'), vault.ca);
    const out = mkdtempSync(join(work, 'out-'));
    const r = run(initArgs(hub, await mountKeys(hub), out, creds));
    expect(r).toMatchObject({ status: 0 });
    expect(r.output).toContain('unwrapped 2 key version(s)');
    expectKeyFiles(out, expected, 2);
    expectNoKeyBytes(r.output);
    expect(r.output).not.toContain(vault.rootToken);

    // A token the engine refuses: non-zero, the reason given, the token never echoed.
    writeFileSync(join(creds, 'token'), 'not-a-valid-token-42');
    const bad = run(initArgs(hub, await mountKeys(hub), mkdtempSync(join(work, 'out-')), creds));
    expect(bad.status).not.toBe(0);
    expect(bad.output).toMatch(/permission denied/);
    expect(bad.output).not.toContain('not-a-valid-token-42');
  });

  it('pkcs11: unwraps every version through the token, the PIN read from a file', async () => {
    const hub = await hubWithKeys('archive', {
      provider: 'pkcs11',
      pkcs11: {
        module: token.module,
        tokenLabel: token.label,
        pinSecretRef: { name: 'hsm-pin', key: 'pin' },
      },
    });
    const expected = await fingerprints(hub);
    const creds = mkdtempSync(join(work, 'creds-'));
    writeFileSync(join(creds, 'pin'), `${token.pin}\n`);
    const out = mkdtempSync(join(work, 'out-'));
    const r = run(initArgs(hub, await mountKeys(hub), out, creds));
    expect(r).toMatchObject({ status: 0 });
    expectKeyFiles(out, expected, 1);
    expectNoKeyBytes(r.output);
    expect(r.output).not.toContain(token.pin);

    // A wrong PIN: non-zero, the reason given, the PIN never echoed.
    writeFileSync(join(creds, 'pin'), 'wrong-pin-123');
    const bad = run(initArgs(hub, await mountKeys(hub), mkdtempSync(join(work, 'out-')), creds));
    expect(bad.status).not.toBe(0);
    expect(bad.output).toMatch(/hdh-operator unwrap-dek: /);
    expect(bad.output).not.toContain('wrong-pin-123');
  });

  it('keys made under the earlier identity scheme: unwraps them with their KEK, and refuses a kek-ref naming no key of the hub', async () => {
    const m = hubManifest('legacy', hubNs);
    await createHub(kc, m);
    const stored = await getHub(kc, hubNs, 'legacy');
    const { kek } = await writeLegacyKeys(kc, stored, deps);
    const hub = await getHub(kc, hubNs, 'legacy');
    const r = await lifecycle.reconcileHub(hub);
    expect(r.ready).toBe(true);
    expect(r.kek).toEqual(kek);
    expect(kek.name).toBe(`hdh-${hubNs}-legacy-${hub.metadata.uid}`);
    const expected = await fingerprints(hub);
    const kubeconfig = `--kubeconfig=${testCluster().kubeconfig}`;
    const wrapped = await mountKeys(hub);
    const first = mkdtempSync(join(work, 'out-'));
    const ok = run([...initArgs(hub, wrapped, first, join(work, 'none'), r.kek), kubeconfig]);
    expect(ok).toMatchObject({ status: 0 });
    expectKeyFiles(first, expected, 1);

    // kek-ref edited in the mounted keys to name a key of another namespace with this UID.
    const other = keyIdentity({ namespace: `${hubNs}-x`, name: 'legacy', uid: hub.metadata.uid! }).name;
    writeFileSync(join(wrapped, 'kek-ref'), `secret/${operatorNs}/${other}`);
    const out = mkdtempSync(join(work, 'out-'));
    const refused = run([...initArgs(hub, wrapped, out, join(work, 'none'), r.kek), kubeconfig]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain(`which is not a key of hub ${hubNs}/legacy`);
    expect(readdirSync(out)).toEqual([]);
  });

  it('fails closed, saying what to fix: keys of another hub, transit, nothing mounted', async () => {
    const hub = await getHub(kc, hubNs, 'ledger');
    const wrapped = await mountKeys(hub);
    const out = mkdtempSync(join(work, 'out-'));
    const args = initArgs(hub, wrapped, out, join(work, 'none'));
    const kubeconfig = `--kubeconfig=${testCluster().kubeconfig}`;

    const foreign = run([
      ...args.map((a) => (a.startsWith('--hub-uid=') ? '--hub-uid=1f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c' : a)),
      kubeconfig,
    ]);
    expect(foreign.status).not.toBe(0);
    expect(foreign.output).toMatch(/earlier hub/);

    const transit = run([
      ...args.map((a) => (a.startsWith('--provider=') ? '--provider=transit' : a)),
      kubeconfig,
    ]);
    expect(transit.status).not.toBe(0);
    expect(transit.output).toMatch(
      /wrapped by provider builtin, not transit|transit provider is not available/,
    );

    const empty = join(work, 'empty');
    mkdirSync(empty);
    const missing = run([
      ...args.map((a) => (a.startsWith('--wrapped-keys=') ? `--wrapped-keys=${empty}` : a)),
      kubeconfig,
    ]);
    expect(missing.status).not.toBe(0);
    expect(missing.output).toMatch(/lacks hub-uid/);
    for (const r of [foreign, transit, missing]) expectNoKeyBytes(r.output);
  });
});
