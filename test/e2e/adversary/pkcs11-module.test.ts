// A tenant names any file as its hub's PKCS#11 module. The operator loads modules into its own
// process, so a pipe (/proc/self/fd/<n>), a FIFO or a device would freeze its main thread: no
// probe answers, no other hub reconciles, SIGTERM is not acted on. Only the modules the platform
// lists (--pkcs11-allowed-modules) may be loaded; anything else is refused unopened, with one
// message whether or not the file exists. An allowed module that hangs or crashes while it
// initialises is tried in a separate process first and never reaches the operator.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEALTH_DATA_HUB, type HealthDataHub } from '../../../src/api/index.js';
import { newDekSet, renderDekSecret } from '../../../src/keys/dek.js';
import { keyIdentity } from '../../../src/keys/identity.js';
import { Pkcs11KeyProvider } from '../../../src/keys/pkcs11.js';
import { ALLOWED_MODULES_FLAG } from '../../../src/keys/pkcs11-modules.js';
import { ALLOWED_TOKENS_FLAG } from '../../../src/keys/pkcs11-tokens.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  deleteNamespaceAndWait,
  hubCondition,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { softHsmAllowedModules } from '../../support/softhsm.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { tenantAdmin } from '../../support/tenant.js';

// A PKCS#11 module whose C_Initialize never returns (or, built with -DCRASH, kills its process).
// Every other function answers CKR_FUNCTION_NOT_SUPPORTED.
const FAKE_MODULE = `
#include <signal.h>
#include <unistd.h>
typedef unsigned long CK_RV;
static CK_RV not_supported(void) { return 0x54; }
static CK_RV initialize(void *args) {
  (void)args;
#ifdef CRASH
  raise(SIGSEGV);
#endif
  for (;;) pause();
  return 0;
}
static struct { unsigned char major, minor; void *fns[80]; } list;
CK_RV C_GetFunctionList(void **out) {
  list.major = 2; list.minor = 40;
  list.fns[0] = (void *)initialize;
  for (int i = 1; i < 80; i++) list.fns[i] = (void *)not_supported;
  *out = &list;
  return 0;
}
`;

