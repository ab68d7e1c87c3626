// The builtin key backup and restore of docs/operations.md, run exactly as written there: export
// the KEK Secret (operator namespace) and `<hub>-keys` (hub namespace) with kubectl, strip them
// with the page's sed line, delete them, create them again. The hub must come back KeysReady on
// the very same keys; while they are gone the running operator must block the hub (KeyMissing)
// and make nothing new. Each command is also looked up in the page, so page and test cannot part.
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import {
  ANNOTATION_CONFIRM_DESTROY,
  ANNOTATION_ROTATE_KEY,
  Reason,
  type HealthDataHub,
} from '../../../src/api/index.js';
import { KEK_SECRET_TYPE } from '../../../src/keys/builtin.js';
import { DEK_SECRET_TYPE, dekSecretName } from '../../../src/keys/dek.js';
import { hubRefOf, keyIdentity, LABEL_HUB_NAMESPACE, LABEL_HUB_UID } from '../../../src/keys/identity.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteHubAndWait,
  deleteNamespaceAndWait,
  getHub,
  hubCondition,
  hubManifest,
  patchHub,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { kubectl } from '../../support/kubectl.js';
import { metricValue } from '../../support/metrics.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const OPERATOR_NS = 'hdh-system';
const HUB = 'archive';
const PAGE = join(process.cwd(), 'docs', 'operations.md');

// The commands of docs/operations.md, "Backup and restore of keys", builtin. `<namespace>` and
// `<hub>` are the page's placeholders; the page may break a command over lines with a backslash.
const STRIP = "sed -E '/^    (uid|resourceVersion|creationTimestamp): /d'";
const EXPORT_KEKS =
  'kubectl -n hdh-system get secret -l hdh.sovereign.eu/hub-namespace=<namespace> ' +
  `--field-selector type=hdh.sovereign.eu/key-encryption-key -o yaml | ${STRIP} > keks.yaml`;
const EXPORT_WRAPPED =
  'kubectl -n <namespace> get secret --field-selector type=hdh.sovereign.eu/wrapped-keys -o yaml ' +
  `| ${STRIP} > wrapped-keys.yaml`;
const RESTORE_KEKS = 'kubectl create -f keks.yaml';
const RESTORE_WRAPPED = 'kubectl create -f wrapped-keys.yaml';
const LOOK_NOW =
  'kubectl -n <namespace> annotate healthdatahub <hub> --overwrite restored-at="$(date -u +%FT%TZ)"';
const WAIT = 'kubectl -n <namespace> wait healthdatahub/<hub> --for=condition=KeysReady --timeout=2m';

const execFileP = promisify(execFile);

