// The what-if against a real cluster: a hub's namespace with a Deployment spread over the
// compliant nodes and a bound volume on each, then `hdh-operator what-if` on the sample policy
// without de-fra lists exactly the pods and volumes on the de-fra node, and changes nothing.
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { SOVEREIGNTY_POLICY, type SovereigntyPolicy } from '../../../src/api/index.js';
import { freeLoopbackPort } from '../../../src/devcluster/processes.js';
import type { WhatIfResult } from '../../../src/report/what-if.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteNamespaceAndWait,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { createDeployment, namespaceHeld } from '../../support/placement.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { COMPLIANT_NODES, createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const run = promisify(execFile);
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const DE_FRA = COMPLIANT_NODES.filter((n) => n.includes('de-fra'));
const REGIONS = ['fr-par', 'eu-west-3', 'de-fra'];

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

async function whatIf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [
      cli,
      'what-if',
      `--kubeconfig=${testCluster().kubeconfig}`,
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

async function readPolicy(name: string): Promise<SovereigntyPolicy> {
  return (await custom.getClusterCustomObject({ ...SOVEREIGNTY_POLICY, name })) as SovereigntyPolicy;
}

/** resourceVersions of the policy, and of every pod and claim of the namespace. */
async function versions(namespace: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {
    'policy/eu-hds': (await readPolicy('eu-hds')).metadata.resourceVersion!,
  };
  for (const p of (await core.listNamespacedPod({ namespace })).items) {
    out[`pod/${p.metadata!.name}`] = p.metadata!.resourceVersion!;
  }
  for (const c of (await core.listNamespacedPersistentVolumeClaim({ namespace })).items) {
    out[`claim/${c.metadata!.name}`] = c.metadata!.resourceVersion!;
  }
  return out;
}

describe('hdh-operator what-if', () => {
  const operatorArgs = () => [`--namespace=${ns}`, '--leader-elect=false'];
  const app = 'whatif-app';
  let ns: string;
  let op: OperatorProcess;
  let fixtures: StorageFixtures;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'what-if-'));
    fixtures = await createStorageFixtures(kc, { perNode: 1, capacity: '1Gi' });
    ns = await prepareHubNamespace(kc, 'e2e-whatif');
    op = await startOperatorProcess(operatorArgs());
    await createHub(kc, hubManifest('records', ns));
    await namespaceHeld(kc, ns, 'eu-hds', REGIONS);
    // One claim pre-bound to the volume of each compliant node.
    for (const node of COMPLIANT_NODES) {
      await core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: {
          metadata: { name: `scratch-${node}` },
          spec: {
            storageClassName: fixtures.encryptedClass,
            volumeName: fixtures.euVolumes[node]![0],
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '1Gi' } },
          },
        },
      });
    }
    await eventually(
      'claims bound',
      async () =>
        (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.filter(
          (c) => c.status?.phase === 'Bound',
        ).length === COMPLIANT_NODES.length,
      60_000,
      200,
    );
    // One pod per compliant node: the spread counts only the nodes the injected affinity allows.
    await createDeployment(kc, ns, app, COMPLIANT_NODES.length, {
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app } },
        },
      ],
    });
    await eventually(
      'pods Running on every compliant node',
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items;
        const nodes = new Set(pods.filter((p) => p.status?.phase === 'Running').map((p) => p.spec!.nodeName));
        return pods.length === COMPLIANT_NODES.length && COMPLIANT_NODES.every((n) => nodes.has(n));
      },
      60_000,
      200,
    );
    await waitForHubCondition(kc, ns, 'records', 'PlacementCompliant', { status: 'True' }, 30_000);
  }, 180_000);

  afterAll(async () => {
    // Stopped by the first test: started again, so that the hub's finalizer lets the namespace go.
    if (op && (op.child.exitCode !== null || op.child.signalCode !== null)) {
      op = await startOperatorProcess(operatorArgs());
    }
    if (ns) await deleteNamespaceAndWait(kc, ns).catch(() => undefined);
    await op?.stop();
    await fixtures?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('lists exactly the pods and volumes in de-fra for the policy without de-fra, and changes nothing', async () => {
    const current = await readPolicy('eu-hds');
    const candidate = {
      apiVersion: SOVEREIGNTY_POLICY.apiVersion,
      kind: SOVEREIGNTY_POLICY.kind,
      metadata: { name: 'eu-hds' },
      spec: { ...current.spec, regions: current.spec.regions.filter((r) => r !== 'de-fra') },
    };
    const file = join(dir, 'eu-hds-without-de-fra.yaml');
    await writeFile(file, stringify(candidate));
    // The operator has placed everything; stopped, it cannot write the cluster-scoped policy's
    // status (node counts change with other tests' nodes), so a changed version is what-if's own.
    await op.stop();
    const before = await versions(ns);

    const out = await whatIf(['--policy', file, '-n', ns, '-o', 'json']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout) as WhatIfResult;

    const pods = (await core.listNamespacedPod({ namespace: ns })).items;
    const placed = (p: V1Pod) =>
      !!p.spec?.nodeName && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
    const onDeFra = pods.filter((p) => placed(p) && DE_FRA.includes(p.spec!.nodeName! as never));
    expect(onDeFra.length).toBeGreaterThan(0);
    expect(result.change).toBe('changed');
    expect(result.namespaces).toEqual([{ namespace: ns, hubs: ['records'], labelled: true }]);
    expect(result.pods.map((p) => [p.pod, p.node]).sort()).toEqual(
      onDeFra.map((p) => [p.metadata!.name!, p.spec!.nodeName!]).sort(),
    );
    expect(result.pods.every((p) => p.action === 'evict' && !p.alreadyViolating)).toBe(true);
    expect(result.volumes.map((v) => [v.claim, v.volume, v.regions])).toEqual(
      DE_FRA.map((n) => [`scratch-${n}`, fixtures.euVolumes[n]![0], ['de-fra']]),
    );
    expect(result.hubsWithoutNodes).toEqual([]);
    expect(result.nodes.stopQualifying.map((n) => n.node)).toEqual(DE_FRA);
    expect(result.nodes.startQualifying).toEqual([]);

    // The text rendering of the same.
    const text = await whatIf(['--policy', file, '-n', ns]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Pods that would violate it (${onDeFra.length})`);
    expect(text.stdout).toContain(`Bound volumes outside its regions (${DE_FRA.length})`);

    // Nothing was written.
    expect(await versions(ns)).toEqual(before);
  }, 60_000);

  it('fails with a clear error on a bad policy file, a namespace that does not exist and no cluster', async () => {
    const file = join(dir, 'not-a-policy.yaml');
    await writeFile(file, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }));
    const bad = await whatIf(['--policy', file, '-n', ns]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not a SovereigntyPolicy: apiVersion is "v1"');

    const good = join(dir, 'eu-hds.yaml');
    await writeFile(good, stringify({ ...(await readPolicy('eu-hds')), status: undefined }));
    const missing = await whatIf(['--policy', good, '-n', `${ns}-absent`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`namespace ${ns}-absent not found`);

    // A kubeconfig naming a server nobody listens on.
    const port = await freeLoopbackPort();
    const nowhere = join(dir, 'nowhere.kubeconfig');
    await writeFile(
      nowhere,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}` } }],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    const unreachable = await whatIf(['--policy', good, '-A', `--kubeconfig=${nowhere}`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`no cluster reachable at https://127.0.0.1:${port}`);
  }, 30_000);
});
