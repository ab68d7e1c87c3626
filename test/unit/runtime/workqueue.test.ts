import { setTimeout as sleep } from 'node:timers/promises';
import { FencedError } from '../../../src/runtime/client.js';
import { Controller, TerminalError } from '../../../src/runtime/controller.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';
import { backoffDelay } from '../../../src/runtime/backoff.js';

const quiet = createLogger('error', 'json');

describe('WorkQueue', () => {
  it('de-duplicates keys that are queued but not yet processed', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.length).toBe(0);
  });

  it('re-queues once a key added while it is processed, and only after done()', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('k');
    const k = await q.get();
    q.add('k');
    q.add('k');
    expect(q.length).toBe(0); // not handed out again while processing
    q.done(k!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('k');
    q.done('k');
    expect(q.length).toBe(0);
  });

  it('grows backoff per key and resets it with forget()', () => {
    const q = new WorkQueue({ name: 't', baseDelayMs: 10, maxDelayMs: 1000 });
    const delays = Array.from({ length: 10 }, () => q.addRateLimited('k'));
    expect(q.failuresOf('k')).toBe(10);
    // Jittered in [exp/2, exp]: the k-th delay is at least 10*2^k/2 until the cap.
    delays.forEach((d, i) => {
      const exp = Math.min(1000, 10 * 2 ** i);
      expect(d).toBeGreaterThanOrEqual(exp / 2);
      expect(d).toBeLessThanOrEqual(exp);
    });
    q.forget('k');
    expect(q.failuresOf('k')).toBe(0);
    q.shutdown();
  });

  it('keeps the soonest of the delayed adds pending for a key', async () => {
    const q = new WorkQueue({ name: 't' });
    q.addAfter('k', 60_000);
    q.addAfter('k', 20);
    q.addAfter('k', 30_000);
    const t0 = Date.now();
    expect(await q.get()).toBe('k');
    expect(Date.now() - t0).toBeLessThan(5000);
    q.done('k');
    q.shutdown();
  });

  it('get() resolves undefined after shutdown', async () => {
    const q = new WorkQueue({ name: 't' });
    const pending = q.get();
    q.shutdown();
    expect(await pending).toBeUndefined();
  });

  it('hands out nothing after shutdown, not even keys still queued, and takes no new ones', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    q.shutdown();
    expect(await q.get()).toBeUndefined();
    q.add('c');
    q.addAfter('d', 1);
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown).toBe(true);
  });
});

describe('backoffDelay', () => {
  it('is capped and jittered within [exp/2, exp]', () => {
    expect(backoffDelay(0, 5, 1000, () => 0)).toBe(3);
    expect(backoffDelay(0, 5, 1000, () => 1)).toBe(5);
    expect(backoffDelay(50, 5, 1000, () => 1)).toBe(1000);
    expect(backoffDelay(50, 5, 1000, () => 0)).toBe(500);
  });
});

describe('Controller', () => {
  it('never reconciles one key in two workers at once, and reconciles again after a concurrent add', async () => {
    let running = 0;
    let maxParallelSameKey = 0;
    const calls: string[] = [];
    const ctrl = new Controller(
      {
        reconcile: async (key) => {
          calls.push(key);
          if (key === 'hot') {
            running++;
            maxParallelSameKey = Math.max(maxParallelSameKey, running);
            await sleep(30);
            running--;
          }
        },
      },
      { name: 'test', concurrency: 4, metrics: new OperatorMetrics(), log: quiet },
    );
    ctrl.start();
    ctrl.enqueue('hot');
    await sleep(5);
    ctrl.enqueue('hot'); // arrives while processing
    ctrl.enqueue('hot');
    ctrl.enqueue('other');
    await sleep(120);
    await ctrl.stop();
    expect(maxParallelSameKey).toBe(1);
    expect(calls.filter((c) => c === 'hot')).toHaveLength(2);
    expect(calls).toContain('other');
  });

  it('stop() waits for reconciles in flight but starts none of the keys still queued', async () => {
    const calls: string[] = [];
    let release: () => void = () => {};
    const ctrl = new Controller(
      {
        reconcile: async (key) => {
          calls.push(key);
          if (key === 'slow') await new Promise<void>((r) => (release = r));
        },
      },
      { name: 'test', concurrency: 1, metrics: new OperatorMetrics(), log: quiet },
    );
    ctrl.start();
    ctrl.enqueue('slow');
    await sleep(5);
    for (const k of ['q1', 'q2', 'q3']) ctrl.enqueue(k);
    const stopped = ctrl.stop();
    release();
    await stopped;
    expect(calls).toEqual(['slow']);
  });

  it('does not retry a reconcile whose write was fenced', async () => {
    let attempts = 0;
    const ctrl = new Controller(
      {
        reconcile: async () => {
          attempts++;
          throw new FencedError('PATCH /x not sent: not the leader');
        },
      },
      { name: 'test', concurrency: 1, metrics: new OperatorMetrics(), log: quiet },
    );
    ctrl.start();
    ctrl.enqueue('k');
    await sleep(100);
    expect(attempts).toBe(1);
    expect(ctrl.queue.failuresOf('k')).toBe(0);
    await ctrl.stop();
  });

  it('retries errors with backoff but not terminal errors', async () => {
    const attempts = new Map<string, number>();
    const metrics = new OperatorMetrics();
    const ctrl = new Controller(
      {
        reconcile: async (key) => {
          attempts.set(key, (attempts.get(key) ?? 0) + 1);
          if (key === 'flaky' && attempts.get(key)! < 3) throw new Error('transient');
          if (key === 'invalid') throw new TerminalError('spec.x is invalid');
        },
      },
      { name: 'retry', concurrency: 2, metrics, log: quiet },
    );
    ctrl.start();
    ctrl.enqueue('flaky');
    ctrl.enqueue('invalid');
    await sleep(300);
    await ctrl.stop();
    expect(attempts.get('flaky')).toBe(3);
    expect(attempts.get('invalid')).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/controller_runtime_reconcile_errors_total\{controller="retry"\} 3/);
    expect(text).toMatch(/controller_runtime_reconcile_total\{controller="retry",result="success"\} 1/);
    expect(text).toMatch(/workqueue_retries_total\{name="retry"\} 2/);
  });

  it('requeues after the requested delay', async () => {
    let n = 0;
    const ctrl = new Controller(
      { reconcile: async () => (++n < 3 ? { requeueAfterMs: 20 } : undefined) },
      { name: 'after', metrics: new OperatorMetrics(), log: quiet },
    );
    ctrl.start();
    ctrl.enqueue('k');
    await sleep(200);
    await ctrl.stop();
    expect(n).toBe(3);
  });
});
