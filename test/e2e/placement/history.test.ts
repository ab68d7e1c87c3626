// The durable history end to end: a pod whose node leaves the policy (onViolation: Evict) is
// recorded as a Violation and an Eviction in the ConfigMap of the operator's namespace; deleting
// every Event of the namespace leaves that record as it was, and a restarted operator adds nothing
// to it. Then the keys: a rotation, and the keys kept at the hub's deletion, recorded with the
// key-encryption key they are about, and listed as retained by the report. The node relabelled
// here is put back whatever happens.
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { historyConfigMapName, parseHistory, type HistoryEntry } from '../../../src/api/history.js';
import { testKubeConfig } from '../../support/cluster.js';
import { complianceReport, reportedHub } from '../../support/kubectl-hdh.js';
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
import { metricValue } from '../../support/metrics.js';
import { createDeployment, namespaceHeld, NodeRelabeller } from '../../support/placement.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { COMPLIANT_NODES, createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const OPERATOR_NAMESPACE = 'hdh-system';
const HUB = 'history';
/** A hub with storage, so that it gets keys. */
const KEYS_HUB = 'keys';
const APP = 'history-app';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const relabel = new NodeRelabeller(kc);

describe('the history of a namespace', () => {
  let ns: string;
  let op: OperatorProcess | undefined;
  let fixtures: StorageFixtures | undefined;

  const start = () => startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
  const history = async (): Promise<HistoryEntry[]> =>
    parseHistory(
      await core
        .readNamespacedConfigMap({ name: historyConfigMapName(ns), namespace: OPERATOR_NAMESPACE })
        .catch(() => undefined),
    );
  const runningPod = () =>
    eventually(
      `one ${APP} pod Running on a compliant node`,
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${APP}` })).items;
        const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
        const [pod] = live;
        const ok =
          live.length === 1 &&
          pod!.status?.phase === 'Running' &&
          (COMPLIANT_NODES as readonly string[]).includes(pod!.spec?.nodeName ?? '');
        return ok ? (pod as V1Pod) : undefined;
      },
      60_000,
    );

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'e2e-history');
    op = await start();
    await createHub(kc, hubManifest(HUB, ns));
    await namespaceHeld(kc, ns, 'eu-hds', ['fr-par', 'eu-west-3', 'de-fra']);
    await createDeployment(kc, ns, APP, 1);
    await runningPod();
    await waitForHubCondition(kc, ns, HUB, 'PlacementCompliant', { status: 'True' }, 30_000);
  }, 150_000);
  afterAll(async () => {
    await relabel.restore();
    await deleteNamespaceAndWait(kc, ns).catch(() => undefined);
    await fixtures?.cleanup().catch(() => undefined);
    await op?.stop();
    await core
      .deleteNamespacedConfigMap({ name: historyConfigMapName(ns), namespace: OPERATOR_NAMESPACE })
      .catch(() => undefined);
  });

  it('records the violation and the eviction, keeps them when Events go, and a restart adds nothing', async () => {
    const victim = await runningPod();
    const pod = victim.metadata!.name!;
    const node = victim.spec!.nodeName!;
    expect(await history()).toEqual([]);

    await relabel.setRegion(node, 'us-east-1');
    const recorded = await eventually(
      'Violation and Eviction in the history',
      async () => {
        const entries = await history();
        const types = entries.filter((e) => e.pod === pod).map((e) => e.type);
        return types.includes('Violation') && types.includes('Eviction') ? entries : undefined;
      },
      30_000,
    );
    const violation = recorded.find((e) => e.type === 'Violation' && e.pod === pod)!;
    const eviction = recorded.find((e) => e.type === 'Eviction' && e.pod === pod)!;
    expect(violation).toMatchObject({
      hub: HUB,
      node,
      reason: 'PodsOutsidePolicy',
      message: expect.stringContaining('region us-east-1'),
    });
    expect(eviction).toMatchObject({ hub: HUB, node, reason: 'PodEvicted' });
    // Oldest first: found, then removed.
    expect(recorded.indexOf(violation)).toBeLessThan(recorded.indexOf(eviction));
    expect(violation.hubUID).toMatch(/^[0-9a-f-]{36}$/);

    // The node is back; the replacement runs inside the policy and the violation is resolved.
    await relabel.restore();
    await runningPod();
    await waitForHubCondition(kc, ns, HUB, 'PlacementCompliant', { status: 'True' }, 30_000);
    const settled = await eventually('ViolationResolved in the history', async () => {
      const entries = await history();
      return entries.some((e) => e.type === 'ViolationResolved' && e.pod === pod) ? entries : undefined;
    });

    // Events expire (and can be deleted); the history does not go with them.
    const events = await core.listNamespacedEvent({ namespace: ns });
    expect(events.items.length).toBeGreaterThan(0);
    await core.deleteCollectionNamespacedEvent({ namespace: ns });
    await eventually(
      'no Events left',
      async () => (await core.listNamespacedEvent({ namespace: ns })).items.length === 0,
    );
    expect(await history()).toEqual(settled);
    // ... and the auditor's report, made now, still shows the violation and the eviction.
    const reported = reportedHub(await complianceReport(ns), ns, HUB).history;
    expect(reported).toContainEqual(expect.objectContaining({ type: 'Violation', pod }));
    expect(reported).toContainEqual(expect.objectContaining({ type: 'Eviction', pod }));

    // A new operator process audits the same namespace: nothing it finds is new.
    await op!.stop();
    op = await start();
    await eventually('the placement controller has reconciled', async () => {
      const text = await op!.metrics();
      return metricValue(text, 'controller_runtime_reconcile_total', { controller: 'placement' }) > 0;
    });
    await new Promise((r) => setTimeout(r, 2000));
    expect(await history()).toEqual(settled);
  }, 180_000);

  it("records a rotation and the keys kept at a hub's deletion, naming their key-encryption key", async () => {
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    const manifest = hubManifest(KEYS_HUB, ns);
    manifest.spec.storage.storageClassName = fixtures.encryptedClass;
    await createHub(kc, manifest);
    const before = await eventually(
      'KeysReady True',
      async () => {
        const hub = await getHub(kc, ns, KEYS_HUB);
        const keys = hubCondition(hub, 'KeysReady');
        if (keys?.status === 'True' && hub.status?.encryption?.keyRef) return hub;
        throw new Error(`KeysReady ${keys?.status} ${keys?.reason}: ${keys?.message}`);
      },
      60_000,
    );
    const keyRef = before.status!.encryption!.keyRef!;
    const version = before.status!.encryption!.activeVersion!;
    await patchHub(kc, ns, KEYS_HUB, {
      metadata: { annotations: { 'hdh.sovereign.eu/rotate-key': 'e2e-history' } },
    });
    const rotated = await eventually('KeyRotated in the history', async () =>
      (await history()).find((e) => e.type === 'KeyRotated'),
    );
    expect(rotated).toMatchObject({
      hub: KEYS_HUB,
      hubUID: before.metadata.uid,
      kekRef: keyRef,
      keyVersion: version + 1,
    });
    await eventually(
      'the rotation in status',
      async () => (await getHub(kc, ns, KEYS_HUB)).status?.encryption?.activeVersion === version + 1,
    );

    // The finalizer goes only once the record is written: when the hub is gone, it is there.
    await deleteHubAndWait(kc, ns, KEYS_HUB);
    const entries = await history();
    expect(entries.filter((e) => e.type === 'KeysRetained')).toEqual([
      expect.objectContaining({ hub: KEYS_HUB, hubUID: before.metadata.uid, kekRef: keyRef }),
    ]);
    expect(entries.filter((e) => e.type === 'KeyRotated')).toHaveLength(1);
    const report = await complianceReport(ns);
    expect(report.retainedKeys).toEqual([
      expect.objectContaining({ namespace: ns, hub: KEYS_HUB, uid: before.metadata.uid, kekRef: keyRef }),
    ]);
  }, 150_000);
});
