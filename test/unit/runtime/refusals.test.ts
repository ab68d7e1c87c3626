import { ApiException } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller } from '../../../src/runtime/controller.js';
import { asWriteRefused, describeError, statusCode, WriteRefused } from '../../../src/runtime/errors.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';

const quiet = createLogger('error', 'json');
const statefulSet = { kind: 'StatefulSet', metadata: { name: 'h', namespace: 'n' } };
const status = (code: number, message: string) =>
  new ApiException(code, 'x', JSON.stringify({ kind: 'Status', code, message }), {});

describe('asWriteRefused', () => {
  it('names the refused object and keeps the server message, not the body', () => {
    const e = asWriteRefused(
      status(422, 'StatefulSet.apps "h" is invalid: spec.template.spec.tolerations[0].key: Invalid value'),
      statefulSet,
    );
    expect(e).toBeInstanceOf(WriteRefused);
    const r = e as WriteRefused;
    expect(r.subject).toBe('StatefulSet n/h');
    expect(r.code).toBe(422);
    expect(r.serverMessage).toBe(
      'StatefulSet.apps "h" is invalid: spec.template.spec.tolerations[0].key: Invalid value',
    );
    // Callers that only read the code and the description see what they saw before.
    expect(statusCode(r)).toBe(422);
    expect(describeError(r)).toBe(`422: ${r.serverMessage}`);
  });

  it.each([400, 403, 413, 422])('takes %i as a refusal', (code) => {
    expect(asWriteRefused(status(code, 'no'), statefulSet)).toBeInstanceOf(WriteRefused);
  });

  it.each([404, 409, 429, 500, 503])('leaves %i to be retried as an error', (code) => {
    const e = status(code, 'later');
    expect(asWriteRefused(e, statefulSet)).toBe(e);
  });

  it('shortens a long message', () => {
    const r = asWriteRefused(status(422, 'x'.repeat(10_000)), statefulSet) as WriteRefused;
    expect(r.serverMessage.length).toBeLessThanOrEqual(2049);
  });
});

describe('Controller backoff without an error', () => {
  it('tries a blocked key again with a growing delay, and starts afresh after a plain result', async () => {
    const times: number[] = [];
    let blocked = true;
    const metrics = new OperatorMetrics();
    const ctrl = new Controller(
      {
        reconcile: () => {
          times.push(Date.now());
          return Promise.resolve(blocked ? { backoff: true } : undefined);
        },
      },
      { name: 'blocked', concurrency: 1, metrics, log: quiet },
    );
    ctrl.start();
    ctrl.enqueue('k');
    await sleep(400);
    // base 5 ms, doubling: a handful of tries in 400 ms, not hundreds
    expect(times.length).toBeGreaterThanOrEqual(4);
    expect(times.length).toBeLessThan(12);
    expect(ctrl.queue.failuresOf('k')).toBe(times.length);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
    blocked = false;
    ctrl.enqueue('k'); // a change of the object: tried at once
    await sleep(50);
    expect(ctrl.queue.failuresOf('k')).toBe(0);
    await ctrl.stop();
    const text = await metrics.registry.metrics();
    // Not counted as errors: the reconciler reported what blocks it.
    expect(text).toMatch(/controller_runtime_reconcile_errors_total\{controller="blocked"\} 0/);
  });
});