/** Polls /healthz every 200 ms; each answer must come within 1 s. */
function watchHealth(probesUrl: string) {
  const failures: string[] = [];
  let slowest = 0;
  let polls = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const start = Date.now();
      try {
        const r = await fetch(`${probesUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (!r.ok) failures.push(`healthz answered ${r.status}`);
      } catch (e) {
        failures.push(
          `healthz did not answer within 1 s (${(e as Error).name}) at ${new Date().toISOString()}`,
        );
      }
      slowest = Math.max(slowest, Date.now() - start);
      polls++;
      await sleep(200);
    }
  })();
  return {
    failures,
    stats: () => ({ polls, slowestMs: slowest }),
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe('a tenant naming any file as the PKCS#11 module', () => {
  const admin = testKubeConfig();
  let tenant: KubeConfig;
  let ns: string;
  let dir: string;
  let fixtures: StorageFixtures;
  let op: OperatorProcess;
  let health: ReturnType<typeof watchHealth>;
  const fakes = { hanging: '', crashing: '' };

  const tenantHub = async (name: string, module: string) => {
    const hub = hubManifest(name, ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    hub.spec.encryption = {
      provider: 'pkcs11',
      pkcs11: { module, tokenLabel: 'hdh-adversary', pinSecretRef: { name: 'hsm-pin', key: 'pin' } },
    } as HealthDataHub['spec']['encryption'];
    await tenant
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace: ns, body: hub });
  };
  // A builtin hub: it can only become KeysReady if the operator still reconciles.
  const bystanderReady = async (name: string) => {
    const hub = hubManifest(name, ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    await tenant
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace: ns, body: hub });
    return waitForHubCondition(admin, ns, name, 'KeysReady', { status: 'True' }, 30_000);
  };

  beforeAll(async () => {
    fixtures = await createStorageFixtures(admin, { perNode: 1 });
    ns = await prepareHubNamespace(admin, 'adv-hsm');
    tenant = await tenantAdmin(ns);
    // The tenant's PIN Secret: the module is what the attack is about.
    await tenant.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'hsm-pin' }, stringData: { pin: '123456' } },
    });
    dir = mkdtempSync(join(tmpdir(), 'hdh-adv-pkcs11-'));
    execFileSync('mkfifo', [join(dir, 'module.fifo')]);
    const source = join(dir, 'fake.c');
    writeFileSync(source, FAKE_MODULE);
    fakes.hanging = join(dir, 'hanging.so');
    fakes.crashing = join(dir, 'crashing.so');
    execFileSync('cc', ['-shared', '-fPIC', '-o', fakes.hanging, source]);
    execFileSync('cc', ['-shared', '-fPIC', '-DCRASH', '-o', fakes.crashing, source]);
    const allowed = [...softHsmAllowedModules(), fakes.hanging, fakes.crashing];
    op = await startOperatorProcess([
      `--namespace=${ns}`,
      '--leader-elect=false',
      `${ALLOWED_MODULES_FLAG}=${allowed.join(',')}`,
      // The token is the tenant's: the module is what this attack is about.
      `${ALLOWED_TOKENS_FLAG}=${ns}/hdh-adversary`,
    ]);
    health = watchHealth(op.probesUrl);
  });

  afterAll(async () => {
    await health?.stop();
    if (op && op.child.exitCode === null && op.child.signalCode === null) op.child.kill('SIGKILL');
    await op?.exited;
    // The hubs' finalizers need a running operator: a fresh one lets the namespace go.
    if (ns) {
      const cleaner = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
      try {
        await deleteNamespaceAndWait(admin, ns);
      } finally {
        await cleaner.stop();
      }
    }
    await fixtures?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('/proc/self/fd/<pipe> is refused unopened: /healthz keeps answering, other hubs keep reconciling', async () => {
    // A pipe the operator holds open, which a tenant can guess (/proc/self/fd/13 in a usual run).
    const fd = readdirSync(`/proc/${op.child.pid}/fd`)
      .map(Number)
      .filter((n) => n > 2)
      .find((n) => readlinkSync(`/proc/${op.child.pid}/fd/${n}`).startsWith('pipe:'));
    expect(fd).toBeDefined();
    const module = `/proc/self/fd/${fd}`;
    await tenantHub('pipe', module);

    // Reading the pipe used to freeze the main thread within 2 s: give it 5.
    await sleep(5000);
    expect(health.failures).toEqual([]);

    const hub = await waitForHubCondition(
      admin,
      ns,
      'pipe',
      'KeysReady',
      { reason: 'Pkcs11ModuleNotAllowed' },
      20_000,
    );
    const keys = hubCondition(hub, 'KeysReady')!;
    expect(keys.status).toBe('False');
    expect(keys.message).toContain(JSON.stringify(module));
    expect(keys.message).toContain(ALLOWED_MODULES_FLAG);
    expect(hubCondition(hub, 'Stalled')).toMatchObject({ status: 'True', reason: 'Pkcs11ModuleNotAllowed' });

    await bystanderReady('bystander-1');
    expect(health.failures).toEqual([]);
  }, 90_000);

  it('a device, a FIFO, a missing file and an existing file not allowed get one refusal, whatever exists', async () => {
    const modules = {
      zero: '/dev/zero',
      fifo: join(dir, 'module.fifo'),
      missing: join(dir, 'no-such-module.so'),
      hostname: '/etc/hostname',
    };
    for (const [name, module] of Object.entries(modules)) await tenantHub(name, module);
    const messages = new Map<string, string>();
    for (const [name, module] of Object.entries(modules)) {
      const hub = await waitForHubCondition(
        admin,
        ns,
        name,
        'KeysReady',
        { reason: 'Pkcs11ModuleNotAllowed' },
        20_000,
      );
      expect(hubCondition(hub, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'Pkcs11ModuleNotAllowed',
      });
      messages.set(
        name,
        hubCondition(hub, 'KeysReady')!.message.split(JSON.stringify(module)).join('<module>'),
      );
    }
    // Nothing in the answer tells a missing file from an existing one.
    expect(new Set(messages.values()).size).toBe(1);
    expect(messages.get('missing')).toBe(messages.get('hostname'));
    expect(messages.get('missing')).toContain(`allowed by the platform (${ALLOWED_MODULES_FLAG})`);

    await bystanderReady('bystander-2');
    expect(health.failures).toEqual([]);
  }, 90_000);

  it('an allowed module that hangs or crashes in C_Initialize is tried in a separate process, never in the operator', async () => {
    await tenantHub('hanging', fakes.hanging);
    await tenantHub('crashing', fakes.crashing);
    const crashed = await waitForHubCondition(
      admin,
      ns,
      'crashing',
      'KeysReady',
      { reason: 'KeyProviderUnavailable' },
      30_000,
    );
    expect(hubCondition(crashed, 'KeysReady')!.message).toMatch(
      /failed to load or initialise \(killed by SIG/,
    );
    const hung = await waitForHubCondition(
      admin,
      ns,
      'hanging',
      'KeysReady',
      { reason: 'KeyProviderUnavailable' },
      30_000,
    );
    expect(hubCondition(hung, 'KeysReady')!.message).toMatch(/did not load and initialise within 10 s/);
    // The operator lives on and still reconciles.
    expect(op.child.exitCode).toBeNull();
    await bystanderReady('bystander-3');
    expect(health.failures).toEqual([]);
  }, 90_000);

  it("unwrap-dek (the datastore's init container) refuses such a module too, without hanging", async () => {
    // The operator renders only an allowed module into the pod; a namespace admin can still edit
    // the init container's arguments. The command checks the module as the operator does.
    const hub = { namespace: ns, name: 'pipe', uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c' };
    const kekRef = new Pkcs11KeyProvider({
      module: '/m',
      allowedModules: [],
      tokenLabel: 't',
      allowedTokens: [],
      pin: 'p',
    }).keyRef(keyIdentity(hub));
    // Well-formed (IV, 32-byte key, tag): it is never unwrapped.
    const set = newDekSet({
      hub,
      provider: 'pkcs11',
      kekRef,
      wrapped: `v1:${randomBytes(60).toString('base64')}`,
      now: new Date(),
    });
    const base = mkdtempSync(join(dir, 'unwrap-'));
    const [wrapped, credentials, out] = ['wrapped', 'credentials', 'out'].map((d) => join(base, d));
    for (const d of [wrapped!, credentials!, out!]) mkdirSync(d);
    for (const [k, v] of Object.entries(renderDekSecret(hub, set).data!)) {
      writeFileSync(join(wrapped!, k), Buffer.from(v, 'base64'));
    }
    writeFileSync(join(credentials!, 'pin'), '123456');
    // Asynchronously: the health watch of this process keeps running meanwhile.
    const unwrapDek = (module: string) =>
      new Promise<{ status: number | null; signal: string | null; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [
            join(process.cwd(), 'dist', 'src', 'cli', 'main.js'),
            'unwrap-dek',
            `--hub=${hub.namespace}/${hub.name}`,
            `--hub-uid=${hub.uid}`,
            '--provider=pkcs11',
            `--wrapped-keys=${wrapped}`,
            `--out=${out}`,
            `--credentials=${credentials}`,
            `--pkcs11-module=${module}`,
            '--pkcs11-token-label=t',
          ],
          // A module read as a pipe blocks the command: the limit turns that into a failure.
          { encoding: 'utf8', timeout: 10_000 },
          (_e, _stdout, stderr) => resolve({ status: child.exitCode, signal: child.signalCode, stderr }),
        );
      });
    const fifo = await unwrapDek(join(dir, 'module.fifo'));
    expect(fifo.signal).toBeNull();
    expect(fifo.status).toBe(1);
    expect(fifo.stderr).toMatch(/module.fifo is not a regular file/);
    // fd 0 is a pipe from this test, which never writes to it (nor closes it until the command ends).
    const pipe = await unwrapDek('/proc/self/fd/0');
    expect(pipe.signal).toBeNull();
    expect(pipe.status).toBe(1);
    expect(pipe.stderr).toMatch(
      /"\/proc\/self\/fd\/0" \(spec.encryption.pkcs11.module\) is not one the operator may load/,
    );
  }, 30_000);

  it('the operator still stops promptly on SIGTERM', async () => {
    await health.stop();
    const started = Date.now();
    const code = await Promise.race([
      op.stop('SIGTERM'),
      sleep(10_000).then(() => 'still running after 10 s'),
    ]);
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    process.stderr.write(
      `/healthz: ${JSON.stringify(health.stats())}; SIGTERM to exit: ${Date.now() - started} ms\n`,
    );
  }, 30_000);
});
