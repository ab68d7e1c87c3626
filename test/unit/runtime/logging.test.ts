import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller } from '../../../src/runtime/controller.js';
import { createLogger, withLogFields, type LogFormat } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { eventually } from '../../support/wait.js';

/** A logger writing into memory; `lines()` parses what it wrote so far. */
function captured(format: LogFormat = 'json') {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (b: Buffer) => (text += b.toString()));
  const log = createLogger('debug', format, stream);
  const raw = () => text.split('\n').filter(Boolean);
  return { log, raw, lines: () => raw().map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('log lines', () => {
  it("are JSON with controller-runtime's keys, ts, level, logger and msg first", async () => {
    const { log, lines, raw } = captured();
    log.info('caches synced', { informers: ['hubs'] });
    log.warn('reading the leader lease failed', { error: '500: etcd unavailable' });
    await sleep(10);
    const [info, warn] = lines();
    expect(Object.keys(info!).slice(0, 4)).toEqual(['ts', 'level', 'logger', 'msg']);
    expect(info).toMatchObject({
      level: 'info',
      logger: 'hdh-operator',
      msg: 'caches synced',
      informers: ['hubs'],
    });
    expect(warn).toMatchObject({ level: 'warn', msg: 'reading the leader lease failed' });
    expect(info!.ts).toMatch(RFC3339_UTC_MS);
    expect(Math.abs(Date.parse(String(info!.ts)) - Date.now())).toBeLessThan(5000);
    for (const l of lines()) {
      expect(l).not.toHaveProperty('message');
      expect(l).not.toHaveProperty('timestamp');
    }
    expect(raw()).toHaveLength(2); // one line per entry
  });

  it('carry the fields of the work in progress across awaits and timers, and only during it', async () => {
    const { log, lines } = captured();
    await withLogFields({ controller: 'c', reconcileID: 'r1' }, async () => {
      log.info('before await');
      await sleep(5);
      await new Promise<void>((r) =>
        setTimeout(() => {
          log.info('in a timer');
          r();
        }, 1),
      );
      log.info('own field wins', { controller: 'other' });
    });
    log.info('after');
    await sleep(10);
    const [a, b, c, d] = lines();
    expect(a).toMatchObject({ controller: 'c', reconcileID: 'r1' });
    expect(b).toMatchObject({ controller: 'c', reconcileID: 'r1' });
    expect(c).toMatchObject({ controller: 'other', reconcileID: 'r1' });
    expect(d).not.toHaveProperty('controller');
    expect(d).not.toHaveProperty('reconcileID');
  });

  it('of a reconcile name its controller, namespace and name, with a fresh reconcileID each time', async () => {
    const { log, lines } = captured();
    // The reconciler logs through a logger of its own, as the domain code does.
    const domainLog = log.child({});
    let calls = 0;
    const c = new Controller(
      {
        reconcile: async (key) => {
          calls++;
          domainLog.info('hub status changed', { ready: 'True' });
          await sleep(2);
          domainLog.debug('second line of the same reconcile');
          if (key === 'ns-a/hub-1' && calls === 1) throw new Error('HTTP 500');
        },
      },
      { name: 'healthdatahub', concurrency: 1, metrics: new OperatorMetrics(), log, maxBackoffMs: 5 },
    );
    c.start();
    c.enqueue('ns-a/hub-1');
    await eventually('retried', async () => calls >= 2, 2000, 5);
    c.enqueue('cluster-scoped');
    await eventually('reconciled', async () => calls >= 3, 2000, 5);
    await c.stop();
    await sleep(10);

    const reconcileLines = lines().filter((l) => l.reconcileID !== undefined);
    const byId = new Map<unknown, Record<string, unknown>[]>();
    for (const l of reconcileLines) byId.set(l.reconcileID, [...(byId.get(l.reconcileID) ?? []), l]);
    expect(byId.size).toBe(3); // three reconciles, three ids
    const [first, second, third] = [...byId.values()];
    // The first: both of its lines, and the controller's own line about the failure.
    expect(first!.map((l) => l.msg)).toEqual([
      'hub status changed',
      'second line of the same reconcile',
      'reconcile failed, will retry',
    ]);
    for (const l of [...first!, ...second!]) {
      expect(l).toMatchObject({ controller: 'healthdatahub', namespace: 'ns-a', name: 'hub-1' });
      expect(l).not.toHaveProperty('key');
    }
    expect(third![0]).toMatchObject({ controller: 'healthdatahub', namespace: '', name: 'cluster-scoped' });
    for (const id of byId.keys())
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('read as aligned text for people, with the same fields', async () => {
    const { log, raw } = captured('text');
    withLogFields({ controller: 'c', namespace: 'n', name: 'x', reconcileID: 'r' }, () =>
      log.warn('eviction refused', { pod: 'p' }),
    );
    await sleep(10);
    expect(raw()).toHaveLength(1);
    expect(raw()[0]).toMatch(
      /^\d{2}:\d{2}:\d{2} WARN {2}eviction refused controller=c namespace=n name=x reconcileID=r pod=p$/,
    );
  });
});
