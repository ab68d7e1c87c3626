// `kubectl hdh` as users run it: the built plugin on the PATH as `kubectl-hdh`, called through
// the real kubectl, against two hubs whose datastore pods run on the certified EU nodes. status and
// the JSON report list every pod and volume with the regions of their nodes; a signed report
// verifies and one edited byte does not; rotate adds a key version; destroy changes nothing
// unconfirmed, and with the hub's UID confirms and deletes it, the hub exactly as it was shown
// (the API server refuses a write at a stale resourceVersion or UID, 409 and 422, and destroy
// stops when the spec changed meanwhile); a user without the rights is told which verb on which
// resource was refused.
import { CoreV1Api, RbacAuthorizationV1Api, type V1Node } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ANNOTATION_CONFIRM_DESTROY, API_GROUP, type HealthDataHub } from '../../../src/api/index.js';
import { destroyCommand } from '../../../src/cli/hdh/destroy.js';
import { ConflictError } from '../../../src/cli/hdh/errors.js';
import type { Connection } from '../../../src/cli/hdh/kubeconfig.js';
import type { Terminal } from '../../../src/cli/hdh/terminal.js';
import { annotateHub, deleteHub } from '../../../src/cli/hdh/writes.js';
import { freeLoopbackPort } from '../../../src/devcluster/processes.js';
import type { ComplianceReport, ReportHub } from '../../../src/report/compliance/index.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteNamespaceAndWait,
  getHub,
  hubManifest,
  patchHub,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { COMPLIANT_NODES, createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const execFileP = promisify(execFile);
const plugin = join(process.cwd(), 'dist', 'src', 'cli', 'kubectl-hdh.js');
const REGION = 'topology.kubernetes.io/region';
const ZONE = 'topology.kubernetes.io/zone';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl hdh', () => {
  let ns: string;
  let op: OperatorProcess;
  let fixtures: StorageFixtures;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  /** `kubectl hdh …` through the real kubectl, which finds kubectl-hdh on the PATH. */
  async function hdh(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    try {
      const { stdout, stderr } = await execFileP(testCluster().kubectl, ['hdh', ...args], {
        env: { ...env, ...extraEnv },
        maxBuffer: 16 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  }

  const nodeLabels = async () =>
    new Map((await core.listNode()).items.map((n: V1Node) => [n.metadata!.name!, n.metadata!.labels ?? {}]));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubectl-hdh-'));
    // The plugin as npm installs it: an executable `kubectl-hdh` on the PATH.
    const bin = join(dir, 'bin');
    await execFileP('mkdir', ['-p', bin]);
    await writeFile(join(bin, 'kubectl-hdh'), `#!/bin/sh\nexec "${process.execPath}" "${plugin}" "$@"\n`);
    await chmod(join(bin, 'kubectl-hdh'), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, KUBECONFIG: testCluster().kubeconfig };
    delete env.NO_COLOR;

    fixtures = await createStorageFixtures(kc, { perNode: 2, capacity: '1Gi' });
    ns = await prepareHubNamespace(kc, 'e2e-kubectl-hdh');
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    const records = hubManifest('records', ns);
    records.spec.storage.storageClassName = fixtures.encryptedClass;
    records.spec.datastore = { replicas: 2 };
    const minimal = hubManifest('minimal', ns);
    minimal.spec.storage = { size: '1Gi', storageClassName: fixtures.encryptedClass, retention: 'Delete' };
    minimal.spec.encryption = { onDelete: 'CryptoShred' };
    await createHub(kc, records);
    await createHub(kc, minimal);
    for (const name of ['records', 'minimal']) {
      await waitForHubCondition(kc, ns, name, 'Ready', { status: 'True' }, 120_000);
    }
  }, 240_000);

  afterAll(async () => {
    if (ns) await deleteNamespaceAndWait(kc, ns).catch(() => undefined);
    await op?.stop();
    await fixtures?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 180_000);

  it('status -A lists every pod and volume of the hubs with the region and zone of its node', async () => {
    const out = await hdh(['status', '-A']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).not.toContain('\u001b'); // not a terminal: no colour
    const labels = await nodeLabels();
    const pods = (await core.listNamespacedPod({ namespace: ns })).items;
    expect(pods.length).toBe(3);
    for (const p of pods) {
      const node = p.spec!.nodeName!;
      expect(COMPLIANT_NODES).toContain(node);
      const l = labels.get(node)!;
      expect(out.stdout).toMatch(
        new RegExp(`${p.metadata!.name} +${node} +${l[REGION]} +${l[ZONE]} +\\S*jurisdiction=EU +pass`),
      );
    }
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items;
    expect(claims.map((c) => c.metadata!.name).sort()).toEqual([
      'data-minimal-0',
      'data-records-0',
      'data-records-1',
    ]);
    for (const c of claims) {
      const volume = c.spec!.volumeName!;
      const node = fixtureNode(fixtures, volume);
      const l = labels.get(node)!;
      expect(out.stdout).toMatch(
        new RegExp(
          `${c.metadata!.name} +${volume} +${l[REGION]} +${l[ZONE]} +${fixtures.encryptedClass} +attested +pass`,
        ),
      );
    }
    expect(out.stdout).toContain(`HealthDataHub ${ns}/records  policy eu-hds  compliant`);
    expect(out.stdout).toMatch(/custody SecretInCluster/);

    // One hub, in JSON: the report model's per-hub data.
    const one = await hdh(['status', 'records', '-n', ns, '-o', 'json']);
    expect(one.code).toBe(0);
    const hubs = (JSON.parse(one.stdout) as { hubs: ReportHub[] }).hubs;
    expect(hubs.map((h) => h.name)).toEqual(['records']);
    expect(hubs[0]!.keys).toMatchObject({ provider: 'builtin', activeVersion: 1, versions: 1 });

    const missing = await hdh(['status', 'absent', '-n', ns]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`kubectl hdh status: healthdatahub absent not found in namespace ${ns}\n`);
  }, 60_000);

  it('report -A --format json lists every pod and volume with its region; a signed report verifies, an edited one does not', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const key = join(dir, 'key.pem');
    const pub = join(dir, 'pub.pem');
    await writeFile(key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    const file = join(dir, 'report.json');

    const out = await hdh(['report', '-A', '--format', 'json', '--sign', key, '--out', file]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('');
    const report = JSON.parse(await readFile(file, 'utf8')) as ComplianceReport;
    expect(out.stderr).toContain(`report digest: sha256:${report.integrity!.digest}`);
    expect(report.cluster.uid).toBe((await core.readNamespace({ name: 'kube-system' })).metadata!.uid);
    const labels = await nodeLabels();
    const pods = (await core.listNamespacedPod({ namespace: ns })).items;
    for (const name of ['records', 'minimal']) {
      const hub = report.hubs.find((h) => h.namespace === ns && h.name === name)!;
      expect(hub).toBeDefined();
      expect(hub.compliant).toBe(true);
      expect(hub.pods.map((p) => [p.name, p.node, p.region, p.zone, p.verdict]).sort()).toEqual(
        pods
          .map((p) => {
            const l = labels.get(p.spec!.nodeName!)!;
            return [p.metadata!.name, p.spec!.nodeName, l[REGION], l[ZONE], 'pass'];
          })
          .sort(),
      );
      for (const v of hub.volumes) {
        const l = labels.get(fixtureNode(fixtures, v.volume!))!;
        expect([v.regions, v.zones, v.encryption.attested, v.verdict]).toEqual([
          [l[REGION]],
          [l[ZONE]],
          true,
          'pass',
        ]);
      }
    }
    expect(
      report.hubs.find((h) => h.name === 'records' && h.namespace === ns)!.volumes.map((v) => v.claim),
    ).toEqual(['data-records-0', 'data-records-1']);

    const verified = await hdh(['verify', file, '--public-key', pub]);
    expect(verified).toMatchObject({ code: 0, stderr: '' });
    expect(verified.stdout).toMatch(/^verified: sha256:[0-9a-f]{64}; signed with the key in /);

    // One byte edited: a region of the content.
    const text = await readFile(file, 'utf8');
    const at = text.indexOf('"fr-par');
    expect(at).toBeGreaterThan(0);
    const edited = join(dir, 'edited.json');
    await writeFile(edited, `${text.slice(0, at + 1)}g${text.slice(at + 2)}`);
    const refused = await hdh(['verify', edited, '--public-key', pub]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('not verified: the digest does not match the report');

    // hdh-operator runs the same command.
    const md = await execFileP(
      process.execPath,
      [join(process.cwd(), 'dist', 'src', 'cli', 'main.js'), 'report', '-n', ns, '--format', 'markdown'],
      { env },
    );
    expect(md.stdout).toContain('# Compliance report');
    expect(md.stderr).toMatch(/^report digest: sha256:[0-9a-f]{64}/);

    // One run, several formats of the one sealed report: each page shows the digest of its JSON.
    const prefix = join(dir, 'audit');
    const all = await hdh(['report', '-n', ns, '--format', 'json,html,markdown', '--out', prefix]);
    expect(all.code).toBe(0);
    const sealed = JSON.parse(await readFile(`${prefix}.json`, 'utf8')) as ComplianceReport;
    for (const page of [`${prefix}.html`, `${prefix}.md`]) {
      expect(await readFile(page, 'utf8')).toContain(sealed.integrity!.digest);
    }
    expect((await hdh(['verify', `${prefix}.json`])).stdout).toContain(
      `verified: sha256:${sealed.integrity!.digest}`,
    );
    // The operator runs outside the cluster here: no Deployment where the history is read, said.
    expect(sealed.historySource).toMatchObject({ namespace: 'hdh-system', operatorFound: false });
    expect(all.stderr).toContain(
      'warning: history from ConfigMaps hdh-history.<namespace> of namespace hdh-system',
    );
  }, 60_000);

  it('rotate adds a key version, through an annotation patch by kubectl-hdh', async () => {
    const before = await getHub(kc, ns, 'records');
    const active = before.status!.encryption!.activeVersion!;
    const out = await hdh(['rotate', 'records', '-n', ns]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`healthdatahub ${ns}/records: hdh.sovereign.eu/rotate-key set to `);
    const after = await eventually(
      'a new key version',
      async () => {
        const h = await getHub(kc, ns, 'records');
        return h.status?.encryption?.activeVersion === active + 1 ? h : undefined;
      },
      60_000,
      300,
    );
    expect(after.status!.encryption!.versions).toBe(active + 1);
    expect(after.metadata.managedFields?.map((f) => f.manager)).toContain('kubectl-hdh');
  }, 90_000);

  it('the API server refuses a write at a stale resourceVersion (409) or for a replaced hub (422, 409)', async () => {
    const connection: Connection = {
      server: kc.getCurrentCluster()!.server,
      context: kc.getCurrentContext(),
      namespace: ns,
      kubeConfig: kc,
    };
    const read = await getHub(kc, ns, 'records');
    // Any change makes the hub read stale: here an annotation of someone else's.
    await patchHub(kc, ns, 'records', { metadata: { annotations: { 'e2e.example/touched': 'yes' } } });
    const stale = `healthdatahub ${ns}/records changed since it was read (resourceVersion ${read.metadata.resourceVersion})`;
    const patched = annotateHub(
      connection,
      read,
      { 'e2e.example/confirmed': 'yes' },
      { unchangedSinceRead: true },
    );
    await expect(patched).rejects.toThrow(ConflictError);
    await expect(patched).rejects.toThrow(`${stale}: nothing was changed`);
    const deleted = deleteHub(connection, read);
    await expect(deleted).rejects.toThrow(ConflictError);
    await expect(deleted).rejects.toThrow(`${stale}: it was not deleted`);
    const now = await getHub(kc, ns, 'records');
    expect(now.metadata.deletionTimestamp).toBeUndefined();
    expect(now.metadata.annotations?.['e2e.example/confirmed']).toBeUndefined();

    // A hub of the same name with another UID: the patch (UID only) is refused as invalid (422),
    // the deletion by its precondition (409).
    const other: HealthDataHub = {
      ...now,
      metadata: { ...now.metadata, uid: '00000000-0000-4000-8000-000000000000' },
    };
    const replaced = `healthdatahub ${ns}/records was replaced since it was read (it is no longer uid 00000000-0000-4000-8000-000000000000): nothing was changed`;
    await expect(annotateHub(connection, other, { 'e2e.example/confirmed': 'yes' })).rejects.toThrow(
      replaced,
    );
    await expect(deleteHub(connection, other)).rejects.toThrow(replaced);
    const after = await getHub(kc, ns, 'records');
    expect(after.metadata.deletionTimestamp).toBeUndefined();
    expect(after.metadata.annotations?.['e2e.example/confirmed']).toBeUndefined();
    await patchHub(kc, ns, 'records', { metadata: { annotations: { 'e2e.example/touched': null } } });
  }, 60_000);

  it('destroy confirms the plan shown: a spec change while the name is typed stops it, another change does not', async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = testCluster().kubeconfig;
    let out = '';
    const typing = (meanwhile: () => Promise<void>): Terminal => ({
      out: (t) => void (out += t),
      err: () => undefined,
      colour: false,
      interactive: true,
      ask: async () => {
        await meanwhile();
        return 'minimal';
      },
    });
    try {
      const uid = (await getHub(kc, ns, 'minimal')).metadata.uid!;
      const retention = (value: string) => () =>
        patchHub(kc, ns, 'minimal', { spec: { storage: { retention: value } } });
      await expect(destroyCommand('minimal', { namespace: ns }, typing(retention('Retain')))).rejects.toThrow(
        `healthdatahub ${ns}/minimal changed since its plan was shown (now: spec.storage.retention: Retain:`,
      );
      expect(
        (await getHub(kc, ns, 'minimal')).metadata.annotations?.[ANNOTATION_CONFIRM_DESTROY],
      ).toBeUndefined();
      await retention('Delete')();

      // An annotation of someone else's changes the hub, not what its deletion destroys.
      const touch = () =>
        patchHub(kc, ns, 'minimal', { metadata: { annotations: { 'e2e.example/touched': 'yes' } } });
      await destroyCommand('minimal', { namespace: ns }, typing(touch));
      expect(out).toContain(`${ANNOTATION_CONFIRM_DESTROY} set to ${uid}`);
      expect((await getHub(kc, ns, 'minimal')).metadata.annotations?.[ANNOTATION_CONFIRM_DESTROY]).toBe(uid);
    } finally {
      process.env.KUBECONFIG = saved;
      await patchHub(kc, ns, 'minimal', {
        metadata: { annotations: { [ANNOTATION_CONFIRM_DESTROY]: null, 'e2e.example/touched': null } },
      });
      // The operator answers these changes in the hub's status; the next test reads it settled.
      let version = '';
      await eventually(
        'minimal settled',
        async () => {
          const now = (await getHub(kc, ns, 'minimal')).metadata.resourceVersion!;
          const settled = now === version;
          version = now;
          return settled;
        },
        30_000,
        2_000,
      );
    }
  }, 60_000);

  it('destroy changes nothing unconfirmed, and with the hub UID confirms and deletes it', async () => {
    const hub = await getHub(kc, ns, 'minimal');
    const uid = hub.metadata.uid!;
    const unchanged = async () =>
      expect((await getHub(kc, ns, 'minimal')).metadata.resourceVersion).toBe(hub.metadata.resourceVersion);

    const asked = await hdh(['destroy', 'minimal', '-n', ns]);
    expect(asked.code).toBe(1);
    expect(asked.stdout).toContain(
      `uid ${uid}, on cluster ${kc.getCurrentCluster()!.server} (context ${kc.getCurrentContext()})`,
    );
    expect(asked.stdout).toContain(
      'spec.storage.retention: Delete: its claims are DELETED once the hub is deleted: data-minimal-0',
    );
    expect(asked.stdout).toContain(
      `spec.encryption.onDelete: CryptoShred: the key-encryption key ${hub.status!.encryption!.keyRef}`,
    );
    expect(asked.stderr).toContain(
      `stdin is not a terminal, so nobody can type the confirmation: give --yes --confirm-uid ${uid}`,
    );
    await unchanged();

    const wrong = await hdh([
      'destroy',
      'minimal',
      '-n',
      ns,
      '--yes',
      '--confirm-uid',
      '00000000-0000-4000-8000-000000000000',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('is not the UID of healthdatahub');
    await unchanged();

    const done = await hdh(['destroy', 'minimal', '-n', ns, '--yes', '--confirm-uid', uid, '--delete']);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`${ANNOTATION_CONFIRM_DESTROY} set to ${uid}`);
    await eventually(
      'minimal and its claim gone',
      async () =>
        (await getHub(kc, ns, 'minimal').then(
          () => false,
          () => true,
        )) &&
        !(await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.some(
          (c) => c.metadata!.name === 'data-minimal-0',
        ),
      60_000,
      300,
    );
  }, 120_000);

  it('tells a user without the rights which verb on which resource was refused, and an unreachable server', async () => {
    const kubeconfig = await restrictedKubeconfig(ns, 'auditor', dir);
    const status = await hdh(['status', '-n', ns, `--kubeconfig=${kubeconfig}`]);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(
      /^kubectl hdh status: forbidden: cannot list nodes \(403: nodes is forbidden: User "system:serviceaccount:[^"]+:auditor"/,
    );
    expect(status.stderr).not.toMatch(/\n\s+at /);

    const rotate = await hdh(['rotate', 'records', '-n', ns, `--kubeconfig=${kubeconfig}`]);
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toMatch(
      new RegExp(
        `^kubectl hdh rotate: forbidden: cannot patch healthdatahubs\\.${API_GROUP.replace(/\./g, '\\.')} in namespace ${ns} \\(403: `,
      ),
    );

    const port = await freeLoopbackPort();
    const nowhere = join(dir, 'nowhere.kubeconfig');
    await writeFile(
      nowhere,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}` } }],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    const unreachable = await hdh(['status', '-A'], { KUBECONFIG: nowhere });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      `kubectl hdh status: no cluster reachable at https://127.0.0.1:${port}: `,
    );
  }, 60_000);
});

/** The compliant node a fixture volume is pinned to (its name ends in `-<node>-<i>`). */
function fixtureNode(fixtures: StorageFixtures, volume: string): string {
  const node = Object.entries(fixtures.euVolumes).find(([, names]) => names.includes(volume))?.[0];
  if (!node) throw new Error(`${volume} is not a fixture volume`);
  return node;
}

/**
 * A kubeconfig for a ServiceAccount of `namespace` that may view the namespace and get hubs,
 * nothing else: the plugin sends only a bearer token (no impersonation), so a token it is.
 */
async function restrictedKubeconfig(namespace: string, name: string, dir: string): Promise<string> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: `${name}-hubs` },
      rules: [{ apiGroups: [API_GROUP], resources: ['healthdatahubs'], verbs: ['get', 'list'] }],
    },
  });
  for (const [kind, role] of [
    ['ClusterRole', 'view'],
    ['Role', `${name}-hubs`],
  ] as const) {
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: `${name}-${role}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    });
  }
  const { status } = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { expirationSeconds: 3600, audiences: [] } },
  });
  const cluster = kc.getCurrentCluster()!;
  const ca = cluster.caData ?? Buffer.from(await readFile(cluster.caFile!)).toString('base64');
  const file = join(dir, `${name}.kubeconfig`);
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority-data': ca } }],
      users: [{ name, user: { token: status!.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: name, namespace } }],
      'current-context': 'c',
    }),
    { mode: 0o600 },
  );
  return file;
}
