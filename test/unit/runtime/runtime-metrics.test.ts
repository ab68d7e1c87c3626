import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClients } from '../../../src/runtime/client.js';
import { Controller, isPanic, TerminalError } from '../../../src/runtime/controller.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';
import { metricValue } from '../../support/metrics.js';
import { eventually } from '../../support/wait.js';

const quiet = createLogger('error', 'json');
const scrape = (m: OperatorMetrics) => m.registry.metrics();

describe('workqueue in-progress metrics', () => {
  it('grows unfinished work while a key is processed, reports the oldest processor, and drops both at done()', async () => {
    const metrics = new OperatorMetrics();
    const q = new WorkQueue({ name: 'q', metrics });
    expect(metricValue(await scrape(metrics), 'workqueue_unfinished_work_seconds', { name: 'q' })).toBe(0);
    q.add('a');
    q.add('b');
    await q.get(); // a
    await sleep(300);
    await q.get(); // b, 300 ms younger
    const first = await scrape(metrics);
    await sleep(300);
    const second = await scrape(metrics);

    const unfinished1 = metricValue(first, 'workqueue_unfinished_work_seconds', { name: 'q' });
    const unfinished2 = metricValue(second, 'workqueue_unfinished_work_seconds', { name: 'q' });
    const longest2 = metricValue(second, 'workqueue_longest_running_processor_seconds', { name: 'q' });
    // The sum of both ages: about 0.3 + 0 s, then 0.6 + 0.3 s (it grows twice as fast with two stuck keys).
    expect(unfinished1).toBeGreaterThanOrEqual(0.25);
    expect(unfinished2 - unfinished1).toBeGreaterThanOrEqual(0.5);
    expect(longest2).toBeGreaterThanOrEqual(0.55);
    expect(longest2).toBeLessThan(unfinished2);

    q.done('a');
    q.done('b');
    const after = await scrape(metrics);
    expect(metricValue(after, 'workqueue_unfinished_work_seconds', { name: 'q' })).toBe(0);
    expect(metricValue(after, 'workqueue_longest_running_processor_seconds', { name: 'q' })).toBe(0);
    q.shutdown();
  });
});

describe('controller metrics', () => {
  it('counts busy workers in active_workers and reports the configured concurrency', async () => {
    const metrics = new OperatorMetrics();
    const release: (() => void)[] = [];
    const c = new Controller(
      { reconcile: () => new Promise<void>((r) => release.push(r)) },
      { name: 'c', concurrency: 3, metrics, log: quiet },
    );
    const before = await scrape(metrics);
    expect(metricValue(before, 'controller_runtime_active_workers', { controller: 'c' })).toBe(0);
    expect(before).toMatch(/^controller_runtime_max_concurrent_reconciles\{controller="c"\} 0$/m);
    c.start();
    c.enqueue('ns/a');
    c.enqueue('ns/b');
    await eventually('two reconciles running', async () => release.length === 2, 2000, 5);
    const busy = await scrape(metrics);
    expect(metricValue(busy, 'controller_runtime_active_workers', { controller: 'c' })).toBe(2);
    expect(metricValue(busy, 'controller_runtime_max_concurrent_reconciles', { controller: 'c' })).toBe(3);
    release.splice(0).forEach((r) => r());
    await eventually(
      'workers idle',
      async () => metricValue(await scrape(metrics), 'controller_runtime_active_workers') === 0,
      2000,
      5,
    );
    await c.stop();
  });

  it('counts a defect as a panic (and as an error, retried); terminal errors apart, not retried', async () => {
    const metrics = new OperatorMetrics();
    const seen: string[] = [];
    const c = new Controller(
      {
        reconcile: async (key) => {
          seen.push(key);
          await Promise.resolve();
          if (key === 'ns/bug' && seen.filter((k) => k === key).length === 1) {
            const missing = undefined as unknown as { spec: { size: string } };
            return { requeueAfterMs: Number(missing.spec.size) }; // TypeError: a defect
          }
          if (key === 'ns/bad') throw new TerminalError('spec.size is not a quantity');
          if (key === 'ns/down') throw new Error('connect ECONNREFUSED');
        },
      },
      { name: 'c', concurrency: 2, metrics, log: quiet, maxBackoffMs: 10 },
    );
    c.start();
    for (const k of ['ns/bug', 'ns/bad', 'ns/down']) c.enqueue(k);
    await eventually(
      'the defect retried',
      async () => seen.filter((k) => k === 'ns/bug').length === 2,
      2000,
      5,
    );
    await eventually(
      'the failure retried',
      async () => seen.filter((k) => k === 'ns/down').length >= 2,
      2000,
      5,
    );
    await sleep(50);
    await c.stop();
    const text = await scrape(metrics);
    expect(metricValue(text, 'controller_runtime_reconcile_panics_total', { controller: 'c' })).toBe(1);
    expect(metricValue(text, 'controller_runtime_terminal_reconcile_errors_total', { controller: 'c' })).toBe(
      1,
    );
    expect(seen.filter((k) => k === 'ns/bad')).toHaveLength(1);
    // Every failure is an error, the panic and the terminal one included, as in controller-runtime.
    const errors = metricValue(text, 'controller_runtime_reconcile_errors_total', { controller: 'c' });
    expect(errors).toBe(2 + seen.filter((k) => k === 'ns/down').length);
  });

  it('tells defects from failures', () => {
    let defect: unknown;
    try {
      (undefined as unknown as { a: number }).a.toFixed();
    } catch (e) {
      defect = e;
    }
    expect(isPanic(defect)).toBe(true);
    expect(isPanic(new RangeError('Invalid array length'))).toBe(true);
    expect(isPanic('thrown string')).toBe(true);
    expect(isPanic(new Error('HTTP 500'))).toBe(false);
    expect(isPanic(new TerminalError('x'))).toBe(false);
    // fetch reports an unreachable server as a TypeError wrapping the cause: a failure, not a defect.
    expect(isPanic(new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') }))).toBe(false);
    expect(isPanic({ code: 500, body: '{}' })).toBe(false);
  });
});

describe('rest_client_request_duration_seconds', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => {
      // Slow enough to land above the first bucket.
      setTimeout(() => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }));
      }, 30);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('times each request by verb and host, never by path', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const metrics = new OperatorMetrics();
    const core = new ApiClients(kc, metrics).make(CoreV1Api);
    for (const name of ['a', 'b', 'c']) await core.readNamespace({ name });
    await core.deleteNamespace({ name: 'a' }).catch(() => undefined);
    const text = await scrape(metrics);
    const host = `127.0.0.1:${port}`;
    expect(text).toMatch(/^# TYPE rest_client_request_duration_seconds histogram$/m);
    expect(metricValue(text, 'rest_client_request_duration_seconds_count', { verb: 'GET', host })).toBe(3);
    expect(metricValue(text, 'rest_client_request_duration_seconds_count', { verb: 'DELETE', host })).toBe(1);
    expect(
      metricValue(text, 'rest_client_request_duration_seconds_bucket', { verb: 'GET', host, le: '0.005' }),
    ).toBe(0);
    expect(metricValue(text, 'rest_client_request_duration_seconds_sum', { verb: 'GET' })).toBeGreaterThan(
      0.08,
    );
    // Only verb, host and le: no URL or path label (unbounded cardinality).
    for (const line of text.split('\n').filter((l) => l.startsWith('rest_client_request_duration_seconds'))) {
      const labels = [...line.matchAll(/(\w+)="/g)].map((m) => m[1]).sort();
      expect(labels.filter((l) => l !== 'le')).toEqual(['host', 'verb']);
    }
  });
});
