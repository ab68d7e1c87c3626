import { randomUUID } from 'node:crypto';
import { isNativeError } from 'node:util/types';
import { FencedError } from './client.js';
import { describeError } from './errors.js';
import { withLogFields, type Logger } from './logging.js';
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

/** Why a reconcile was aborted (AbortSignal.reason): the controller is stopping. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
}

export interface Reconciler {
  /**
   * Brings `key` to its desired state. `signal` aborts when the controller stops or leadership is
   * lost (controller-runtime's context): long work checks it between writes.
   */
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void>;
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
  private readonly abort = new AbortController();

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
    m.terminalReconcileErrors.inc({ controller: opts.name }, 0);
    m.reconcilePanics.inc({ controller: opts.name }, 0);
    m.activeWorkers.set({ controller: opts.name }, 0);
    m.maxConcurrentReconciles.set({ controller: opts.name }, 0);
    m.queueRetries.inc({ name: opts.name }, 0);
    m.queueAdds.inc({ name: opts.name }, 0);
    m.queueDepth.set({ name: opts.name }, 0);
  }

  get name(): string {
    return this.opts.name;
  }

  /** Queues `key`, or after `afterMs` (a burst of events within it then wakes the key once). */
  enqueue = (key: string, afterMs = 0): void => this.queue.addAfter(key, afterMs);

  start(): void {
    const n = Math.max(1, this.opts.concurrency ?? 4);
    this.opts.metrics.maxConcurrentReconciles.set({ controller: this.opts.name }, n);
    for (let i = 0; i < n; i++) this.workers.push(this.worker());
  }

  /** Hands out no more keys and aborts the reconciles in flight (leadership lost, shutdown). */
  cancel(reason: string): void {
    this.queue.shutdown();
    if (!this.abort.signal.aborted) this.abort.abort(new CancelledError(reason));
  }

  async stop(): Promise<void> {
    this.cancel('the operator is stopping');
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

  /**
   * One reconcile of `key`, as controller-runtime's reconcileHandler: counted in
   * controller_runtime_active_workers while it runs, and every line logged during it carries the
   * controller, the key's namespace and name, and a fresh reconcileID.
   */
  private async processOne(key: string): Promise<void> {
    const { metrics, name } = this.opts;
    metrics.activeWorkers.inc({ controller: name });
    const slash = key.indexOf('/');
    const fields = {
      controller: name,
      namespace: slash < 0 ? '' : key.slice(0, slash),
      name: slash < 0 ? key : key.slice(slash + 1),
      reconcileID: randomUUID(),
    };
    try {
      await withLogFields(fields, () => this.reconcileHandler(key));
    } finally {
      metrics.activeWorkers.dec({ controller: name });
      this.queue.done(key);
    }
  }

  private async reconcileHandler(key: string): Promise<void> {
    const { metrics, log, name } = this.opts;
    const end = metrics.reconcileTime.startTimer({ controller: name });
    const endWork = metrics.workDuration.startTimer({ name });
    try {
      const result = (await this.reconciler.reconcile(key, this.abort.signal)) ?? {};
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
      metrics.reconcileTotal.inc({ controller: name, result: 'error' });
      if (e instanceof CancelledError || this.abort.signal.aborted) {
        log.info('reconcile cancelled', { error: describeError(e) });
        this.queue.forget(key);
      } else if (e instanceof FencedError) {
        // Leadership is gone: the reconcile stopped before this write went out; the next leader
        // reconciles the key.
        log.info('reconcile aborted: not the leader', { error: e.message });
        this.queue.forget(key);
      } else if (e instanceof TerminalError) {
        metrics.terminalReconcileErrors.inc({ controller: name });
        this.queue.forget(key);
        log.warn('reconcile failed; not retrying until the object changes', { error: e.message });
      } else {
        // A panic is retried like any error (as controller-runtime recovers it), but counted
        // apart and logged with its stack: it is a defect to report, not a condition to wait out.
        const panic = isPanic(e);
        if (panic) metrics.reconcilePanics.inc({ controller: name });
        const delay = this.queue.addRateLimited(key);
        if (panic) {
          log.error('observed a panic in reconciler, will retry', {
            error: describeError(e),
            stacktrace: isNativeError(e) ? e.stack : undefined,
            retryInMs: delay,
          });
        } else {
          log.warn('reconcile failed, will retry', { error: describeError(e), retryInMs: delay });
        }
      }
    } finally {
      end();
      endWork();
    }
  }
}

/** The engine's own errors for a defect in the code (what Go reports as a panic). */
const DEFECTS = new Set([
  'TypeError',
  'ReferenceError',
  'RangeError',
  'SyntaxError',
  'EvalError',
  'URIError',
]);

/**
 * Whether a reconcile's failure is a defect of the code rather than a failure of what it called:
 * an engine error such as reading a property of undefined (a TypeError with a `cause` wraps an I/O
 * failure, like fetch's, and is not one), or a thrown value that is not an object at all.
 */
export function isPanic(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return true;
  // isNativeError, not instanceof: errors may come from another realm (a vm context).
  if (!isNativeError(e)) return false;
  return DEFECTS.has(e.name) && e.cause === undefined;
}
