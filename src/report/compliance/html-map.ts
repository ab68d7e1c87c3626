// Where the hubs' pods and volumes are, grouped by region and zone: the map-like part of the
// HTML page, as data first (sorted, so the page is the same for the same report).
import type { ComplianceReport, Verdict } from './model.js';
import { compareText } from './order.js';

export const NO_REGION = '(no region)';
export const NO_ZONE = '(no zone)';

export interface MapItem {
  kind: 'pod' | 'volume';
  /** namespace/name of the pod, or namespace/claim of the volume. */
  label: string;
  verdict: Verdict;
}

export interface MapZone {
  zone: string;
  items: MapItem[];
}

export interface MapRegion {
  region: string;
  zones: MapZone[];
}

/**
 * Pods by their node's region and zone labels; volumes by the regions and zones their topology
 * allows (a volume usable in several places is shown in each). A pod of a namespace with several
 * hubs is shown once.
 */
export function placementMap(report: ComplianceReport): MapRegion[] {
  const regions = new Map<string, Map<string, Map<string, MapItem>>>();
  const put = (region: string, zone: string, item: MapItem) => {
    const zones = regions.get(region) ?? new Map<string, Map<string, MapItem>>();
    regions.set(region, zones);
    const items = zones.get(zone) ?? new Map<string, MapItem>();
    zones.set(zone, items);
    items.set(`${item.kind}\u0000${item.label}`, item);
  };
  for (const hub of report.hubs) {
    for (const p of hub.pods) {
      put(p.region ?? NO_REGION, p.zone ?? NO_ZONE, {
        kind: 'pod',
        label: `${hub.namespace}/${p.name}`,
        verdict: p.verdict,
      });
    }
    for (const v of hub.volumes) {
      if (!v.volume) continue;
      const item: MapItem = { kind: 'volume', label: `${hub.namespace}/${v.claim}`, verdict: v.verdict };
      for (const region of v.regions.length ? v.regions : [NO_REGION]) {
        for (const zone of v.zones.length ? v.zones : [NO_ZONE]) put(region, zone, item);
      }
    }
  }
  return [...regions.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([region, zones]) => ({
      region,
      zones: [...zones.entries()]
        .sort(([a], [b]) => compareText(a, b))
        .map(([zone, items]) => ({
          zone,
          items: [...items.values()].sort(
            (a, b) => compareText(a.kind, b.kind) || compareText(a.label, b.label),
          ),
        })),
    }));
}
