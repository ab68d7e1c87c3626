// What wakes the policy report controller (keyed by namespace): any change that can change a
// verdict of a namespace holding a hub, and any change to the operator's own reports. Pure maps
// and predicates over the caches, table-tested in test/unit/controllers/policyreport-watches.test.ts.
import type {
  KubernetesObject,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../api/index.js';
import { BY_NAMESPACE, type Cache } from '../../runtime/cache.js';
import type { InformerEvent } from '../../runtime/informer.js';
import { notResync, watch, type AnyWatch, type EventSource } from '../../runtime/watches.js';
import { nodeEventMatters, podEventMatters } from '../placement/watches.js';
import { policyEventMatters, specOrMetadataChanged } from '../predicates.js';

/** The caches the watches read. */
export interface PolicyReportView {
  hubs: Cache<HealthDataHub>;
  /** --namespace: only this namespace is served. */
  watchedNamespace?: string | undefined;
}

export interface PolicyReportSources extends PolicyReportView {
  hubs: Cache<HealthDataHub> & EventSource<HealthDataHub>;
  policies: EventSource<SovereigntyPolicy>;
  nodes: EventSource<V1Node>;
  pods: EventSource<V1Pod>;
  claims: EventSource<V1PersistentVolumeClaim>;
  volumes: EventSource<V1PersistentVolume>;
  storageClasses: EventSource<V1StorageClass>;
  /** The operator's reports, one source per kind. */
  reports: readonly EventSource<KubernetesObject>[];
}

const inScope = (view: PolicyReportView, ns: string | undefined): ns is string =>
  !!ns && (!view.watchedNamespace || ns === view.watchedNamespace);

/** The namespace, when it holds a hub (a namespace without one has no verdict to report). */
export function holdingHub(view: PolicyReportView, ns: string | undefined): string[] {
  return inScope(view, ns) && view.hubs.byIndex(BY_NAMESPACE, ns).length > 0 ? [ns] : [];
}

/** Every namespace holding a hub: what a change of a node or a class, or a newly served kind, wakes. */
export function hubNamespaces(view: PolicyReportView): string[] {
  return [...new Set(view.hubs.list().map((h) => h.metadata.namespace!))].filter((ns) => inScope(view, ns));
}

/** The namespaces of the hubs naming the policy. */
export function namespacesOfPolicy(view: PolicyReportView, policy: SovereigntyPolicy): string[] {
  const name = policy.metadata.name;
  const held = view.hubs.list((h) => h.spec.policyName === name).map((h) => h.metadata.namespace!);
  return [...new Set(held)].filter((ns) => inScope(view, ns));
}

/** A hub created or deleted, or its spec or metadata changed (not its status, written here by others). */
export function hubEventMatters(event: InformerEvent, hub: HealthDataHub, old?: HealthDataHub): boolean {
  if (event === 'resync') return false;
  return event !== 'update' || !old || specOrMetadataChanged(old, hub);
}

/** A claim change a verdict reads: binding, phase, class, labels (retention), or creation and deletion. */
export function claimEventMatters(
  event: InformerEvent,
  claim: V1PersistentVolumeClaim,
  old?: V1PersistentVolumeClaim,
): boolean {
  if (event === 'resync') return false;
  if (event !== 'update' || !old) return true;
  return (
    old.spec?.volumeName !== claim.spec?.volumeName ||
    old.spec?.storageClassName !== claim.spec?.storageClassName ||
    old.status?.phase !== claim.status?.phase ||
    old.metadata?.uid !== claim.metadata?.uid ||
    JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(claim.metadata?.labels ?? {})
  );
}

/** The namespaces a volume's claim lives in, before and after the change, that hold a hub. */
export function namespacesOfVolume(
  view: PolicyReportView,
  pv: V1PersistentVolume,
  old?: V1PersistentVolume,
): string[] {
  const out = new Set([pv, old].flatMap((v) => holdingHub(view, v?.spec?.claimRef?.namespace)));
  return [...out];
}

export function policyReportWatches(s: PolicyReportSources): AnyWatch[] {
  return [
    // Every namespace a hub leaves too: its report goes with its last hub.
    watch({
      name: 'hubs',
      source: s.hubs,
      predicate: hubEventMatters,
      map: (_e, hub) => (inScope(s, hub.metadata.namespace) ? [hub.metadata.namespace] : []),
    }),
    watch({
      name: 'policies',
      source: s.policies,
      predicate: policyEventMatters,
      map: (_e, policy) => namespacesOfPolicy(s, policy),
    }),
    // A node's labels place pods, and the volumes on it or in its zone.
    watch({ name: 'nodes', source: s.nodes, predicate: nodeEventMatters, map: () => hubNamespaces(s) }),
    watch({
      name: 'pods',
      source: s.pods,
      predicate: podEventMatters,
      map: (_e, pod) => holdingHub(s, pod.metadata?.namespace),
    }),
    watch({
      name: 'claims',
      source: s.claims,
      predicate: claimEventMatters,
      map: (_e, claim) => holdingHub(s, claim.metadata?.namespace),
    }),
    watch({
      name: 'volumes',
      source: s.volumes,
      predicate: notResync,
      map: (_e, pv, old) => namespacesOfVolume(s, pv, old),
    }),
    watch({
      name: 'storage classes',
      source: s.storageClasses,
      predicate: notResync,
      map: () => hubNamespaces(s),
    }),
    // The operator's own reports (found by label): a change or deletion by someone else is undone.
    ...s.reports.map((source) =>
      watch({
        name: 'reports',
        source,
        predicate: notResync,
        map: (_e, report) => (inScope(s, report.metadata?.namespace) ? [report.metadata!.namespace!] : []),
      }),
    ),
  ];
}
