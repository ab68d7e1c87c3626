import { backoffDelay } from './backoff.js';
import type { OperatorMetrics } from './metrics.js';

export interface WorkQueueOptions {
  name: string;
  /** First retry delay; doubles per consecutive failure of the same key. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  metrics?: OperatorMetrics;
}

/**
 * A rate-limited work queue with client-go's semantics: a key is queued at most once, never
 * handed to two workers at once, and a key added while being processed is processed again after.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  /** Keys handed to a worker and not done yet, with when they were handed out (ms). */
  private readonly processing = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private readonly addedAt = new Map<string, number>();
  private waiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly opts: WorkQueueOptions) {
    opts.metrics?.trackProcessing(this);
  }

  get name(): string {
    return this.opts.name;
  }

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    this.opts.metrics?.queueAdds.inc({ name: this.name });
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.addedAt.set(key, Date.now());
    this.updateDepth();
    this.wake();
  }

  /**
   * Adds the key after `ms`. Of the delayed adds pending for a key, the soonest wins (as in
   * client-go): a later one must not postpone a deadline, such as a pod's eviction timeout.
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { timer, at });
  }

  /** Re-adds a failed key with per-key exponential backoff. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = backoffDelay(n, this.opts.baseDelayMs ?? 5, this.opts.maxDelayMs ?? 300_000);
    this.opts.metrics?.queueRetries.inc({ name: this.name });
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears a key's failure history (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Waits for the next key; undefined once the queue shuts down, even with keys still queued:
   * unlike client-go's queue it does not drain, since shutdown may mean leadership is lost and
   * the keys are the next leader's work.
   */
  async get(): Promise<string | undefined> {
    for (;;) {
      if (this.shuttingDown) return undefined;
      if (this.queue.length > 0) break;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const key = this.queue.shift()!;
    this.queued.delete(key);
    this.processing.set(key, Date.now());
    const added = this.addedAt.get(key);
    if (added !== undefined)
      this.opts.metrics?.queueDuration.observe({ name: this.name }, (Date.now() - added) / 1000);
    this.addedAt.delete(key);
    this.updateDepth();
    return key;
  }

  /** Marks processing finished; a key that became dirty meanwhile is queued once more. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** When each key being processed now was handed out (ms since the epoch). */
  processingSince(): IterableIterator<number> {
    return this.processing.values();
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.wake(true);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private wake(all = false): void {
    const ws = all ? this.waiters.splice(0) : this.waiters.splice(0, 1);
    for (const w of ws) w();
  }

  private updateDepth(): void {
    this.opts.metrics?.queueDepth.set({ name: this.name }, this.queue.length);
  }
}
