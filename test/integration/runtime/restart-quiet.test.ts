// A restart with nothing changed makes no write: the new process compares what it would apply
// with the objects as its caches hold them (values and managedFields ownership) instead of
// re-applying every object once. Counted by the new process's own metric; the API server's audit
// log names the writes, if there are any.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readClusterState } from '../../../src/devcluster/cluster.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteNamespaceAndWait,
  hubCondition,
  hubManifest,
  listHubs,
  prepareHubNamespace,
} from '../../support/hubs.js';
import { metricValue } from '../../support/metrics.js';
import { leaderIdentity, startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { COMPLIANT_NODES, createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const HUBS = 30;
/** How long it is watched once it has reconciled every hub (the writes of a restart come then). */
const QUIET_SECONDS = 15;

const writes = (metrics: string) =>
  metricValue(metrics, 'rest_client_requests_total', {
    method: (m) => !['GET', 'HEAD', 'OPTIONS'].includes(m),
  });

/** The writes of process `p` the audit log recorded, as "verb resource namespace/name". */
function auditedWrites(p: OperatorProcess): string[] {
  const log = readClusterState(testCluster().dir)?.auditLog;
  if (!log || !existsSync(log)) return ['(the test cluster has no audit log)'];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`(${leaderIdentity(p)})`))
    .map(
      (l) =>
        JSON.parse(l) as {
          verb: string;
          objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
        },
    )
    .filter((e) => !['get', 'list', 'watch'].includes(e.verb))
    .map((e) => {
      const o = e.objectRef ?? {};
      return `${e.verb} ${o.resource}${o.subresource ? `/${o.subresource}` : ''} ${o.namespace ?? ''}/${o.name ?? ''}`;
    });
}

describe('an operator restarted with nothing changed', () => {
  const kc = testKubeConfig();
  let ns: string;
  let storage: StorageFixtures;
  let op: OperatorProcess | undefined;
  const allReady = async () => {
    const hubs = await listHubs(kc, ns);
    return hubs.length === HUBS && hubs.every((h) => hubCondition(h, 'Ready')?.status === 'True');
  };
  const start = () => startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-restart');
    // One volume per hub on the nodes of the policy: every hub gets its claim, StatefulSet,
    // Service, key Secrets and key-access objects, and becomes Ready.
    storage = await createStorageFixtures(kc, { perNode: Math.ceil(HUBS / COMPLIANT_NODES.length) });
    op = await start();
    for (let i = 0; i < HUBS; i++) {
      const hub = hubManifest(`hub-${String(i).padStart(2, '0')}`, ns);
      hub.spec.storage.storageClassName = storage.encryptedClass;
      await createHub(kc, hub);
    }
  }, 120_000);
  afterAll(async () => {
    // The hubs' finalizers need a running operator.
    op ??= ns ? await start() : undefined;
    if (ns) await deleteNamespaceAndWait(kc, ns);
    await op?.stop();
    await storage?.cleanup();
  }, 180_000);

  it(`makes no write request while it reconciles its ${HUBS} hubs and ${QUIET_SECONDS} s after, and they stay Ready`, async () => {
    await eventually(`all ${HUBS} hubs Ready`, allReady, 120_000, 1000);
    await sleep(3000); // the last status writes come back through the watch
    expect(await op!.stop()).toBe(0);

    op = await start();
    await eventually(
      'the new process ready',
      async () => (await fetch(`${op!.probesUrl}/readyz`)).ok,
      30_000,
    );
    // It reconciles every hub (through the hub and keys controllers) and its namespace ...
    const reconciled = (metrics: string, controller: string) =>
      metricValue(metrics, 'controller_runtime_reconcile_total', { controller });
    await eventually(
      'every hub reconciled by the new process',
      async () => {
        const m = await op!.metrics();
        return (
          reconciled(m, 'healthdatahub') >= HUBS &&
          reconciled(m, 'keys') >= HUBS &&
          reconciled(m, 'placement') >= 1
        );
      },
      60_000,
      500,
    );
    // ... and writes nothing, then or after.
    await sleep(QUIET_SECONDS * 1000);
    const metrics = await op.metrics();
    const written = writes(metrics);
    if (written > 0) process.stderr.write(`writes after the restart:\n  ${auditedWrites(op).join('\n  ')}\n`);
    expect(written).toBe(0);
    expect(await allReady()).toBe(true);
  }, 240_000);
});
