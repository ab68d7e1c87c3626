// Never two writers: a leader frozen (SIGSTOP, as a long GC pause or a throttled container would
// do) long enough for a standby to take the lease must not write anything once it resumes. The
// API server's audit log is the witness: it records every write with the User-Agent of the
// process that sent it (each carries its leader-election identity).
//
// HDH_CHAOS_ROUNDS sets the number of pauses (default 2; `HDH_CHAOS_ROUNDS=10` for a longer run).
import { CoreV1Api } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readClusterState } from '../../../src/devcluster/cluster.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteNamespaceAndWait,
  hubManifest,
  listHubs,
  patchHub,
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

interface AuditEvent {
  verb: string;
  userAgent?: string;
  requestReceivedTimestamp: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/** Write requests recorded in the audit log (the policy records only writes), in order. */
function auditedWrites(path: string): AuditEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEvent);
}

const sentBy = (e: AuditEvent, p: OperatorProcess) => !!e.userAgent?.includes(`(${leaderIdentity(p)})`);
const describe_ = (e: AuditEvent) => {
  const o = e.objectRef ?? {};
  return `${e.requestReceivedTimestamp} ${e.verb} ${o.resource}${o.subresource ? `/${o.subresource}` : ''} ${o.namespace ?? ''}/${o.name ?? ''} → ${e.responseStatus?.code}`;
};

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
      for (let round = 1; round <= ROUNDS; round++) {
        const before = auditedWrites(auditLog);
        // The identity check only means something if the leader's writes are recognisable.
        expect(before.some((e) => sentBy(e, leader))).toBe(true);

        // Frozen between writes: a request already on its way when the process stops can leave
        // it on resume (see docs/runtime.md); what must never happen is new work after it.
        await eventually(
          'the leader between writes',
          async () => {
            const last = auditedWrites(auditLog)
              .filter((e) => sentBy(e, leader) && e.objectRef?.resource !== 'leases')
              .pop();
            return !last || Date.now() - Date.parse(last.requestReceivedTimestamp) > 1500;
          },
          30_000,
          250,
        );
        leader.child.kill('SIGSTOP');
        const stoppedAt = Date.now();
        await eventually(
          'the standby takes the lease',
          async () => (await holder()) === leaderIdentity(standby),
          30_000,
          100,
        );
        // Work the frozen leader will find on waking: every hub's datastore changes, so its watches
        // deliver changed hubs and StatefulSets the new leader has just written.
        for (let i = 0; i < HUBS; i++)
          await patchHub(kc, ns, `hub-${i}`, {
            spec: { datastore: { env: [{ name: 'ROUND', value: String(round) }] } },
          });
        await eventually('the new leader reconciled every hub', allReconciled, 60_000, 250);
        // Each datastore follows once the keys are reported for the new generation: the old
        // leader's watches will see every one.
        const statefulSets = () =>
          auditedWrites(auditLog)
            .slice(before.length)
            .filter((e) => sentBy(e, standby) && e.objectRef?.resource === 'statefulsets').length;
        await eventually(
          'the new leader applied every StatefulSet',
          async () => statefulSets() >= HUBS,
          60_000,
          250,
        );
        expect(statefulSets()).toBeGreaterThanOrEqual(HUBS);
        const pausedMs = Date.now() - stoppedAt;
        leader.child.kill('SIGCONT');
        // Unref'd: the timer must not keep the test process alive once the leader has exited.
        const code = await Promise.race([
          leader.exited,
          sleep(30_000, undefined, { ref: false }).then(() => 'still running'),
        ]);
        expect(code).not.toBe('still running');
        expect(code).not.toBe(0);
        await sleep(1000); // the audit log is written as requests complete

        const writes = auditedWrites(auditLog).slice(before.length);
        const takeover = writes.find(
          (e) =>
            sentBy(e, standby) &&
            e.objectRef?.resource === 'leases' &&
            e.objectRef.namespace === leaseNs &&
            ['update', 'create'].includes(e.verb),
        );
        expect(takeover).toBeDefined();
        const late = writes.filter(
          (e) => sentBy(e, leader) && e.requestReceivedTimestamp > takeover!.requestReceivedTimestamp,
        );
        const byNewLeader = writes.filter((e) => sentBy(e, standby)).length;
        total += late.length;
        report.push(
          `round ${round}: paused ${pausedMs} ms; writes by the old leader after the takeover: ${late.length}; by the new leader: ${byNewLeader}` +
            late
              .slice(0, 5)
              .map((e) => `\n    ${describe_(e)}`)
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
