import { Registry } from 'prom-client';
import type { HealthDataHub } from '../../../src/api/index.js';
import { HubMetrics } from '../../../src/hub/metrics.js';

/** A hub as the cache holds it, with its Ready condition (none: not reconciled yet). */
const hub = (namespace: string, name: string, ready?: { status: string; reason: string }): HealthDataHub =>
  ({
    metadata: { namespace, name, generation: 1 },
    spec: {},
    status: ready
      ? {
          observedGeneration: 1,
          conditions: [
            {
              type: 'Ready',
              ...ready,
              message: 'm',
              lastTransitionTime: '2026-01-01T00:00:00Z',
              observedGeneration: 1,
            },
          ],
        }
      : { observedGeneration: 0 },
  }) as unknown as HealthDataHub;

/** The hdh_hub_ready series of a scrape, as their label sets. */
const series = async (registry: Registry) =>
  (await registry.getSingleMetric('hdh_hub_ready')!.get()).values.map((v) => ({
    ...v.labels,
    value: v.value,
  }));

describe('hdh_hub_ready', () => {
  it("is one series per hub, labelled with its Ready condition's status and reason, as of each scrape", async () => {
    const registry = new Registry();
    let hubs = [
      hub('research', 'oncology', { status: 'False', reason: 'ClaimsPending' }),
      hub('research', 'cardio', { status: 'True', reason: 'AllReady' }),
      hub('archive', 'cardio'),
    ];
    new HubMetrics(registry, () => hubs);
    expect(await series(registry)).toEqual([
      { namespace: 'research', hub: 'oncology', status: 'False', reason: 'ClaimsPending', value: 1 },
      { namespace: 'research', hub: 'cardio', status: 'True', reason: 'AllReady', value: 1 },
      // Not reconciled yet: Unknown, as kstatus reads it.
      { namespace: 'archive', hub: 'cardio', status: 'Unknown', reason: '', value: 1 },
    ]);

    // oncology becomes Ready and archive/cardio is deleted: no series of the former state remains.
    hubs = [
      hub('research', 'oncology', { status: 'True', reason: 'AllReady' }),
      hub('research', 'cardio', { status: 'True', reason: 'AllReady' }),
    ];
    expect(await series(registry)).toEqual([
      { namespace: 'research', hub: 'oncology', status: 'True', reason: 'AllReady', value: 1 },
      { namespace: 'research', hub: 'cardio', status: 'True', reason: 'AllReady', value: 1 },
    ]);
  });
});
