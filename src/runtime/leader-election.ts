import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { ApiClients } from './client.js';
import { microTime, timeMs } from './time.js';
import { describeError, statusCode } from './errors.js';
import type { Logger } from './logging.js';
import type { OperatorMetrics } from './metrics.js';

export interface LeaderElectionOptions {
  name: string;
  namespace: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/**
 * Lease-based leader election with client-go's timings (15 s lease, 10 s renew deadline, 2 s
 * retry). `acquire` resolves once leadership is acquired. Leadership then lasts only while the
 * last successful renew is younger than the renew deadline on the local monotonic clock: after
 * a pause (a long GC, a frozen container) the process knows it may have lost the lease before
 * it reads it again, and `check` (the write fence) refuses writes from that moment. `onLost`
 * fires once, when the renew deadline passes or another holder is seen — the process must then
 * stop reconciling (and exits, as Go operators do).
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private leading = false;
  private stopped = false;
  /** Monotonic time (performance.now) at which the last successful renew attempt began. */
  private renewedAt = 0;
  private onLost: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    /** Unfenced: the lease's own writes must go out while not (yet) leading. */
    clients: ApiClients,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger,
    private readonly metrics?: OperatorMetrics,
  ) {
    this.api = clients.make(CoordinationV1Api);
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    const problem = leaderElectionTimingProblem(this.leaseMs, this.renewMs, this.retryMs);
    if (problem) throw new Error(problem);
  }

  /** True while leading and the last renew is within the renew deadline (no side effects). */
  get isLeader(): boolean {
    return this.leading && performance.now() - this.renewedAt <= this.renewMs;
  }

  /**
   * The write fence: undefined while this process leads, else why it may not write. Noticing
   * here that the renew deadline has passed ends leadership at once, without a lease read.
   */
  check = (): string | undefined => {
    if (this.leading && !this.isLeader) this.lose('the lease was not renewed within the renew deadline');
    if (this.leading) return undefined;
    return `this process does not hold the leader lease ${this.opts.namespace}/${this.opts.name}`;
  };

  /** Blocks until this instance leads, then keeps renewing in the background. */
  async acquire(onLost: () => void): Promise<boolean> {
    this.metrics?.leaderStatus.set({ name: this.opts.name }, 0);
    while (!this.stopped) {
      const attempt = performance.now();
      if (await this.tryAcquireOrRenew()) {
        if (this.stopped) return false;
        this.leading = true;
        this.onLost = onLost;
        this.renewed(attempt);
        this.metrics?.leaderStatus.set({ name: this.opts.name }, 1);
        this.log.info('became leader', {
          lease: `${this.opts.namespace}/${this.opts.name}`,
          identity: this.opts.identity,
        });
        // Acquiring may itself have taken longer than the deadline.
        if (this.check() !== undefined) return false;
        this.timer = setTimeout(() => void this.tick(), this.retryMs);
        return true;
      }
      await new Promise((r) => setTimeout(r, this.retryMs));
    }
    return false;
  }

  private renewed(attempt: number): void {
    this.renewedAt = attempt;
    // Ends leadership on time even if a renew request hangs and nothing writes meanwhile.
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.check(), this.renewMs + 1);
    this.deadlineTimer.unref();
  }

  private async tick(): Promise<void> {
    // Checked before the lease read: after a pause, the answer is known without asking.
    if (this.stopped || this.check() !== undefined) return;
    const attempt = performance.now();
    const ok = await this.tryAcquireOrRenew();
    if (this.stopped || !this.leading) return;
    if (ok) this.renewed(attempt);
    if (this.check() !== undefined) return;
    this.timer = setTimeout(() => void this.tick(), this.retryMs);
  }

  private lose(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.metrics?.leaderStatus.set({ name: this.opts.name }, 0);
    this.log.error('lost leadership', { lease: `${this.opts.namespace}/${this.opts.name}`, reason });
    this.onLost?.();
  }

  /** Releases the lease on clean shutdown so a successor takes over without waiting. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (!this.leading) return;
    this.leading = false;
    this.metrics?.leaderStatus.set({ name: this.opts.name }, 0);
    try {
      const lease = await this.api.readNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
      });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      lease.spec = {
        ...lease.spec,
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        renewTime: microTime(new Date()) as never,
      };
      await this.api.replaceNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
        body: lease,
      });
    } catch (e) {
      this.log.warn('could not release the leader lease', { error: describeError(e) });
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity } = this.opts;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (statusCode(e) !== 404) {
        this.log.warn('reading the leader lease failed', { error: describeError(e) });
        return false;
      }
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: Math.round(this.leaseMs / 1000),
              acquireTime: microTime(now) as never,
              renewTime: microTime(now) as never,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch {
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = timeMs(spec.renewTime);
    const duration = (spec.leaseDurationSeconds ?? 15) * 1000;
    const expired = !holder || renewed + duration < now.getTime();
    if (holder !== identity && !expired) {
      if (this.leading) this.lose(`the lease is held by ${holder}`);
      return false;
    }
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.leaseMs / 1000),
      renewTime: microTime(now) as never,
      ...(holder !== identity
        ? { acquireTime: microTime(now) as never, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    // A leader paused while reading the lease writes nothing once past its deadline (the
    // resourceVersion would refuse a stale renew anyway; this sends none).
    if (this.leading && this.check() !== undefined) return false;
    try {
      // replace carries the resourceVersion read above: two candidates cannot both win.
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * What is wrong with these timings, if anything. As in client-go: the renew deadline must be
 * shorter than the lease (a paused leader stops writing before others may take over), and the
 * retry period shorter than the renew deadline (several renew attempts fit in it).
 */
export function leaderElectionTimingProblem(
  leaseMs: number,
  renewMs: number,
  retryMs: number,
): string | undefined {
  if (!(leaseMs >= 1000) || leaseMs % 1000 !== 0)
    return `the lease duration must be a whole number of seconds, at least 1s (got ${leaseMs} ms)`;
  if (!(renewMs > 0 && renewMs < leaseMs))
    return `the renew deadline (${renewMs} ms) must be shorter than the lease duration (${leaseMs} ms)`;
  if (!(retryMs > 0 && retryMs * 1.2 < renewMs))
    return `the retry period (${retryMs} ms) must be shorter than the renew deadline (${renewMs} ms) divided by 1.2`;
  return undefined;
}
