// What wakes the placement controller (keyed by namespace). Pure maps and predicates over the
// caches, table-tested in test/unit/controllers/watches.test.ts.
import type { V1Namespace, V1Node, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { LABEL_RETAINED_FROM, type HealthDataHub, type SovereigntyPolicy } from '../../api/index.js';
import { namespaceLabelsChanged } from '../../hub/namespace-labels.js';
import { POLICY_NAMESPACE_LABEL_PREFIX, policyNamespaceLabelKey } from '../../placement/admission.js';
import { countsAsEligible } from '../../placement/audit.js';
import { PODS_ON_NODE, podAuditChanged } from '../../placement/pod-index.js';
import { nodePlacementChanged } from '../../policy/nodes.js';
import { BY_NAMESPACE, type Cache } from '../../runtime/cache.js';
import type { InformerEvent } from '../../runtime/informer.js';
import { watch, type AnyWatch, type EventSource } from '../../runtime/watches.js';
import { policyEventMatters, specOrMetadataChanged } from '../predicates.js';

type Source<T extends import('@kubernetes/client-node').KubernetesObject> = Cache<T> & EventSource<T>;

/** The caches the placement controller's watches read. */
export interface PlacementView {
  hubs: Cache<HealthDataHub>;
  policies: Cache<SovereigntyPolicy>;
  /** Indexed by podIndexers. */
  pods: Cache<V1Pod>;
  namespaces: Cache<V1Namespace>;
  /** --namespace: only this namespace is served. */
  watchedNamespace?: string | undefined;
}

export interface PlacementSources extends PlacementView {
  hubs: Source<HealthDataHub>;
  policies: Source<SovereigntyPolicy>;
  nodes: Source<V1Node>;
  pods: Source<V1Pod>;
  namespaces: Source<V1Namespace>;
  claims: EventSource<V1PersistentVolumeClaim>;
}

/** Whether the namespace has anything to audit: a hub, or a policy label it is held to. */
export function audited(view: PlacementView, namespace: string | undefined): namespace is string {
  if (!namespace) return false;
  if (view.watchedNamespace && namespace !== view.watchedNamespace) return false;
  if (view.hubs.byIndex(BY_NAMESPACE, namespace).length > 0) return true;
  const labels = view.namespaces.get(namespace)?.metadata?.labels ?? {};
  return Object.keys(labels).some((k) => k.startsWith(`${POLICY_NAMESPACE_LABEL_PREFIX}/`));
}

/** A hub's own status writes do not matter to placement; resyncs are its periodic audit. */
export function hubEventMatters(event: InformerEvent, hub: HealthDataHub, old?: HealthDataHub): boolean {
  return event !== 'update' || !old || specOrMetadataChanged(old, hub);
}

/** The namespaces held to a policy: those of its hubs, and those carrying its label. */
export function namespacesOfPolicy(view: PlacementView, policy: SovereigntyPolicy): string[] {
  const name = policy.metadata!.name!;
  const held = new Set(view.hubs.list((h) => h.spec.policyName === name).map((h) => h.metadata.namespace!));
  const key = policyNamespaceLabelKey(name);
  for (const ns of view.namespaces.list((n) => n.metadata?.labels?.[key] !== undefined)) {
    held.add(ns.metadata!.name!);
  }
  return [...held].filter((ns) => !view.watchedNamespace || ns === view.watchedNamespace);
}

/** A node change that can change a verdict: its placement labels, taints, readiness or providerID. */
export function nodeEventMatters(event: InformerEvent, node: V1Node, old?: V1Node): boolean {
  if (event === 'resync') return false;
  if (event !== 'update') return true;
  return nodePlacementChanged(old, node) || old?.spec?.providerID !== node.spec?.providerID;
}

/**
 * The namespaces a node change concerns: first those with pods on it (their audit is the urgent
 * work, the queue is FIFO), then those of hubs whose number of eligible nodes it changes.
 */
export function namespacesOfNode(
  view: PlacementView,
  event: InformerEvent,
  node: V1Node,
  old?: V1Node,
): string[] {
  const out = new Set(
    view.pods.byIndex(PODS_ON_NODE, node.metadata!.name!).map((p) => p.metadata!.namespace!),
  );
  const before = event === 'add' ? undefined : event === 'delete' ? node : old;
  const after = event === 'delete' ? undefined : node;
  for (const h of view.hubs.list()) {
    const p = view.policies.get(h.spec.policyName);
    const regions = h.spec.placement?.regions;
    if (p && countsAsEligible(before, p.spec, regions) !== countsAsEligible(after, p.spec, regions)) {
      out.add(h.metadata.namespace!);
    }
  }
  return [...out].filter((ns) => audited(view, ns));
}

/** Pod changes that can change an audit (status updates, most of them, cannot). */
export function podEventMatters(event: InformerEvent, pod: V1Pod, old?: V1Pod): boolean {
  if (event === 'resync') return false;
  return event !== 'update' || podAuditChanged(old, pod);
}

/** Label changes (the operator's labels are restored at once) and deletions of namespaces. */
export function namespaceEventMatters(event: InformerEvent, ns: V1Namespace, old?: V1Namespace): boolean {
  return event !== 'update' || namespaceLabelsChanged(old, ns);
}

/** A retained claim holds its namespace to its hub's policy until it is gone. */
export function retainedClaimEventMatters(
  event: InformerEvent,
  claim: V1PersistentVolumeClaim,
  old?: V1PersistentVolumeClaim,
): boolean {
  if (event === 'resync') return false;
  return (
    event === 'delete' ||
    claim.metadata?.labels?.[LABEL_RETAINED_FROM] !== undefined ||
    old?.metadata?.labels?.[LABEL_RETAINED_FROM] !== undefined
  );
}

const inScope = (view: PlacementView, ns: string | undefined): string[] =>
  ns && (!view.watchedNamespace || ns === view.watchedNamespace) ? [ns] : [];

export function placementWatches(s: PlacementSources): AnyWatch[] {
  return [
    watch({
      name: 'hubs',
      source: s.hubs,
      predicate: hubEventMatters,
      map: (_e, hub) => inScope(s, hub.metadata.namespace),
    }),
    watch({
      name: 'policies',
      source: s.policies,
      predicate: policyEventMatters,
      map: (_e, policy) => namespacesOfPolicy(s, policy),
    }),
    watch({
      name: 'nodes',
      source: s.nodes,
      predicate: nodeEventMatters,
      map: (e, node, old) => namespacesOfNode(s, e, node, old),
    }),
    watch({
      name: 'pods',
      source: s.pods,
      predicate: podEventMatters,
      map: (_e, pod) => (audited(s, pod.metadata?.namespace) ? [pod.metadata!.namespace!] : []),
    }),
    // Every namespace, resyncs too: a label of the operator left on a namespace is removed.
    watch({
      name: 'namespaces',
      source: s.namespaces,
      predicate: namespaceEventMatters,
      map: (_e, ns) => inScope(s, ns.metadata?.name),
    }),
    watch({
      name: 'retained claims',
      source: s.claims,
      predicate: retainedClaimEventMatters,
      map: (_e, claim) => inScope(s, claim.metadata?.namespace),
    }),
  ];
}
