import { setTimeout as sleep } from 'node:timers/promises';
import { testKubeConfig } from '../../support/cluster.js';
import { createHub, hubManifest, listHubs, prepareHubNamespace, reconciled } from '../../support/hubs.js';
import { metricValue } from '../../support/metrics.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { eventually } from '../../support/wait.js';

const HUBS = 50;
const REST_SECONDS = 60;

const writes = (metrics: string) =>
  metricValue(metrics, 'rest_client_requests_total', {
    method: (m) => !['GET', 'HEAD', 'OPTIONS'].includes(m),
  });

describe('an operator at rest', () => {
  const kc = testKubeConfig();
  let op: OperatorProcess;
  let ns: string;

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-quiet');
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
  });
  afterAll(async () => {
    await op.stop();
  });

  it(`makes no write request in ${REST_SECONDS} s once ${HUBS} hubs are reconciled, and exposes controller-runtime metrics`, async () => {
    for (let i = 0; i < HUBS; i++) await createHub(kc, hubManifest(`hub-${String(i).padStart(2, '0')}`, ns));
    await eventually(
      `all ${HUBS} hubs reconciled`,
      async () => (await listHubs(kc, ns)).filter(reconciled).length === HUBS,
      60_000,
      500,
    );
    await sleep(3000); // let the last status updates come back through the watch
    const before = await op.metrics();
    await sleep(REST_SECONDS * 1000);
    const after = await op.metrics();

    expect(writes(before)).toBeGreaterThanOrEqual(HUBS); // at least one status write per hub
    expect(writes(after) - writes(before)).toBe(0);

    // Every controller-runtime and client-go family, with its type and a series of this operator.
    const families: [string, 'counter' | 'gauge' | 'histogram', string][] = [
      ['controller_runtime_reconcile_total', 'counter', 'controller="healthdatahub"'],
      ['controller_runtime_reconcile_errors_total', 'counter', 'controller="healthdatahub"'],
      ['controller_runtime_terminal_reconcile_errors_total', 'counter', 'controller="healthdatahub"'],
      ['controller_runtime_reconcile_panics_total', 'counter', 'controller="healthdatahub"'],
      ['controller_runtime_reconcile_time_seconds', 'histogram', 'controller="healthdatahub"'],
      ['controller_runtime_active_workers', 'gauge', 'controller="healthdatahub"'],
      ['controller_runtime_max_concurrent_reconciles', 'gauge', 'controller="healthdatahub"'],
      ['workqueue_depth', 'gauge', 'name="healthdatahub"'],
      ['workqueue_adds_total', 'counter', 'name="healthdatahub"'],
      ['workqueue_queue_duration_seconds', 'histogram', 'name="healthdatahub"'],
      ['workqueue_work_duration_seconds', 'histogram', 'name="healthdatahub"'],
      ['workqueue_retries_total', 'counter', 'name="healthdatahub"'],
      ['workqueue_unfinished_work_seconds', 'gauge', 'name="healthdatahub"'],
      ['workqueue_longest_running_processor_seconds', 'gauge', 'name="healthdatahub"'],
      ['rest_client_requests_total', 'counter', 'method="GET"'],
      ['rest_client_request_duration_seconds', 'histogram', 'verb="GET"'],
    ];
    for (const [name, type, label] of families) {
      expect(after).toMatch(new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
      const series = type === 'histogram' ? `${name}_count` : name;
      expect(after).toMatch(new RegExp(`^${series}\\{[^}]*${label}`, 'm'));
    }
    // Idle: no worker busy, no work unfinished; the configured workers are reported.
    expect(metricValue(after, 'controller_runtime_active_workers', { controller: 'healthdatahub' })).toBe(0);
    expect(metricValue(after, 'workqueue_unfinished_work_seconds', { name: 'healthdatahub' })).toBe(0);
    expect(
      metricValue(after, 'controller_runtime_max_concurrent_reconciles', { controller: 'healthdatahub' }),
    ).toBe(4);
    expect(
      metricValue(after, 'rest_client_request_duration_seconds_count', { verb: (v) => v !== 'GET' }),
    ).toBe(writes(after));
    // Latency series by verb and host only: 50 hubs' worth of request paths add none.
    const latencySeries = after
      .split('\n')
      .filter((l) => l.startsWith('rest_client_request_duration_seconds_count{'));
    expect(latencySeries.length).toBeGreaterThan(0);
    expect(latencySeries.length).toBeLessThanOrEqual(7); // one per HTTP verb the operator uses
    for (const l of latencySeries)
      expect(l).toMatch(/^rest_client_request_duration_seconds_count\{verb="[A-Z]+",host="[^"]+"\} /);
    // Every hub reported by its Ready condition.
    expect(metricValue(after, 'hdh_hub_ready', { namespace: ns })).toBe(HUBS);
    expect(
      metricValue(after, 'controller_runtime_reconcile_total', {
        controller: 'healthdatahub',
        result: 'success',
      }),
    ).toBeGreaterThanOrEqual(HUBS);
    expect(metricValue(after, 'workqueue_adds_total', { name: 'healthdatahub' })).toBeGreaterThanOrEqual(
      HUBS,
    );
    process.stderr.write(
      `quiet at rest: ${writes(before)} writes to reconcile ${HUBS} hubs, ${writes(after) - writes(before)} in the following ${REST_SECONDS} s\n`,
    );
  }, 240_000);
});
