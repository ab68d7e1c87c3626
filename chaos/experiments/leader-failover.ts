// Two replicas with leader election; the leader is SIGKILLed, or frozen (SIGSTOP) for longer than
// the lease and thawed, round after round. The standby must take over within the lease plus 5 s,
// and at no moment may two processes write: three witnesses say so — the API server's audit log
// (each process's writes form one span, never interleaved), each standby's own request counter (no
// write before it leads), and the objects' managedFields times (every operator write explained by
// the audit log, none while no process held the lease).
import { CoreV1Api } from '@kubernetes/client-node';
import { leaderElectionArgs, leaseHolder } from '../../test/support/operator.js';
import { eventually } from '../../test/support/wait.js';
import { auditedWrites, unexplainedManagedWrites, writerSpans } from '../harness/audit.js';
import { seconds, type Experiment } from '../harness/experiment.js';
import { createHubs, fleetHubs, isReady, prepareFleet, waitReady } from '../harness/fleet.js';
import {
  killLeaderRound,
  pauseLeaderRound,
  type PauseResult,
  type Replica,
  type RoundResult,
} from '../harness/leader-rounds.js';
import { managedWrites } from '../harness/managed-fields.js';
import type { OperatorProcess } from '../harness/operators.js';

const SIZES = {
  // Short timings (as the paused-leader e2e test): a round takes seconds.
  small: { hubs: 8, rounds: ['kill', 'pause'] as const, lease: 4, renew: '3s', retry: '500ms' },
  // The command line's defaults.
  full: {
    hubs: 24,
    rounds: ['kill', 'pause', 'kill', 'pause', 'kill', 'pause'] as const,
    lease: 15,
    renew: '10s',
    retry: '2s',
  },
};
/** The takeover may take the lease duration plus this. */
const TAKEOVER_SLACK_MS = 5_000;

const replica = (p: OperatorProcess): Replica => ({
  identity: p.identity,
  signal: (sig) => p.signal(sig),
  exited: p.exited.then((e) => e.code),
});

export const leaderFailover: Experiment = {
  name: 'leader-failover',
  title:
    'Two replicas with leader election: the leader SIGKILLed, and SIGSTOPped past its lease then resumed',
  proves:
    'a standby takes over within the lease plus 5 s, and never do two processes write: the old leader sends nothing once the lease is taken, and a standby nothing before it leads',
  async run({ scale, cluster, operators, log, figure, check }) {
    const size = SIZES[scale];
    const kc = cluster.kc;
    const fleet = await prepareFleet(kc, size.hubs, { perNamespace: size.hubs });
    const ns = fleet.namespaces[0]!;
    const leaseNs = `${ns}-lease`;
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: leaseNs } } });
    await createHubs(kc, fleet, fleet.hubs);
    const start = async () => {
      const p = await operators.start({
        args: [
          ...leaderElectionArgs(ns, leaseNs),
          `--leader-elect-lease-duration=${size.lease}s`,
          `--leader-elect-renew-deadline=${size.renew}`,
          `--leader-elect-retry-period=${size.retry}`,
        ],
      });
      return p;
    };
    const synced = (p: OperatorProcess) =>
      eventually(`${p.identity} synced`, () => p.readyWithin(1000), 60_000);

    let leader = await start();
    await eventually(
      'a leader',
      async () => (await leaseHolder(kc, leaseNs)) === leader.identity,
      60_000,
      100,
    );
    let standby = await start();
    await synced(standby);
    await waitReady(kc, fleet, 180_000);

    const ctx = {
      kc,
      auditLog: cluster.auditLog,
      leaseNamespace: leaseNs,
      hubs: fleet.hubs,
      allReconciled: async () => (await fleetHubs(kc, fleet)).every(isReady),
    };
    const leaseMs = size.lease * 1000;
    const takeovers: number[] = [];
    const pauses: number[] = [];
    const quiet: { from: number; to: number }[] = [];
    let late = 0;
    for (const [i, kind] of size.rounds.entries()) {
      const round = i + 1;
      const standbyWrites = await standby.writesSent();
      check(
        standbyWrites === 0,
        `round ${round}: the standby ${standby.identity} sent ${standbyWrites} writes before leading`,
      );
      // The old leader ends in this round: killed, or exiting once thawed.
      leader.endExpected = true;
      const r: RoundResult & Partial<PauseResult> =
        kind === 'kill'
          ? await killLeaderRound(ctx, round, replica(leader), replica(standby))
          : await pauseLeaderRound(ctx, round, replica(leader), replica(standby));
      takeovers.push(seconds(r.takeoverMs));
      quiet.push(r.quiet);
      late += r.late.length;
      check(
        r.late.length === 0,
        `round ${round} (${kind}): ${r.late.length} writes by the old leader after the takeover`,
      );
      check(
        r.takeoverMs <= leaseMs + TAKEOVER_SLACK_MS,
        `round ${round} (${kind}): takeover after ${seconds(r.takeoverMs)} s, limit ${seconds(leaseMs + TAKEOVER_SLACK_MS)} s`,
      );
      if (r.pausedMs !== undefined) {
        pauses.push(seconds(r.pausedMs));
        check(r.pausedMs > leaseMs, `round ${round}: paused ${r.pausedMs} ms, not longer than the lease`);
        check(r.exit !== 'still running', `round ${round}: the thawed leader still runs 30 s after SIGCONT`);
        check(r.exit !== 0, `round ${round}: the thawed leader exited with 0 (lost leadership is a failure)`);
      }
      log(
        `round ${round} (${kind}): takeover after ${seconds(r.takeoverMs)} s, ${r.byNewLeader} writes by the new leader`,
      );
      leader = standby;
      standby = await start();
      await synced(standby);
    }

    const writes = auditedWrites(cluster.auditLog);
    const spans = writerSpans(writes);
    const repeated = [...new Set(spans.map((s) => s.identity))].filter(
      (id) => spans.filter((s) => s.identity === id).length > 1,
    );
    check(
      repeated.length === 0,
      `processes that wrote in alternation with another: ${repeated.join(', ')}; spans: ${spans.map((s) => `${s.identity} ${s.first}–${s.last} (${s.writes})`).join('; ')}`,
    );
    const managed = await managedWrites(kc, ns, leaseNs);
    const unexplained = unexplainedManagedWrites(managed, writes, quiet);
    check(
      unexplained.length === 0,
      `managedFields not explained by the audit log:\n${unexplained.slice(0, 10).join('\n')}`,
    );

    figure('hubs', size.hubs);
    figure('lease (s)', size.lease);
    figure('rounds', size.rounds.join(', '));
    figure('takeover per round (s)', takeovers);
    figure('pause per SIGSTOP round (s)', pauses);
    figure('writes by an old leader after the takeover', late);
    figure('writer spans (one per process when none interleave)', spans.map((s) => s.writes).join(', '));
    figure('managedFields entries checked', managed.length);
  },
};
