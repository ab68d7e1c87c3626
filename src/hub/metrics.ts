// Hub readiness as a metric, read from the hubs' own status at each scrape: what
// `kubectl get hdh -A` shows, for dashboards and for the alert on hubs not Ready for long.
import { Gauge, type Registry } from 'prom-client';
import type { HealthDataHub } from '../api/index.js';

/** One series per hub, valued 1: its Ready condition's status and reason. */
export function hubReadySeries(
  hubs: readonly HealthDataHub[],
): { namespace: string; hub: string; status: string; reason: string }[] {
  return hubs.map((h) => {
    const ready = h.status?.conditions?.find((c) => c.type === 'Ready');
    return {
      namespace: h.metadata.namespace ?? '',
      hub: h.metadata.name ?? '',
      // Not reported yet (a hub the operator has not reconciled) reads as Unknown, as kstatus does.
      status: ready?.status ?? 'Unknown',
      reason: ready?.reason ?? '',
    };
  });
}

export class HubMetrics {
  readonly ready: Gauge<'namespace' | 'hub' | 'status' | 'reason'>;

  /** Registers hdh_hub_ready on `registry`; `list` gives the hubs (the informer's cache). */
  constructor(registry: Registry, list: () => readonly HealthDataHub[]) {
    const gauge = (this.ready = new Gauge({
      name: 'hdh_hub_ready',
      help: "Hubs by their Ready condition: one series per hub, valued 1, labelled with the condition's status (True, False, Unknown) and reason",
      labelNames: ['namespace', 'hub', 'status', 'reason'],
      registers: [registry],
      // Rebuilt from the cache at each scrape: a deleted hub or a former status leaves no series.
      collect: () => {
        gauge.reset();
        for (const s of hubReadySeries(list())) gauge.set(s, 1);
      },
    }));
  }
}
