// Placement does not wait on keys: with the hub's key provider not answering at all (a Transit
// server that accepts connections and never replies, as a hung HSM gateway would), a pod whose
// node leaves the policy is still reported and evicted within the usual latency, and
// PlacementCompliant stays current for the hub's generation while KeysReady is False.
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { createServer, type Server, type Socket } from 'node:net';
import { HEALTH_DATA_HUB, type HealthDataHub } from '../../../src/api/index.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  getHub,
  hubCondition,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { createDeployment, namespaceHeld, NodeRelabeller } from '../../support/placement.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';
import { percentiles, recordWatch, type Recording } from '../../support/watch.js';

const COMPLIANT = new Set(['eu-fr-par-1', 'eu-fr-par-2', 'eu-de-fra-1']);
const RELABELS = 3;

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const relabel = new NodeRelabeller(kc);

/** A TCP server that accepts every connection and never answers. */
async function blackHole(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, sockets };
}

async function runningPod(namespace: string, app: string): Promise<V1Pod> {
  return eventually(
    `${app} Running on a compliant node`,
    async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
      const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
      const [pod] = live;
      return live.length === 1 && pod?.status?.phase === 'Running' && COMPLIANT.has(pod.spec!.nodeName!)
        ? pod
        : undefined;
    },
    60_000,
    100,
  );
}

describe('a key provider that does not answer', () => {
  const hubName = 'outage';
  const app = 'outage-app';
  let ns: string;
  let op: OperatorProcess;
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let hubWatch: Recording<HealthDataHub>;
  let podWatch: Recording<V1Pod>;
  let fixtures: StorageFixtures;

  beforeAll(async () => {
    hole = await blackHole();
    // Storage holds, so that the keys are what the hub waits on.
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-outage');
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'transit-token' }, stringData: { token: 'unused' } },
    });
    const hub = hubManifest(hubName, ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    hub.spec.encryption = {
      provider: 'transit',
      transit: {
        address: `https://127.0.0.1:${hole.port}`,
        authSecretRef: { name: 'transit-token', key: 'token' },
      },
    };
    await createHub(kc, hub);
    await namespaceHeld(kc, ns, 'eu-hds', ['fr-par', 'eu-west-3', 'de-fra']);
    await createDeployment(kc, ns, app, 1);
    await runningPod(ns, app);
    hubWatch = await recordWatch<HealthDataHub>(
      kc,
      `/apis/${HEALTH_DATA_HUB.group}/${HEALTH_DATA_HUB.version}/namespaces/${ns}/${HEALTH_DATA_HUB.plural}`,
      { fieldSelector: `metadata.name=${hubName}` },
    );
    podWatch = await recordWatch<V1Pod>(kc, `/api/v1/namespaces/${ns}/pods`, { labelSelector: `app=${app}` });
  }, 150_000);
  afterEach(async () => {
    await relabel.restore();
  });
  afterAll(async () => {
    hubWatch?.stop();
    podWatch?.stop();
    await relabel.restore();
    await op?.stop();
    await fixtures?.cleanup();
    for (const s of hole?.sockets ?? []) s.destroy();
    await new Promise((r) => hole?.server.close(r));
  });

  it('evicts a pod whose node leaves the policy, and keeps PlacementCompliant current, while KeysReady is False', async () => {
    // The operator asks the provider, which holds every request open.
    await eventually(
      'a connection to the provider',
      async () => {
        if (hole.sockets.size > 0) return true;
        // What the hub waits on, should the provider never be asked.
        throw new Error(JSON.stringify(hubCondition(await getHub(kc, ns, hubName), 'Ready')));
      },
      30_000,
    );
    const compliant = await waitForHubCondition(
      kc,
      ns,
      hubName,
      'PlacementCompliant',
      { status: 'True' },
      30_000,
    );
    expect(hubCondition(compliant, 'PlacementCompliant')!.observedGeneration).toBe(
      compliant.metadata.generation,
    );
    expect(hubCondition(compliant, 'KeysReady')?.status).not.toBe('True');
    expect(hubCondition(compliant, 'Ready')?.status).not.toBe('True');

    const eviction: number[] = [];
    for (let i = 0; i < RELABELS; i++) {
      const pod = await runningPod(ns, app);
      await waitForHubCondition(kc, ns, hubName, 'PlacementCompliant', { status: 'True' }, 30_000);
      const node = pod.spec!.nodeName!;
      const name = pod.metadata!.name!;
      const t0 = Date.now();
      await relabel.setRegion(node, 'us-east-1');
      const detected = await hubWatch.first(t0, (h) => {
        const c = hubCondition(h, 'PlacementCompliant');
        return c?.status === 'False' && c.message.includes(name);
      });
      const evicted = await podWatch.first(
        t0,
        (p) => p.metadata?.name === name && !!p.metadata?.deletionTimestamp,
      );
      eviction.push(evicted.at - t0);
      const c = hubCondition(detected.obj, 'PlacementCompliant')!;
      expect(c.reason).toBe('PodsOutsidePolicy');
      expect(c.observedGeneration).toBe(detected.obj.metadata.generation);
      await relabel.restore();
    }
    await runningPod(ns, app);
    const after = await waitForHubCondition(
      kc,
      ns,
      hubName,
      'PlacementCompliant',
      { status: 'True' },
      30_000,
    );
    expect(hubCondition(after, 'KeysReady')?.status).not.toBe('True');
    // The provider was asked, and is still being asked: the keys path is stuck, not skipped.
    expect(hole.sockets.size).toBeGreaterThan(0);
    const hub = await getHub(kc, ns, hubName);
    expect(hubCondition(hub, 'Ready')?.status).not.toBe('True');

    const e = percentiles(eviction);
    process.stderr.write(
      `key outage: eviction over ${RELABELS} relabels median ${e.median} ms (${eviction.join(' ')})\n`,
    );
    // As the drift test's bound: the same latency as with a healthy provider.
    expect(e.median).toBeLessThanOrEqual(5000);
  }, 300_000);
});
