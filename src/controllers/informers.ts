// The operator's informers: what each controller's cache holds, and how it is narrowed (by
// namespace, by the hub label, or to the fields the audit reads).
import type {
  KubernetesObject,
  V1Namespace,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1StatefulSet,
  V1StorageClass,
} from '@kubernetes/client-node';
import {
  HEALTH_DATA_HUB,
  LABEL_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../api/index.js';
import { namespaceView } from '../hub/namespace-labels.js';
import { podAuditView } from '../placement/audit.js';
import { podIndexers } from '../placement/pod-index.js';
import type { Manager } from '../runtime/manager.js';

export interface InformerScope {
  /** Watch hubs (and their pods, claims and objects) in this namespace only. */
  namespace?: string | undefined;
  /** The operator's own namespace, holding the builtin key access Roles and RoleBindings. */
  operatorNamespace: string;
}

/** Creates the operator's informers on `mgr` (started with it). */
export function operatorInformers(mgr: Manager, opts: InformerScope) {
  const hubs = mgr.informer<HealthDataHub>({ ...HEALTH_DATA_HUB, namespace: opts.namespace });
  const policies = mgr.informer<SovereigntyPolicy>(SOVEREIGNTY_POLICY);
  const nodes = mgr.informer<V1Node>({ group: '', version: 'v1', kind: 'Node', plural: 'nodes' });
  // Every pod of a hub namespace is held to its policy, whoever created it. The cache keeps only
  // what the audit reads (podAuditView): without --namespace it holds every pod of the cluster.
  const pods = mgr.informer<V1Pod>(
    { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespace: opts.namespace },
    { transform: podAuditView, indexers: podIndexers },
  );
  // Storage: claims of the watched namespaces; volumes and classes are cluster-wide.
  const claims = mgr.informer<V1PersistentVolumeClaim>({
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    namespace: opts.namespace,
  });
  // Namespaces, reduced to their labels: the operator's policy labels are kept, and the policies'
  // namespaceSelectors read them. Few objects, watched cluster-wide even with --namespace.
  const namespaceCache = mgr.informer<V1Namespace>(
    { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces' },
    { transform: namespaceView },
  );
  const volumes = mgr.informer<V1PersistentVolume>({
    group: '',
    version: 'v1',
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
  });
  const storageClasses = mgr.informer<V1StorageClass>({
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'StorageClass',
    plural: 'storageclasses',
  });
  // The datastore objects the operator applied, found by their hub label: a change or deletion
  // by someone else is restored, and the StatefulSet's status feeds DatastoreReady.
  const owned = { namespace: opts.namespace, labelSelector: LABEL_HUB };
  const statefulSets = mgr.informer<V1StatefulSet>({
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    ...owned,
  });
  const services = mgr.informer<KubernetesObject>({
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    ...owned,
  });
  const podDisruptionBudgets = mgr.informer<V1PodDisruptionBudget>({
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    ...owned,
  });
  // builtin key access: the datastore pods' service account (hub namespace), and the Role and
  // RoleBinding letting it read its KEK (operator namespace). A pod start needs them all.
  const serviceAccounts = mgr.informer<KubernetesObject>({
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    ...owned,
  });
  const keyAccessRbac = (['Role', 'RoleBinding'] as const).map((kind) => ({
    kind,
    informer: mgr.informer<KubernetesObject>({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      kind,
      plural: `${kind.toLowerCase()}s`,
      namespace: opts.operatorNamespace,
      labelSelector: LABEL_HUB,
    }),
  }));
  return {
    hubs,
    policies,
    nodes,
    pods,
    claims,
    namespaceCache,
    volumes,
    storageClasses,
    statefulSets,
    services,
    podDisruptionBudgets,
    serviceAccounts,
    keyAccessRbac,
  };
}
