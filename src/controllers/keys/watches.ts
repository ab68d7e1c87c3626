// What wakes the keys controller (keyed by hub): the hub itself (spec, annotations such as
// rotate-keys or adopt-keys, the finalizer, deletion), its policy (which providers it allows),
// its namespace's labels (which policies it may use) and the key-access objects it applied.
// Never pods, volumes or the datastore. Secrets are not watched: the operator may not list them
// (it reads the few it needs by name); the lifecycle's requeues cover a changed PIN or token.
import type {
  KubernetesObject,
  V1Namespace,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../api/index.js';
import { objectKey } from '../../runtime/cache.js';
import type { InformerEvent } from '../../runtime/informer.js';
import { watch, type AnyWatch, type EventSource } from '../../runtime/watches.js';
import {
  appliedObjectWatch,
  hubsInNamespace,
  hubsOfClaim,
  hubsUsingPolicy,
  namespaceLabelEventMatters,
  storageClassWatch,
  type HubView,
  type OwnedSource,
} from '../hub/watches.js';
import { policyEventMatters, specOrMetadataChanged } from '../predicates.js';

export interface KeysSources extends HubView {
  hubs: HubView['hubs'] & EventSource<HealthDataHub>;
  policies: EventSource<SovereigntyPolicy>;
  namespaces: EventSource<V1Namespace>;
  /** Claims: a hub's claims are evidence that it holds data (keys are then never made anew). */
  claims: EventSource<V1PersistentVolumeClaim>;
  /** StorageClasses: keys are made only once the hub's class is accepted. */
  storageClasses: EventSource<V1StorageClass>;
  /** The builtin key access: the datastore's service account, and the Role and RoleBinding. */
  access: readonly OwnedSource[];
  /** Whether an event of an applied object is a drift to restore (AppliedCache.observe). */
  drifted: (kind: string, event: InformerEvent, obj: KubernetesObject) => boolean;
}

/**
 * Its own status writes, and the other controllers', do not concern the keys; resyncs do, and so
 * does the finalizer the hub controller adds, which the keys wait for.
 */
export function hubEventMattersToKeys(
  event: InformerEvent,
  hub: HealthDataHub,
  old?: HealthDataHub,
): boolean {
  if (event !== 'update' || !old) return true;
  const finalizers = (h: HealthDataHub) => JSON.stringify(h.metadata.finalizers ?? []);
  return specOrMetadataChanged(old, hub) || finalizers(old) !== finalizers(hub);
}

export function keysWatches(s: KeysSources): AnyWatch[] {
  return [
    watch({
      name: 'hubs',
      source: s.hubs,
      predicate: hubEventMattersToKeys,
      map: (_e, hub) => [objectKey(hub)],
    }),
    watch({
      name: 'policies',
      source: s.policies,
      predicate: policyEventMatters,
      map: (_e, policy) => hubsUsingPolicy(s, policy),
    }),
    watch({
      name: 'namespaces',
      source: s.namespaces,
      predicate: namespaceLabelEventMatters,
      map: (_e, ns) => hubsInNamespace(s, ns.metadata?.name),
    }),
    // A claim created or deleted changes the evidence a hub holds data (KeyMissing is lifted by
    // deleting the claims of a hub that is to start afresh).
    watch({
      name: 'claims',
      source: s.claims,
      predicate: (e) => e === 'add' || e === 'delete',
      map: (_e, claim) => hubsOfClaim(s, claim.metadata?.namespace, claim.metadata?.name),
    }),
    storageClassWatch(s, s.storageClasses),
    ...s.access.map((o) => appliedObjectWatch(o, s.drifted)),
  ];
}
