import { FencedError } from './client.js';
import { describeError } from './errors.js';
import type { Logger } from './logging.js';
import type { OperatorMetrics } from './metrics.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (periodic audits, rotation). */
  requeueAfterMs?: number;
  /**
   * Reconcile this key again with its growing retry delay, as after an error, but without one:
   * the reconciler has reported what blocks it (a refusal only a change of input can lift). The
   * delay starts afresh after a reconcile without it.
   */
  backoff?: boolean;
}

/**
 * An error that retrying cannot fix (an invalid spec): the key is not retried until one of its
 * objects changes and enqueues it again.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export interface Reconciler {
  reconcile(key: string): Promise<ReconcileResult | void>;
}

export interface ControllerOptions {
  name: string;
  concurrency?: number;
  maxBackoffMs?: number;
  metrics: OperatorMetrics;
  log: Logger;
}

/**
 * Level-triggered control loop: watch events only enqueue keys; workers reconcile the current
 * state of each key, one worker per key at a time, with per-key backoff on error.
 */
export class Controller {
  readonly queue: WorkQueue;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly reconciler: Reconciler,
    private readonly opts: ControllerOptions,
  ) {
    this.queue = new WorkQueue({ name: opts.name, metrics: opts.metrics, maxDelayMs: opts.maxBackoffMs });
    // Series exist from the start (at 0), as controller-runtime's do, so rate() and alerts work.
    const m = opts.metrics;
    for (const result of ['success', 'error', 'requeue_after'])
      m.reconcileTotal.inc({ controller: opts.name, result }, 0);
    m.reconcileErrors.inc({ controller: opts.name }, 0);
    m.queueRetries.inc({ name: opts.name }, 0);
    m.queueAdds.inc({ name: opts.name }, 0);
    m.queueDepth.set({ name: opts.name }, 0);
  }

  get name(): string {
    return this.opts.name;
  }

  enqueue = (key: string): void => this.queue.add(key);

  start(): void {
    const n = Math.max(1, this.opts.concurrency ?? 4);
    for (let i = 0; i < n; i++) this.workers.push(this.worker());
  }

  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.processOne(key);
    }
  }

  private async processOne(key: string): Promise<void> {
    const { metrics, log, name } = this.opts;
    const end = metrics.reconcileTime.startTimer({ controller: name });
    const endWork = metrics.workDuration.startTimer({ name });
    try {
      const result = (await this.reconciler.reconcile(key)) ?? {};
      if (result.backoff) {
        metrics.reconcileTotal.inc({ controller: name, result: 'requeue_after' });
        this.queue.addRateLimited(key);
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
        return;
      }
      this.queue.forget(key);
      if (result.requeueAfterMs !== undefined) {
        metrics.reconcileTotal.inc({ controller: name, result: 'requeue_after' });
        this.queue.addAfter(key, result.requeueAfterMs);
      } else {
        metrics.reconcileTotal.inc({ controller: name, result: 'success' });
      }
    } catch (e) {
      metrics.reconcileErrors.inc({ controller: name });
      if (e instanceof FencedError) {
        // Leadership is gone: the reconcile stopped before this write went out; the next leader
        // reconciles the key.
        metrics.reconcileTotal.inc({ controller: name, result: 'error' });
        log.info('reconcile aborted: not the leader', { controller: name, key, error: e.message });
        this.queue.forget(key);
      } else if (e instanceof TerminalError) {
        metrics.reconcileTotal.inc({ controller: name, result: 'error' });
        this.queue.forget(key);
        log.warn('reconcile failed; not retrying until the object changes', {
          controller: name,
          key,
          error: e.message,
        });
      } else {
        metrics.reconcileTotal.inc({ controller: name, result: 'error' });
        const delay = this.queue.addRateLimited(key);
        log.warn('reconcile failed, will retry', {
          controller: name,
          key,
          error: describeError(e),
          retryInMs: delay,
        });
      }
    } finally {
      end();
      endWork();
      this.queue.done(key);
    }
  }
}
