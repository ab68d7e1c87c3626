import { CoreV1Api } from '@kubernetes/client-node';
import { testKubeConfig } from '../../support/cluster.js';
import { createHub, getHub, hubManifest, prepareHubNamespace, reconciled } from '../../support/hubs.js';
import { metricValue } from '../../support/metrics.js';
import {
  leaderElectionArgs,
  leaderIdentity,
  leaseHolder,
  startOperatorProcess,
  type OperatorProcess,
} from '../../support/operator.js';
import { eventually } from '../../support/wait.js';

describe('leader election between two operator processes', () => {
  const kc = testKubeConfig();
  let ns: string;
  let leaseNs: string;
  const procs: OperatorProcess[] = [];

  const start = async () => {
    const p = await startOperatorProcess([...leaderElectionArgs(ns, leaseNs), '--log-level=info']);
    procs.push(p);
    return p;
  };
  const isLeader = async (p: OperatorProcess) =>
    metricValue(await p.metrics(), 'leader_election_master_status') === 1;
  const holder = () => leaseHolder(kc, leaseNs);

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-leader');
    leaseNs = `${ns}-lease`;
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: leaseNs } } });
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  });

  it('lets exactly one process reconcile, fails over after SIGKILL, and hands over at once after SIGTERM', async () => {
    const a = await start();
    await eventually('a leads', () => isLeader(a), 30_000);
    const b = await start();
    await eventually(
      'b synced and standing by',
      async () => (await fetch(`${b.probesUrl}/readyz`)).ok,
      30_000,
    );

    await createHub(kc, hubManifest('one', ns));
    await eventually('hub reconciled', async () => reconciled(await getHub(kc, ns, 'one')));
    const [ma, mb] = [await a.metrics(), await b.metrics()];
    expect(
      metricValue(ma, 'controller_runtime_reconcile_total', { controller: 'healthdatahub' }),
    ).toBeGreaterThan(0);
    expect(metricValue(mb, 'controller_runtime_reconcile_total')).toBe(0); // series exist, all at zero
    expect(metricValue(mb, 'leader_election_master_status')).toBe(0);

    // Crash of the leader: the standby waits for the lease to expire (15 s) and takes over.
    const killedAt = Date.now();
    await a.stop('SIGKILL');
    await eventually('b leads', () => isLeader(b), 30_000, 250);
    const failover = Date.now() - killedAt;
    expect(failover).toBeLessThanOrEqual(15_000 + 5_000);
    await createHub(kc, hubManifest('two', ns));
    await eventually('hub two reconciled by b', async () => reconciled(await getHub(kc, ns, 'two')));
    expect(
      metricValue(await b.metrics(), 'controller_runtime_reconcile_total', { controller: 'healthdatahub' }),
    ).toBeGreaterThan(0);

    // Clean shutdown: the lease is released, so a new candidate leads without waiting for expiry.
    const c = await start();
    await eventually('c standing by', async () => (await fetch(`${c.probesUrl}/readyz`)).ok, 30_000);
    const termAt = Date.now();
    expect(await b.stop('SIGTERM')).toBe(0);
    // Released: no longer held by b (c may already have taken it in the meantime).
    expect(await holder()).not.toBe(leaderIdentity(b));
    await eventually('c leads', () => isLeader(c), 15_000, 100);
    const handover = Date.now() - termAt;
    // Bounded by c's retry period (2 s), far below the 15 s lease duration.
    expect(handover).toBeLessThan(5_000);
    process.stderr.write(
      `leader election: failover after SIGKILL ${failover} ms, handover after SIGTERM ${handover} ms\n`,
    );
  }, 120_000);
});
