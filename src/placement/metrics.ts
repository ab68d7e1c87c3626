// Placement metrics. One series per hub: hubs are few (a platform's research projects), and an
// alert must say which hub has pods outside its policy.
import { Counter, Gauge, type Registry } from 'prom-client';
import { Reason } from '../api/index.js';

export type EvictionResult = 'evicted' | 'blocked' | 'gone' | 'error';
/** Why a pod was deleted rather than evicted (see remediation.ts). */
export type DeletionReason = typeof Reason.EvictionTimeout | typeof Reason.GracePeriodCapped;

export class PlacementMetrics {
  readonly violations: Gauge<'namespace' | 'hub'>;
  readonly evictions: Counter<'result'>;
  readonly deletions: Counter<'reason'>;
  readonly repeatedViolations: Counter;

  /** Registers the placement metrics on `registry` (OperatorMetrics.registry); once per registry. */
  constructor(registry: Registry) {
    this.violations = new Gauge({
      name: 'hdh_placement_violations',
      help: 'Pods of the hub namespace found by the latest audit on nodes outside the policy, terminating ones included',
      labelNames: ['namespace', 'hub'],
      registers: [registry],
    });
    this.evictions = new Counter({
      name: 'hdh_placement_evictions_total',
      help: 'Eviction requests for pods found outside their policy, by result (blocked: refused by a PodDisruptionBudget)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.deletions = new Counter({
      name: 'hdh_placement_deletions_total',
      help:
        'Pods found outside their policy deleted rather than evicted, by reason (EvictionTimeout: ' +
        'budgets refused eviction for the policy evictionTimeout; GracePeriodCapped: a longer pending ' +
        'grace period shortened to the policy maxGracePeriodSeconds)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.repeatedViolations = new Counter({
      name: 'hdh_placement_repeated_violations_total',
      help:
        'Pods found outside their policy on the node an earlier pod of the same name was removed from, ' +
        'whose removal therefore waits (RepeatedViolation Event): the scheduler keeps placing them there',
      registers: [registry],
    });
    for (const result of ['evicted', 'blocked', 'gone', 'error'] satisfies EvictionResult[])
      this.evictions.inc({ result }, 0);
    for (const reason of [Reason.EvictionTimeout, Reason.GracePeriodCapped] satisfies DeletionReason[])
      this.deletions.inc({ reason }, 0);
  }
}
