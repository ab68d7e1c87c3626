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

    for (const name of [
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_errors_total',
      'controller_runtime_reconcile_time_seconds_count',
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds_count',
      'workqueue_work_duration_seconds_count',
      'workqueue_retries_total',
      'rest_client_requests_total',
    ]) {
      expect(after).toMatch(new RegExp(`^${name}`, 'm'));
    }
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
