// Caches past the first list page: every hub and policy is cached however many there are, and a
// restarted operator still manages the hub listed last. The counts default to 1,200 hubs (past the
// operator's own page of 1,000) and 250 policies (read in pages of 100);
// HDH_COMPLETE_LISTS_HUBS and HDH_COMPLETE_LISTS_POLICIES change them.
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import {
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import { startOperator, type OperatorHandle, type RunOptions } from '../../../src/cli/run.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { Informer } from '../../../src/runtime/informer.js';
import { listAll } from '../../../src/runtime/list.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteNamespaceAndWait,
  hubManifest,
  listHubs,
  prepareHubNamespace,
} from '../../support/hubs.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const HUBS = Number(process.env.HDH_COMPLETE_LISTS_HUBS ?? 1200);
const POLICIES = Number(process.env.HDH_COMPLETE_LISTS_POLICIES ?? 250);
/** Requests under way at once while creating the objects. */
const CREATE_CONCURRENCY = 16;
const RUN_LABEL = 'test.hdh.sovereign.eu/complete-lists';

const quiet = createLogger('error', 'json');

/** Runs `fn` over `items`, at most `limit` at a time. */
async function inPool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const hubName = (i: number) => `hub-${String(i).padStart(5, '0')}`;

describe(`caches of ${HUBS} hubs and ${POLICIES} policies`, () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const run = Date.now().toString(36);
  // Zero-padded names: lists come in key order, so the last hub is the last one of every list.
  const last = hubName(HUBS - 1);
  let ns: string;
  let fixtures: StorageFixtures;
  let op: OperatorHandle | undefined;

  const operatorOptions = (): RunOptions => ({
    kubeconfig: testCluster().kubeconfig,
    namespace: ns,
    leaderElect: false,
    metricsBindAddress: '0',
    healthProbeBindAddress: '0',
    logLevel: 'error',
    logFormat: 'json',
    concurrency: 4,
  });
  const lastService = () =>
    core.readNamespacedService({ name: last, namespace: ns }).catch((e: { code?: number }) => {
      if (e.code === 404) return undefined;
      throw e;
    });
  const deletePolicies = () =>
    custom.deleteCollectionClusterCustomObject({
      group: SOVEREIGNTY_POLICY.group,
      version: SOVEREIGNTY_POLICY.version,
      plural: SOVEREIGNTY_POLICY.plural,
      labelSelector: `${RUN_LABEL}=${run}`,
    });

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-lists');
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    // The last hub first, alone, so that an operator gives it its datastore (Service included)
    // quickly; the others are suspended: cheap to reconcile, nothing to create.
    const lastHub = hubManifest(last, ns);
    lastHub.spec.storage.storageClassName = fixtures.encryptedClass;
    await createHub(kc, lastHub);
    op = await startOperator(operatorOptions(), () => undefined);
    await eventually(`Service ${ns}/${last} applied`, lastService, 60_000, 300);
    await op.stop();
    op = undefined;

    const started = Date.now();
    const policySpec = {
      regions: ['fr-par', 'eu-west-3', 'de-fra'],
      nodeSelectorRequirements: [
        { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
      ],
    };
    await inPool(
      [
        ...Array.from({ length: HUBS - 1 }, (_, i) => () => {
          const hub = hubManifest(hubName(i), ns);
          hub.spec.suspend = true;
          return createHub(kc, hub);
        }),
        ...Array.from(
          { length: POLICIES },
          (_, i) => () =>
            custom.createClusterCustomObject({
              group: SOVEREIGNTY_POLICY.group,
              version: SOVEREIGNTY_POLICY.version,
              plural: SOVEREIGNTY_POLICY.plural,
              body: {
                apiVersion: SOVEREIGNTY_POLICY.apiVersion,
                kind: SOVEREIGNTY_POLICY.kind,
                metadata: {
                  name: `lists-${run}-${String(i).padStart(5, '0')}`,
                  labels: { [RUN_LABEL]: run },
                },
                spec: policySpec,
              },
            }),
        ),
      ],
      CREATE_CONCURRENCY,
      (create) => create(),
    );
    process.stderr.write(
      `complete lists: created ${HUBS - 1} hubs and ${POLICIES} policies in ${Date.now() - started} ms\n`,
    );
  }, 300_000);

  afterAll(async () => {
    const started = Date.now();
    // All hubs at once, then an operator for the last one's finalizer. A fresh one: the one
    // running would first finish its start-up reconciles of the other hubs.
    await op?.stop();
    if (ns) {
      await custom
        .deleteCollectionNamespacedCustomObject({
          group: HEALTH_DATA_HUB.group,
          version: HEALTH_DATA_HUB.version,
          plural: HEALTH_DATA_HUB.plural,
          namespace: ns,
        })
        .catch(() => undefined);
      op = await startOperator(operatorOptions(), () => undefined).catch(() => undefined);
      await eventually(
        'the hubs of the test namespace gone',
        async () => (await listHubs(kc, ns)).length === 0,
        60_000,
        500,
      ).catch(() => undefined);
    }
    await op?.stop();
    await deletePolicies().catch(() => undefined);
    if (ns) await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
    process.stderr.write(`complete lists: cleaned up in ${Date.now() - started} ms\n`);
  }, 240_000);

  it('caches every hub and every policy, past the first list page', async () => {
    const clients = new ApiClients(kc);
    // Pages of 500 for the hubs, as client-go's, and of 100 for the policies: both lists take
    // several (the restart below runs the operator with its own page size).
    const hubs = new Informer<HealthDataHub>(clients, { ...HEALTH_DATA_HUB, namespace: ns }, quiet, {
      pageSize: 500,
    });
    // All policies of the cluster, not only this run's: the list is as long as it gets.
    const policies = new Informer<SovereigntyPolicy>(clients, SOVEREIGNTY_POLICY, quiet, {
      pageSize: 100,
    });
    hubs.start();
    policies.start();
    try {
      await Promise.all([hubs.waitForSync(), policies.waitForSync()]);
      expect(hubs.list().length).toBe(HUBS);
      expect(hubs.get(`${ns}/${last}`)).toBeDefined();
      expect(policies.list((p) => p.metadata.labels?.[RUN_LABEL] === run).length).toBe(POLICIES);
      // Past the first page, each: a list that stopped after one would have failed above.
      expect(hubs.listPages).toBe(Math.ceil(HUBS / 500));
      expect(policies.listPages).toBe(Math.ceil(policies.list().length / 100));
      expect(policies.listPages).toBeGreaterThan(1);
      process.stderr.write(
        `complete lists: informers cached ${hubs.list().length} hubs in ${hubs.listPages} list requests, ` +
          `${policies.list().length} policies in ${policies.listPages}\n`,
      );
    } finally {
      hubs.stop();
      policies.stop();
    }

    // The page size: requests and time of one full list of the hubs.
    for (const pageSize of [500, 1000]) {
      const t0 = performance.now();
      const list = await listAll<HealthDataHub>(clients, { ...HEALTH_DATA_HUB, namespace: ns }, pageSize);
      const ms = Math.round(performance.now() - t0);
      expect(list.items.length).toBe(HUBS);
      process.stderr.write(
        `complete lists: ${HUBS} hubs listed in ${list.pages} requests of ${pageSize} in ${ms} ms\n`,
      );
    }
  }, 120_000);

  it("a restarted operator restores the last hub's deleted Service", async () => {
    // The policy cache is proven above; reconciling this run's policies' admission objects is
    // not what this test is about, and would only slow it.
    await deletePolicies();
    // Deleted while no operator runs: only the restarted operator's lists can find it missing.
    await core.deleteNamespacedService({ name: last, namespace: ns });
    const restarted = Date.now();
    op = await startOperator(operatorOptions(), () => undefined);
    await eventually(`Service ${ns}/${last} restored`, lastService, 90_000, 500);
    process.stderr.write(
      `complete lists: Service of the last of ${HUBS} hubs restored ${Date.now() - restarted} ms after the restart\n`,
    );
  }, 150_000);
});
