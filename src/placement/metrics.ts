// Placement metrics. One series per hub: hubs are few (a platform's research projects), and an
// alert must say which hub has pods outside its policy.
import { Counter, Gauge, type Registry } from 'prom-client';

export type EvictionResult = 'evicted' | 'blocked' | 'gone' | 'error';

export class PlacementMetrics {
  readonly violations: Gauge<'namespace' | 'hub'>;
  readonly evictions: Counter<'result'>;

  /** Registers the placement metrics on `registry` (OperatorMetrics.registry); once per registry. */
  constructor(registry: Registry) {
    this.violations = new Gauge({
      name: 'hdh_placement_violations',
      help: 'Pods of the hub namespace found by the latest audit on nodes outside the policy',
      labelNames: ['namespace', 'hub'],
      registers: [registry],
    });
    this.evictions = new Counter({
      name: 'hdh_placement_evictions_total',
      help: 'Evictions of pods found outside their policy, by result (blocked: refused by a PodDisruptionBudget)',
      labelNames: ['result'],
      registers: [registry],
    });
    for (const result of ['evicted', 'blocked', 'gone', 'error'] satisfies EvictionResult[])
      this.evictions.inc({ result }, 0);
  }
}
