import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { startOperator } from '../../../src/cli/run.js';
import {
  readClusterState,
  startApiserverReplica,
  startComponent,
  stopComponent,
} from '../../../src/devcluster/cluster.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { Informer } from '../../../src/runtime/informer.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import { createHub, getHub, hubManifest, prepareHubNamespace, reconciled } from '../../support/hubs.js';
import { eventually } from '../../support/wait.js';

const quiet = createLogger('error', 'json');

function kubeConfigAt(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** etcd's current revision, then a physical compaction up to it (history before it is gone). */
async function compactEtcd(): Promise<number> {
  const etcd = readClusterState(testCluster().dir)!.etcdUrl;
  const post = async (path: string, body: unknown) =>
    (await (await fetch(`${etcd}${path}`, { method: 'POST', body: JSON.stringify(body) })).json()) as {
      header: { revision: string };
    };
  const rev = Number(
    (await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') })).header.revision,
  );
  await post('/v3/kv/compaction', { revision: String(rev), physical: true });
  return rev;
}

/**
 * Runs `during` while the primary API server is down, with a replica on the same etcd serving
 * the test's own requests; the primary comes back afterwards.
 */
async function withPrimaryDown(during: (replica: KubeConfig) => Promise<void>): Promise<void> {
  const dir = testCluster().dir;
  await stopComponent(dir, 'kube-apiserver');
  const replica = await startApiserverReplica(dir);
  try {
    await during(kubeConfigAt(replica.kubeconfig));
  } finally {
    await startComponent(dir, 'kube-apiserver');
    await replica.stop();
  }
}

describe('watch resilience against a real API server', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let ns: string;

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-watch');
  });

  it('relists after 410 Gone (history compacted while disconnected) and misses no change', async () => {
    const cm = (name: string, v: string): V1ConfigMap => ({ metadata: { name, namespace: ns }, data: { v } });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('keep', '1') });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('gone', '1') });
    const seen: string[] = [];
    const inf = new Informer<V1ConfigMap>(
      new ApiClients(kc),
      { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: ns },
      quiet,
      { maxBackoffMs: 1000 },
    );
    inf.on((event, o) => seen.push(`${event}:${o.metadata?.name}`));
    inf.start();
    try {
      await inf.waitForSync();
      expect(inf.lists).toBe(1);

      await withPrimaryDown(async (replica) => {
        const r = replica.makeApiClient(CoreV1Api);
        await r.createNamespacedConfigMap({ namespace: ns, body: cm('new', '1') });
        await r.deleteNamespacedConfigMap({ name: 'gone', namespace: ns });
        await r.replaceNamespacedConfigMap({ name: 'keep', namespace: ns, body: cm('keep', '2') });
        // Churn elsewhere, then compact: the informer's resourceVersion is now history.
        for (let i = 0; i < 20; i++) {
          await r.createNamespacedConfigMap({ namespace: ns, body: cm(`churn-${i}`, '1') });
          await r.deleteNamespacedConfigMap({ name: `churn-${i}`, namespace: ns });
        }
        await compactEtcd();
      });

      await eventually(
        'informer caught up',
        async () => inf.get(`${ns}/new`) && !inf.get(`${ns}/gone`),
        60_000,
      );
      expect(inf.lists).toBeGreaterThanOrEqual(2); // relisted rather than resumed
      expect(inf.get(`${ns}/keep`)?.data?.v).toBe('2');
      const server = await core.listNamespacedConfigMap({ namespace: ns });
      expect(
        inf
          .list()
          .map((o) => o.metadata!.name)
          .sort(),
      ).toEqual(server.items.map((o) => o.metadata!.name).sort());
      expect(seen).toEqual(expect.arrayContaining(['add:new', 'delete:gone', 'update:keep']));
      expect(inf.health().ok).toBe(true);
    } finally {
      inf.stop();
    }
  }, 180_000);

  it('caches and hands out objects reduced by the transform, whether listed or watched', async () => {
    const big = 'x'.repeat(10_000);
    const cm = (name: string, v: string): V1ConfigMap => ({
      metadata: { name, namespace: ns, labels: { transform: 'yes' } },
      data: { v, big },
    });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('listed', '1') });
    const handed: V1ConfigMap[] = [];
    const inf = new Informer<V1ConfigMap>(
      new ApiClients(kc),
      {
        group: '',
        version: 'v1',
        kind: 'ConfigMap',
        plural: 'configmaps',
        namespace: ns,
        labelSelector: 'transform',
      },
      quiet,
      { transform: (o) => ({ ...o, data: { v: o.data?.v ?? '' } }) },
    );
    inf.on((_event, o) => handed.push(o));
    inf.start();
    try {
      await inf.waitForSync();
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('watched', '1') });
      await core.replaceNamespacedConfigMap({ name: 'listed', namespace: ns, body: cm('listed', '2') });
      await eventually(
        'watched',
        async () => inf.get(`${ns}/watched`) && inf.get(`${ns}/listed`)?.data?.v === '2',
      );
      for (const o of [...inf.list(), ...handed]) {
        expect(o.data).toEqual({ v: expect.any(String) });
        // apiVersion and kind are restored before the transform sees the object.
        expect(o).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
      }
      expect(handed.map((o) => o.metadata?.name)).toEqual(['listed', 'watched', 'listed']);
    } finally {
      inf.stop();
    }
  });

  it('reconciles a hub created while its API server was down, with /readyz failing meanwhile', async () => {
    const op = await startOperator(
      {
        kubeconfig: testCluster().kubeconfig,
        leaderElect: false,
        metricsBindAddress: '0',
        healthProbeBindAddress: '127.0.0.1:0',
        logLevel: 'error',
        logFormat: 'json',
        concurrency: 2,
        informer: { unhealthyAfterMs: 1500, maxBackoffMs: 1000 },
      },
      () => undefined,
    );
    const readyz = async () => (await fetch(`http://${op.manager.addresses()[0]}/readyz`)).status;
    try {
      await createHub(kc, hubManifest('before', ns));
      await eventually('hub before reconciled', async () => reconciled(await getHub(kc, ns, 'before')));
      expect(await readyz()).toBe(200);

      let readyzDuringOutage = 0;
      await withPrimaryDown(async (replica) => {
        readyzDuringOutage = await eventually(
          'readyz failing',
          async () => ((await readyz()) === 503 ? 503 : undefined),
          30_000,
        );
        await createHub(replica, hubManifest('during', ns));
        // Still down for the operator: nothing can have reconciled it yet.
        expect(reconciled(await getHub(replica, ns, 'during'))).toBe(false);
      });
      expect(readyzDuringOutage).toBe(503);

      const hub = await eventually(
        'hub created during the outage reconciled',
        async () => {
          const h = await getHub(kc, ns, 'during');
          return reconciled(h) ? h : undefined;
        },
        60_000,
      );
      expect(hub.status?.conditions?.find((c) => c.type === 'Ready')).toBeDefined();
      await eventually('readyz passing again', async () => (await readyz()) === 200, 30_000);
    } finally {
      await op.stop();
    }
  }, 180_000);
});
