// Storage metrics. One series per hub, like the placement metrics: an alert must say which hub
// has data outside its regions.
import { Counter, Gauge, type Registry } from 'prom-client';

export type ClaimOperation = 'expand' | 'retain' | 'delete' | 'adopt';

export class StorageMetrics {
  readonly volumeViolations: Gauge<'namespace' | 'hub'>;
  readonly claimOperations: Counter<'op'>;

  /** Registers the storage metrics on `registry` (OperatorMetrics.registry); once per registry. */
  constructor(registry: Registry) {
    this.volumeViolations = new Gauge({
      name: 'hdh_volume_violations',
      help: 'Bound volumes of the hub outside its allowed regions (or of unproven region), from the latest audit',
      labelNames: ['namespace', 'hub'],
      registers: [registry],
    });
    this.claimOperations = new Counter({
      name: 'hdh_claim_operations_total',
      help: 'Changes the operator made to hub claims: expand, retain, delete (confirmed destruction), adopt',
      labelNames: ['op'],
      registers: [registry],
    });
    for (const op of ['expand', 'retain', 'delete', 'adopt'] satisfies ClaimOperation[])
      this.claimOperations.inc({ op }, 0);
  }
}
