// Never two writers: a leader frozen (SIGSTOP, as a long GC pause or a throttled container would
// do) long enough for a standby to take the lease must not write anything once it resumes. The
// API server's audit log is the witness: it records every write with the User-Agent of the
// process that sent it (each carries its leader-election identity). The round is the one
// `npm run chaos` runs (leader-failover), here on the shared test cluster.
//
// HDH_CHAOS_ROUNDS sets the number of pauses (default 2; `HDH_CHAOS_ROUNDS=10` for a longer run).
import { CoreV1Api } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { pauseLeaderRound, type Replica } from '../../../chaos/harness/leader-rounds.js';
import { describeWrite } from '../../../chaos/harness/audit.js';
import { readClusterState } from '../../../src/devcluster/cluster.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteNamespaceAndWait,
  hubManifest,
  listHubs,
  prepareHubNamespace,
  reconciled,
} from '../../support/hubs.js';
import {
  leaderElectionArgs,
  leaderIdentity,
  leaseHolder,
  startOperatorProcess,
  type OperatorProcess,
} from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const ROUNDS = Number(process.env.HDH_CHAOS_ROUNDS ?? 2);
const HUBS = 24;
/** Short timings so that a round takes seconds: the standby takes over ~4–5 s into the pause. */
const TIMINGS = [
  '--leader-elect-lease-duration=4s',
  '--leader-elect-renew-deadline=3s',
  '--leader-elect-retry-period=500ms',
];

const replica = (p: OperatorProcess): Replica => ({
  identity: leaderIdentity(p),
  signal: (sig) => void p.child.kill(sig),
  exited: p.exited,
});

describe('a paused leader', () => {
  const kc = testKubeConfig();
  const auditLog = readClusterState(testCluster().dir)?.auditLog;
  let ns: string;
  let leaseNs: string;
  let storage: StorageFixtures;
  const procs: OperatorProcess[] = [];

  const start = async () => {
    const p = await startOperatorProcess([
      ...leaderElectionArgs(ns, leaseNs),
      '--log-level=info',
      ...TIMINGS,
    ]);
    procs.push(p);
    return p;
  };
  const holder = () => leaseHolder(kc, leaseNs);
  const allReconciled = async () => {
    const hubs = await listHubs(kc, ns);
    return hubs.length === HUBS && hubs.every(reconciled);
  };

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'e2e-pause');
    leaseNs = `${ns}-lease`;
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: leaseNs } } });
    // An encrypted class: every hub gets its StatefulSet, Service and key-access objects.
    storage = await createStorageFixtures(kc, { perNode: 1 });
    for (let i = 0; i < HUBS; i++) {
      const hub = hubManifest(`hub-${i}`, ns);
      hub.spec.storage.storageClassName = storage.encryptedClass;
      await createHub(kc, hub);
    }
  });
  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGCONT');
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    // The hubs' finalizers need an operator: without one the namespace would stay Terminating.
    const cleaner = ns
      ? await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false'])
      : undefined;
    await Promise.all([deleteNamespaceAndWait(kc, ns), deleteNamespaceAndWait(kc, leaseNs)]);
    await cleaner?.stop();
    await storage?.cleanup();
  }, 180_000);

  it(
    `writes nothing after another replica took the lease, then exits (${ROUNDS} rounds)`,
    async () => {
      if (!auditLog || !existsSync(auditLog)) {
        throw new Error(
          'the test cluster has no API-server audit log: restart it (`cluster down`, then `cluster up`)',
        );
      }
      let leader = await start();
      await eventually('a leader', async () => (await holder()) === leaderIdentity(leader), 30_000, 100);
      let standby = await start();
      await eventually('standby synced', async () => (await fetch(`${standby.probesUrl}/readyz`)).ok, 30_000);
      await eventually('all hubs reconciled', allReconciled, 120_000, 500);

      const report: string[] = [];
      let total = 0;
      const ctx = {
        kc,
        auditLog,
        leaseNamespace: leaseNs,
        hubs: Array.from({ length: HUBS }, (_, i) => ({ namespace: ns, name: `hub-${i}` })),
        allReconciled,
      };
      for (let round = 1; round <= ROUNDS; round++) {
        const r = await pauseLeaderRound(ctx, round, replica(leader), replica(standby));
        expect(r.exit).not.toBe('still running');
        expect(r.exit).not.toBe(0);
        total += r.late.length;
        report.push(
          `round ${round}: paused ${r.pausedMs} ms; takeover after ${r.takeoverMs} ms; writes by the old leader after the takeover: ${r.late.length}; by the new leader: ${r.byNewLeader}` +
            r.late
              .slice(0, 5)
              .map((e) => `\n    ${describeWrite(e)}`)
              .join(''),
        );
        // The next round pauses the new leader; a fresh process stands by.
        leader = standby;
        standby = await start();
        await eventually(
          'standby synced',
          async () => (await fetch(`${standby.probesUrl}/readyz`)).ok,
          30_000,
        );
      }
      process.stderr.write(`paused leader:\n  ${report.join('\n  ')}\n  total: ${total}\n`);
      expect(total).toBe(0);
    },
    120_000 + ROUNDS * 90_000,
  );
});
