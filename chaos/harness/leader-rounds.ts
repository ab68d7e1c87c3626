// One round of leader failover between two replicas, with the audit log as the witness: the
// leader is SIGKILLed, or frozen (SIGSTOP, as a long GC pause or a throttled container would do)
// until the standby has taken the lease and done the leader's work, then thawed (SIGCONT). Either
// way the old leader must write nothing once the standby holds the lease, and a thawed one exits.
import type { KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { patchHub } from '../../test/support/hubs.js';
import { leaseHolder } from '../../test/support/operator.js';
import { eventually } from '../../test/support/wait.js';
import { auditedWrites, sentBy, type AuditEvent } from './audit.js';
import type { HubId } from './fleet.js';

/** An operator process taking part in leader election. */
export interface Replica {
  identity: string;
  signal: (sig: NodeJS.Signals) => void;
  /** Its exit code (null when ended by a signal). */
  exited: Promise<number | null>;
}

export interface LeaderRoundContext {
  kc: KubeConfig;
  auditLog: string;
  leaseNamespace: string;
  hubs: readonly HubId[];
  /** Every hub reported on for its current generation. */
  allReconciled: () => Promise<boolean>;
}

export interface RoundResult {
  /** From the signal to the standby's lease write. */
  takeoverMs: number;
  /** Writes of the old leader received after the takeover (must be none). */
  late: AuditEvent[];
  byNewLeader: number;
  /** The moment the old leader stopped (local clock) and the takeover, both ms since the epoch. */
  quiet: { from: number; to: number };
}

export interface PauseResult extends RoundResult {
  pausedMs: number;
  /** The thawed leader's exit: it must end, and not with 0. */
  exit: number | null | 'still running';
}

const isLeaseWrite = (e: AuditEvent, ns: string) =>
  e.objectRef?.resource === 'leases' && e.objectRef.namespace === ns && ['update', 'create'].includes(e.verb);

/** Every hub's datastore changes: the new leader has work, and an old one's watches see it. */
async function changeEveryHub(ctx: LeaderRoundContext, round: number): Promise<void> {
  for (const h of ctx.hubs) {
    await patchHub(ctx.kc, h.namespace, h.name, {
      spec: { datastore: { env: [{ name: 'ROUND', value: String(round) }] } },
    });
  }
}

function outcome(
  ctx: LeaderRoundContext,
  before: number,
  leader: Replica,
  standby: Replica,
  from: number,
): RoundResult {
  const writes = auditedWrites(ctx.auditLog).slice(before);
  const takeover = writes.find((e) => sentBy(e, standby.identity) && isLeaseWrite(e, ctx.leaseNamespace));
  if (!takeover) throw new Error(`no lease write by the standby ${standby.identity} in the audit log`);
  const at = takeover.requestReceivedTimestamp;
  return {
    takeoverMs: Date.parse(at) - from,
    late: writes.filter((e) => sentBy(e, leader.identity) && e.requestReceivedTimestamp > at),
    byNewLeader: writes.filter((e) => sentBy(e, standby.identity)).length,
    quiet: { from, to: Date.parse(at) },
  };
}

async function waitHolder(ctx: LeaderRoundContext, who: Replica, timeoutMs: number): Promise<void> {
  await eventually(
    `${who.identity} holding the lease`,
    async () => (await leaseHolder(ctx.kc, ctx.leaseNamespace)) === who.identity,
    timeoutMs,
    100,
  );
}

/** The leader SIGKILLed; the standby takes over and reconciles a change of every hub. */
export async function killLeaderRound(
  ctx: LeaderRoundContext,
  round: number,
  leader: Replica,
  standby: Replica,
): Promise<RoundResult> {
  const before = auditedWrites(ctx.auditLog).length;
  const killedAt = Date.now();
  leader.signal('SIGKILL');
  await leader.exited;
  await waitHolder(ctx, standby, 60_000);
  await changeEveryHub(ctx, round);
  await eventually('the new leader reconciled every hub', ctx.allReconciled, 90_000, 250);
  await sleep(1000); // the audit log is written as requests complete
  return outcome(ctx, before, leader, standby, killedAt);
}

/**
 * The leader frozen between two writes until the standby has taken the lease and applied every
 * hub's StatefulSet, then thawed.
 */
export async function pauseLeaderRound(
  ctx: LeaderRoundContext,
  round: number,
  leader: Replica,
  standby: Replica,
): Promise<PauseResult> {
  const all = auditedWrites(ctx.auditLog);
  const before = all.length;
  // The identity check only means something if the leader's writes are recognisable.
  if (!all.some((e) => sentBy(e, leader.identity))) {
    throw new Error(`no write of the leader ${leader.identity} in the audit log`);
  }
  // Frozen between writes: a request already on its way when the process stops can leave it on
  // resume (see docs/runtime.md); what must never happen is new work after it.
  await eventually(
    'the leader between writes',
    async () => {
      const last = auditedWrites(ctx.auditLog)
        .filter((e) => sentBy(e, leader.identity) && e.objectRef?.resource !== 'leases')
        .pop();
      return !last || Date.now() - Date.parse(last.requestReceivedTimestamp) > 1500;
    },
    30_000,
    250,
  );
  leader.signal('SIGSTOP');
  const stoppedAt = Date.now();
  await waitHolder(ctx, standby, 60_000);
  await changeEveryHub(ctx, round);
  await eventually('the new leader reconciled every hub', ctx.allReconciled, 90_000, 250);
  // Each datastore follows once the keys are reported for the new generation: the old leader's
  // watches will see every one.
  const statefulSets = () =>
    auditedWrites(ctx.auditLog)
      .slice(before)
      .filter((e) => sentBy(e, standby.identity) && e.objectRef?.resource === 'statefulsets').length;
  await eventually(
    'the new leader applied every StatefulSet',
    async () => statefulSets() >= ctx.hubs.length,
    90_000,
    250,
  );
  const pausedMs = Date.now() - stoppedAt;
  leader.signal('SIGCONT');
  // Unref'd: the timer must not keep the process alive once the leader has exited.
  const exit = await Promise.race([leader.exited, sleep(30_000, 'still running' as const, { ref: false })]);
  await sleep(1000); // the audit log is written as requests complete
  return { ...outcome(ctx, before, leader, standby, stoppedAt), pausedMs, exit };
}
