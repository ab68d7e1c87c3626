// What wakes the hub controller (keyed by hub: namespace/name). Pure maps and predicates over the
// caches, table-tested in test/unit/controllers/watches.test.ts. Pods are not among them: the
// keys, storage and datastore of a hub have nothing to redo when a pod changes.
import type {
  KubernetesObject,
  V1Namespace,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import {
  ConditionType,
  getCondition,
  LABEL_HUB,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../api/index.js';
import { namespaceLabelsChanged } from '../../hub/namespace-labels.js';
import { LABEL_HUB_NAMESPACE } from '../../keys/identity.js';
import { BY_NAMESPACE, objectKey, type Cache } from '../../runtime/cache.js';
import type { InformerEvent } from '../../runtime/informer.js';
import { notResync, watch, type AnyWatch, type EventSource } from '../../runtime/watches.js';
import { claimOrdinal } from '../../storage/claims.js';
import { policyEventMatters, specOrMetadataChanged } from '../predicates.js';

export interface HubView {
  hubs: Cache<HealthDataHub>;
}

/** An object the hub controller applied, with whether its change is a drift to restore. */
export interface OwnedSource {
  kind: string;
  source: EventSource<KubernetesObject>;
  /** Every change matters (the StatefulSet's status is DatastoreReady), not only drift. */
  everyChange?: boolean;
  /** The hub's namespace, when the object lives elsewhere (key-access Roles). */
  hubNamespace?: (obj: KubernetesObject) => string | undefined;
}

export interface HubSources {
  hubs: Cache<HealthDataHub> & EventSource<HealthDataHub>;
  policies: EventSource<SovereigntyPolicy>;
  namespaces: EventSource<V1Namespace>;
  claims: EventSource<V1PersistentVolumeClaim>;
  volumes: EventSource<V1PersistentVolume>;
  storageClasses: EventSource<V1StorageClass>;
  owned: readonly OwnedSource[];
  /**
   * Whether an event of an applied object is a drift (a version the operator did not apply, or a
   * deletion): the applied-object record, which remembers what was applied (AppliedCache.observe).
   */
  drifted: (kind: string, event: InformerEvent, obj: KubernetesObject) => boolean;
}

/**
 * What the placement controller wrote for the hub changed: Ready follows it. Compared on what
 * Ready reads (PlacementCompliant and the number of eligible nodes), never on timestamps.
 */
export function placementReported(old: HealthDataHub, hub: HealthDataHub): boolean {
  const a = getCondition(old.status?.conditions, ConditionType.PlacementCompliant);
  const b = getCondition(hub.status?.conditions, ConditionType.PlacementCompliant);
  return (
    a?.status !== b?.status ||
    a?.reason !== b?.reason ||
    a?.message !== b?.message ||
    a?.observedGeneration !== b?.observedGeneration ||
    old.status?.placement?.eligibleNodes !== hub.status?.placement?.eligibleNodes
  );
}

/**
 * What the keys controller wrote for the hub changed: the datastore may start (KeysReady), its
 * pods roll to a new key version (status.encryption), and Ready follows.
 */
export function keysReported(old: HealthDataHub, hub: HealthDataHub): boolean {
  const a = getCondition(old.status?.conditions, ConditionType.KeysReady);
  const b = getCondition(hub.status?.conditions, ConditionType.KeysReady);
  return (
    a?.status !== b?.status ||
    a?.reason !== b?.reason ||
    a?.message !== b?.message ||
    a?.observedGeneration !== b?.observedGeneration ||
    JSON.stringify(old.status?.encryption ?? {}) !== JSON.stringify(hub.status?.encryption ?? {})
  );
}

/**
 * Its own status writes come back as updates; like controller-runtime's generation predicate,
 * they need no other reconcile, except what the placement and keys controllers reported.
 */
export function hubEventMatters(event: InformerEvent, hub: HealthDataHub, old?: HealthDataHub): boolean {
  if (event !== 'update' || !old) return true;
  return specOrMetadataChanged(old, hub) || placementReported(old, hub) || keysReported(old, hub);
}

export function hubsUsingPolicy(view: HubView, policy: SovereigntyPolicy): string[] {
  return view.hubs.list((h) => h.spec.policyName === policy.metadata!.name).map(objectKey);
}

/** Labels decide which policies a namespace's hubs may use (namespaceSelector). */
export function namespaceLabelEventMatters(
  event: InformerEvent,
  ns: V1Namespace,
  old?: V1Namespace,
): boolean {
  return event === 'add' || (event === 'update' && namespaceLabelsChanged(old, ns));
}

export function hubsInNamespace(view: HubView, namespace: string | undefined): string[] {
  return namespace ? view.hubs.byIndex(BY_NAMESPACE, namespace).map(objectKey) : [];
}

/** The hub a claim belongs to, by its name (data-<hub>-<n>): binding, resizing, retention. */
export function hubsOfClaim(
  view: HubView,
  namespace: string | undefined,
  claim: string | undefined,
): string[] {
  if (!namespace) return [];
  return view.hubs
    .byIndex(BY_NAMESPACE, namespace)
    .filter((h) => claimOrdinal(h.metadata.name!, claim) !== undefined)
    .map(objectKey);
}

/** The hub an applied object is labelled for. */
export function ownerHub(obj: KubernetesObject, namespace: string | undefined): string[] {
  const hub = obj.metadata?.labels?.[LABEL_HUB];
  return hub && namespace ? [`${namespace}/${hub}`] : [];
}

export function hubWatches(s: HubSources): AnyWatch[] {
  return [
    watch({ name: 'hubs', source: s.hubs, predicate: hubEventMatters, map: (_e, hub) => [objectKey(hub)] }),
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
    watch({
      name: 'claims',
      source: s.claims,
      map: (_e, claim) => hubsOfClaim(s, claim.metadata?.namespace, claim.metadata?.name),
    }),
    watch({
      name: 'volumes',
      source: s.volumes,
      map: (_e, pv, old) => {
        const ref = pv.spec?.claimRef ?? old?.spec?.claimRef;
        return ref ? hubsOfClaim(s, ref.namespace, ref.name) : [];
      },
    }),
    storageClassWatch(s, s.storageClasses),
    ...s.owned.map((o) => appliedObjectWatch(o, s.drifted)),
  ];
}

/** StorageClass events wake the hubs that name the class. */
export function storageClassWatch(view: HubView, source: EventSource<V1StorageClass>): AnyWatch {
  return watch({
    name: 'storage classes',
    source,
    map: (_e, sc) =>
      view.hubs.list((h) => h.spec.storage.storageClassName === sc.metadata?.name).map(objectKey),
  });
}

/**
 * An object the operator applied for a hub: drift (a version the operator did not apply) or
 * deletion wakes its hub, which re-applies it; with `everyChange`, any change does.
 */
export function appliedObjectWatch(o: OwnedSource, drifted: HubSources['drifted']): AnyWatch {
  return watch({
    name: o.kind,
    source: o.source,
    predicate: (e, obj) =>
      notResync(e) && (drifted(o.kind, e, obj) || Boolean(o.everyChange) || e === 'delete'),
    map: (_e, obj) => ownerHub(obj, (o.hubNamespace ?? ((x) => x.metadata?.namespace))(obj)),
  });
}

/** Key-access Roles live in the operator's namespace and name their hub's namespace in a label. */
export const keyAccessHubNamespace = (obj: KubernetesObject): string | undefined =>
  obj.metadata?.labels?.[LABEL_HUB_NAMESPACE];
