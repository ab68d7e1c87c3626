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
 * retry). `run` resolves once leadership is acquired; `onLost` fires if it cannot be renewed
 * within the deadline — the process must then stop reconciling (and exits, as Go operators do).
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    clients: ApiClients,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger,
    private readonly metrics?: OperatorMetrics,
  ) {
    this.api = clients.make(CoordinationV1Api);
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Blocks until this instance leads, then keeps renewing in the background. */
  async acquire(onLost: () => void): Promise<boolean> {
    this.metrics?.leaderStatus.set({ name: this.opts.name }, 0);
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.metrics?.leaderStatus.set({ name: this.opts.name }, 1);
        this.log.info('became leader', {
          lease: `${this.opts.namespace}/${this.opts.name}`,
          identity: this.opts.identity,
        });
        this.renewLoop(onLost);
        return true;
      }
      await new Promise((r) => setTimeout(r, this.retryMs));
    }
    return false;
  }

  private renewLoop(onLost: () => void): void {
    let lastRenew = Date.now();
    const tick = async () => {
      if (this.stopped) return;
      if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
      if (Date.now() - lastRenew > this.renewMs) {
        this.leading = false;
        this.metrics?.leaderStatus.set({ name: this.opts.name }, 0);
        this.log.error('lost leadership', { lease: `${this.opts.namespace}/${this.opts.name}` });
        onLost();
        return;
      }
      this.timer = setTimeout(() => void tick(), this.retryMs);
    };
    this.timer = setTimeout(() => void tick(), this.retryMs);
  }

  /** Releases the lease on clean shutdown so a successor takes over without waiting. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
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
    if (holder !== identity && !expired) return false;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.leaseMs / 1000),
      renewTime: microTime(now) as never,
      ...(holder !== identity
        ? { acquireTime: microTime(now) as never, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    try {
      // replace carries the resourceVersion read above: two candidates cannot both win.
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch {
      return false;
    }
  }
}
