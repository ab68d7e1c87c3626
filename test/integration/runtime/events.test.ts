import { EventsV1Api } from '@kubernetes/client-node';
import { ApiClients } from '../../../src/runtime/client.js';
import { EventRecorder } from '../../../src/runtime/events.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { metricValue } from '../../support/metrics.js';
import { testKubeConfig } from '../../support/cluster.js';
import { createHub, getHub, hubManifest, prepareHubNamespace } from '../../support/hubs.js';

describe('events', () => {
  const kc = testKubeConfig();

  it('folds a hot loop of identical events into one Event and a bounded number of writes', async () => {
    const ns = await prepareHubNamespace(kc, 'it-events');
    await createHub(kc, hubManifest('noisy', ns));
    const hub = await getHub(kc, ns, 'noisy');
    const metrics = new OperatorMetrics();
    const recorder = new EventRecorder(
      new ApiClients(kc, metrics),
      'hdh.sovereign.eu/hdh-operator',
      'test',
      createLogger('error'),
    );

    for (let i = 0; i < 200; i++) {
      await recorder.record(hub, 'Warning', 'PolicyNotFound', 'SovereigntyPolicy "x" does not exist');
    }
    await recorder.record(hub, 'Normal', 'AllReady', 'ready');

    const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    const mine = list.items.filter((e) => e.regarding?.uid === hub.metadata.uid);
    expect(mine.map((e) => e.reason).sort()).toEqual(['AllReady', 'PolicyNotFound']);
    const warning = mine.find((e) => e.reason === 'PolicyNotFound')!;
    expect(warning.type).toBe('Warning');
    expect(warning.regarding).toMatchObject({ kind: 'HealthDataHub', name: 'noisy', namespace: ns });
    // 201 recordings, 2 creates: repeats within the series window cost no request at all.
    expect(
      metricValue(await metrics.registry.metrics(), 'rest_client_requests_total', {
        method: (m) => m !== 'GET',
      }),
    ).toBe(2);
  });
});