/** Runs a program with `input` on its standard input; resolves with its standard output. */
async function pipeThrough(file: string, args: string[], input: string): Promise<string> {
  const child = execFileP(file, args, { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(input);
  return (await child).stdout;
}

describe('builtin keys: backup and restore as docs/operations.md gives it', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let ns: string;
  let dir: string;
  let fixtures: StorageFixtures;
  let op: OperatorProcess;
  let before: { hub: HealthDataHub; kek: V1Secret; wrapped: V1Secret; creates: number };

  /** A kubectl command of the page as kubectl's arguments: placeholders filled, files in `dir`. */
  const args = (command: string) =>
    command
      .replaceAll('<namespace>', ns)
      .replaceAll('<hub>', HUB)
      .replace('"$(date -u +%FT%TZ)"', new Date().toISOString())
      .split(' ')
      .slice(1) // "kubectl"
      .map((arg) => (arg.endsWith('.yaml') ? join(dir, arg) : arg));
  /** Runs an export line of the page: `kubectl … | sed -E '<expression>' > <file>`. */
  const exportTo = async (command: string) => {
    const [get, strip] = command.split(' | ') as [string, string];
    const [sed, file] = strip.split(' > ') as [string, string];
    const expression = /^sed -E '([^']+)'$/.exec(sed)?.[1];
    expect(expression).toBeDefined();
    await writeFile(join(dir, file), await pipeThrough('sed', ['-E', expression!], await kubectl(args(get))));
  };
  const kekName = () => keyIdentity(hubRefOf(before.hub)).name;
  const keksOfHub = async (uid: string) =>
    (await core.listNamespacedSecret({ namespace: OPERATOR_NS, labelSelector: `${LABEL_HUB_UID}=${uid}` }))
      .items;
  const readWrapped = () =>
    core.readNamespacedSecret({ name: dekSecretName(HUB), namespace: ns }).catch(() => undefined);
  const keyCreates = async () =>
    metricValue(await op.metrics(), 'hdh_key_operations_total', { provider: 'builtin', op: 'create' });
  const reconciles = async () =>
    metricValue(await op.metrics(), 'controller_runtime_reconcile_total', { controller: 'healthdatahub' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hdh-key-backup-'));
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-backup');
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    const manifest = hubManifest(HUB, ns);
    manifest.spec.storage.storageClassName = fixtures.encryptedClass;
    await createHub(kc, manifest);
    await waitForHubCondition(kc, ns, HUB, 'KeysReady', { status: 'True' });
    // Two data key versions, so that the restore is checked on more than the first.
    await patchHub(kc, ns, HUB, { metadata: { annotations: { [ANNOTATION_ROTATE_KEY]: 'backup-test' } } });
    const hub = await eventually(
      'version 2 active',
      async () => {
        const h = await getHub(kc, ns, HUB);
        return h.status?.encryption?.activeVersion === 2 && hubCondition(h, 'KeysReady')?.status === 'True'
          ? h
          : undefined;
      },
      30_000,
      200,
    );
    const [kek] = await keksOfHub(hub.metadata.uid!);
    before = { hub, kek: kek!, wrapped: (await readWrapped())!, creates: await keyCreates() };
    expect(before.kek.metadata?.name).toBe(kekName());
    expect(before.creates).toBe(1);
  }, 60_000);

  afterAll(async () => {
    // Leave nothing behind in the operator's namespace: a confirmed crypto-shred destroys the KEK.
    if (before) {
      await patchHub(kc, ns, HUB, {
        metadata: { annotations: { [ANNOTATION_CONFIRM_DESTROY]: before.hub.metadata.uid } },
        spec: { encryption: { onDelete: 'CryptoShred' } },
      }).catch(() => undefined);
    }
    await deleteHubAndWait(kc, ns, HUB);
    await op?.stop();
    // Should the shred not have run (a failed step above), no KEK of this test stays either.
    if (before) {
      for (const s of await keksOfHub(before.hub.metadata.uid!).catch(() => [])) {
        await core
          .deleteNamespacedSecret({ name: s.metadata!.name!, namespace: OPERATOR_NS })
          .catch(() => undefined);
      }
    }
    await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 150_000);

  it('the commands are the ones docs/operations.md gives', async () => {
    const page = (await readFile(PAGE, 'utf8')).replace(/ \\\n\s*/g, ' ');
    for (const command of [EXPORT_KEKS, EXPORT_WRAPPED, RESTORE_KEKS, RESTORE_WRAPPED, LOOK_NOW, WAIT]) {
      expect(page).toContain(command);
    }
  });

  it("exports the hub's KEK Secret and <hub>-keys, without the fields of the objects backed up", async () => {
    await exportTo(EXPORT_KEKS);
    await exportTo(EXPORT_WRAPPED);
    const keks = parse(await readFile(join(dir, 'keks.yaml'), 'utf8')) as { items: V1Secret[] };
    const wrapped = parse(await readFile(join(dir, 'wrapped-keys.yaml'), 'utf8')) as { items: V1Secret[] };
    expect(keks.items.map((s) => s.metadata?.name)).toEqual([kekName()]);
    expect(wrapped.items.map((s) => s.metadata?.name)).toEqual([dekSecretName(HUB)]);
    for (const s of [...keks.items, ...wrapped.items]) {
      expect(s.metadata?.uid).toBeUndefined();
      expect(s.metadata?.resourceVersion).toBeUndefined();
      expect(s.metadata?.creationTimestamp).toBeUndefined();
    }
    // What the operator checks on restore is all there: type, labels, immutability, the data.
    const [kek, keys] = [keks.items[0]!, wrapped.items[0]!];
    expect(kek.type).toBe(KEK_SECRET_TYPE);
    expect(kek.immutable).toBe(true);
    expect(kek.metadata?.labels).toEqual(before.kek.metadata?.labels);
    expect(kek.metadata?.labels?.[LABEL_HUB_NAMESPACE]).toBe(ns);
    expect(kek.data).toEqual(before.kek.data);
    expect(keys.type).toBe(DEK_SECRET_TYPE);
    expect(keys.metadata?.labels).toEqual(before.wrapped.metadata?.labels);
    expect(keys.data).toEqual(before.wrapped.data);
  });

  it('with both Secrets gone, the running operator blocks the hub (KeyMissing) and makes no new key', async () => {
    await kubectl(['-n', OPERATOR_NS, 'delete', 'secret', kekName()]);
    await kubectl(['-n', ns, 'delete', 'secret', dekSecretName(HUB)]);
    // The operator does not watch Secrets: the page's change of the hub's metadata makes it look now.
    await kubectl(args(LOOK_NOW));
    // Blocked, or (the failure this guards against) new keys made in place of the lost ones.
    const outcome = await eventually(
      'KeysReady False KeyMissing, or a new key',
      async () => {
        if ((await keksOfHub(before.hub.metadata.uid!)).length > 0 || (await readWrapped())) {
          return 'a new KEK or <hub>-keys was made over existing data';
        }
        const c = hubCondition(await getHub(kc, ns, HUB), 'KeysReady');
        return c?.status === 'False' && c.reason === Reason.KeyMissing ? c.message : undefined;
      },
      20_000,
      100,
    );
    expect(outcome).toContain('no new key is made over existing data');
    // Two more reconciles of the hub, each of which could have made new keys.
    for (let i = 0; i < 2; i++) {
      const seen = await reconciles();
      await patchHub(kc, ns, HUB, { metadata: { annotations: { 'look-again': String(i) } } });
      await eventually('another reconcile of the hub', async () => (await reconciles()) > seen, 15_000, 100);
    }
    expect(await keksOfHub(before.hub.metadata.uid!)).toEqual([]);
    expect(await readWrapped()).toBeUndefined();
    expect(await keyCreates()).toBe(before.creates);
    const hub = await getHub(kc, ns, HUB);
    expect(hubCondition(hub, 'KeysReady')?.reason).toBe(Reason.KeyMissing);
    // The evidence that keys existed stays in status, so no later pass starts afresh either.
    expect(hub.status?.encryption?.versions).toBe(2);
    expect(hub.status?.encryption?.keyRef).toBe(before.hub.status?.encryption?.keyRef);
  }, 40_000);

  it('restored with kubectl create, the hub is KeysReady again on the same KEK and wrapped keys', async () => {
    await kubectl(args(RESTORE_KEKS));
    await kubectl(args(RESTORE_WRAPPED));
    await kubectl(args(LOOK_NOW));
    await kubectl(args(WAIT));
    const hub = await getHub(kc, ns, HUB);
    expect(hubCondition(hub, 'KeysReady')?.reason).toBe(Reason.KeyAvailable);
    expect(hub.metadata.uid).toBe(before.hub.metadata.uid);
    expect(hub.status?.encryption).toEqual(before.hub.status?.encryption);
    const keks = await keksOfHub(hub.metadata.uid!);
    expect(keks.map((s) => s.metadata?.name)).toEqual([kekName()]);
    expect(keks[0]!.data).toEqual(before.kek.data);
    const wrapped = await readWrapped();
    expect(wrapped?.data).toEqual(before.wrapped.data); // the same wrapped DEKs and active version
    expect(Object.keys(wrapped?.data ?? {}).filter((k) => /^dek-v\d+$/.test(k))).toEqual([
      'dek-v1',
      'dek-v2',
    ]);
    expect(await keyCreates()).toBe(before.creates);
  }, 40_000);

  it('kubectl create never overwrites: a restore over existing Secrets is refused and changes nothing', async () => {
    const existing = await readWrapped();
    await expect(kubectl(args(RESTORE_WRAPPED))).rejects.toThrow(/AlreadyExists|already exists/);
    expect((await readWrapped())?.metadata?.resourceVersion).toBe(existing?.metadata?.resourceVersion);
  });
});
