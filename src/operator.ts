import {
  CoreV1Api,
  type KubernetesObject,
  type V1Namespace,
  type V1Node,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1StatefulSet,
  type V1StorageClass,
} from '@kubernetes/client-node';
import {
  ConditionType,
  FIELD_MANAGER,
  getCondition,
  Reason,
  HEALTH_DATA_HUB,
  LABEL_HUB,
  LABEL_MANAGED_BY,
  LABEL_RETAINED_FROM,
  MANAGED_BY_VALUE,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from './api/index.js';
import { HubMetrics } from './hub/metrics.js';
import { NamespaceLabeler, namespaceLabelsChanged, namespaceView } from './hub/namespace-labels.js';
import { RetainedClaimRecords } from './hub/retained-claims.js';
import { HubReconciler } from './hub/reconciler.js';
import { ClaimWriter } from './hub/steps/claim-writes.js';
import { appliedKey, DatastoreStep } from './hub/steps/datastore.js';
import { KekAccessStep } from './hub/steps/kek-access.js';
import { hubReader, LifecycleKeyGate } from './hub/steps/key-lifecycle-gate.js';
import type { KeyGate } from './hub/steps/keys.js';
import { LABEL_HUB_NAMESPACE } from './keys/identity.js';
import { KeyLifecycle } from './keys/lifecycle.js';
import { KeyMetrics } from './keys/metrics.js';
import type { AllowedToken } from './keys/pkcs11-tokens.js';
import { StorageStep } from './hub/steps/storage.js';
import {
  LABEL_POLICY,
  POLICY_NAMESPACE_LABEL_PREFIX,
  policyNamespaceLabelKey,
} from './placement/admission.js';
import { countsAsEligible, podAuditView } from './placement/audit.js';
import { PlacementMetrics } from './placement/metrics.js';
import { PodNodeIndex, podAuditChanged } from './placement/pod-index.js';
import { Evictor } from './placement/remediation.js';
import { ADMISSION_KINDS, AdmissionSync, admissionKey } from './policy/admission-sync.js';
import { nodePlacementChanged } from './policy/nodes.js';
import { PolicyReconciler } from './policy/reconciler.js';
import { AppliedCache } from './runtime/apply-cache.js';
import { Writer } from './runtime/apply.js';
import { EventRecorder } from './runtime/events.js';
import { objectKey } from './runtime/informer.js';
import type { Manager } from './runtime/manager.js';
import { claimOrdinal } from './storage/claims.js';
import { StorageMetrics } from './storage/metrics.js';

export interface OperatorOptions {
  /** Watch hubs in this namespace only. */
  namespace?: string;
  identity: string;
  /** The operator's own namespace: builtin key-encryption keys are kept there. */
  operatorNamespace: string;
  /** The operator's image, run by the datastore's `unwrap-dek` init container. */
  image: string;
  /** Replaces the key lifecycle (tests). */
  keys?: KeyGate;
  /** PKCS#11 modules hubs may name (--pkcs11-allowed-modules); none when absent. */
  pkcs11AllowedModules?: readonly string[];
  /** Which namespace may use which PKCS#11 token (--pkcs11-allowed-tokens); none when absent. */
  pkcs11AllowedTokens?: readonly AllowedToken[];
}

/** Wires the domain controllers into a manager: which events enqueue which keys. */
export function registerOperator(mgr: Manager, opts: OperatorOptions): void {
  const hubs = mgr.informer<HealthDataHub>({ ...HEALTH_DATA_HUB, namespace: opts.namespace });
  const policies = mgr.informer<SovereigntyPolicy>(SOVEREIGNTY_POLICY);
  const nodes = mgr.informer<V1Node>({ group: '', version: 'v1', kind: 'Node', plural: 'nodes' });
  // Every pod of a hub namespace is held to its policy, whoever created it. The cache keeps only
  // what the audit reads (podAuditView): without --namespace it holds every pod of the cluster.
  const pods = mgr.informer<V1Pod>(
    { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespace: opts.namespace },
    { transform: podAuditView },
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
  const placedPods = new PodNodeIndex();
  const placementMetrics = new PlacementMetrics(mgr.metrics.registry);
  const writer = new Writer(mgr.clients, FIELD_MANAGER);
  const events = new EventRecorder(mgr.clients, 'hdh.sovereign.eu/hdh-operator', opts.identity, mgr.log);

  const admission = new AdmissionSync(mgr.clients, writer);
  const applied = new AppliedCache();
  const storageMetrics = new StorageMetrics(mgr.metrics.registry);
  const claimWrites = new ClaimWriter(mgr.clients);
  const keyMetrics = new KeyMetrics(mgr.metrics.registry);
  new HubMetrics(mgr.metrics.registry, () => hubs.list());
  const core = mgr.clients.make(CoreV1Api);
  const retainedClaims = new RetainedClaimRecords(core, writer, opts.operatorNamespace);
  const namespaces = new NamespaceLabeler({
    writer,
    core,
    namespaces: namespaceCache,
    hubs,
    claims,
    records: retainedClaims,
    events,
    log: mgr.log,
    operatorNamespace: opts.operatorNamespace,
  });
  const platform = {
    pkcs11AllowedModules: opts.pkcs11AllowedModules ?? [],
    pkcs11AllowedTokens: opts.pkcs11AllowedTokens ?? [],
  };
  const keys =
    opts.keys ??
    new LifecycleKeyGate(
      new KeyLifecycle({
        secrets: core,
        providers: {
          core,
          operatorNamespace: opts.operatorNamespace,
          metrics: keyMetrics,
          pkcs11AllowedModules: platform.pkcs11AllowedModules,
          pkcs11AllowedTokens: platform.pkcs11AllowedTokens,
        },
        metrics: keyMetrics,
        log: mgr.log,
        readHub: hubReader(mgr.clients),
      }),
      (hub) => {
        const ns = hub.metadata.namespace;
        const name = hub.metadata.name ?? '';
        const claim = claims.list(
          (c) => c.metadata?.namespace === ns && claimOrdinal(name, c.metadata?.name ?? '') !== undefined,
        )[0];
        return claim ? `PersistentVolumeClaim ${claim.metadata?.name} exists` : undefined;
      },
      {
        image: opts.image,
        operatorNamespace: opts.operatorNamespace,
        access: new KekAccessStep({
          clients: mgr.clients,
          writer,
          applied,
          operatorNamespace: opts.operatorNamespace,
        }),
      },
    );
  const hubReconciler = new HubReconciler({
    hubs,
    policies,
    nodes,
    pods,
    placedPods,
    clients: mgr.clients,
    writer,
    events,
    namespaces,
    evictor: new Evictor(mgr.clients, placementMetrics, { operatorNamespace: opts.operatorNamespace }),
    metrics: placementMetrics,
    storage: new StorageStep({
      claims,
      volumes,
      storageClasses,
      writes: claimWrites,
      events,
      metrics: storageMetrics,
    }),
    datastore: new DatastoreStep({
      clients: mgr.clients,
      writer,
      applied,
      statefulSets,
      podDisruptionBudgets,
      log: mgr.log,
    }),
    keys,
    deletion: { writer, writes: claimWrites, events, metrics: storageMetrics, keys, records: retainedClaims },
    log: mgr.log,
    platform,
    operatorNamespace: opts.operatorNamespace,
  });
  const hubController = mgr.controller('healthdatahub', hubReconciler);
  const policyController = mgr.controller(
    'sovereigntypolicy',
    new PolicyReconciler({ hubs, policies, nodes, writer, admission, events }),
  );
  // A namespace's policy labels, restored as soon as the watch shows them removed or changed (the
  // hubs also apply them before anything else, see HubReconciler); then the audit and removals
  // for the policies it is held to by its labels alone (claims retained from a deleted hub).
  const namespaceController = mgr.controller('namespace', {
    reconcile: async (namespace: string) => {
      await namespaces.sync(namespace);
      return hubReconciler.auditNamespace(namespace);
    },
  });

  // The admission objects are the operator's: changed or deleted by someone else, they are
  // restored. MutatingAdmissionPolicy is optional (served from Kubernetes 1.36 on).
  for (const k of ADMISSION_KINDS) {
    const inf = mgr.informer<KubernetesObject>(
      {
        group: 'admissionregistration.k8s.io',
        version: 'v1',
        ...k,
        labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`,
      },
      { optional: true },
    );
    inf.on((event, obj) => {
      const drifted = admission.cache.observe(
        admissionKey(obj),
        event === 'delete' ? undefined : obj.metadata,
      );
      const policy = obj.metadata?.labels?.[LABEL_POLICY];
      if (drifted && policy) policyController.enqueue(policy);
    });
  }

  const hubsUsing = (policy: string) => hubs.list((h) => h.spec.policyName === policy);
  const hubsIn = (namespace: string | undefined) => hubs.list((h) => h.metadata.namespace === namespace);
  // The hubs of a namespace audit its pods against all of their policies (the strictest wins), so
  // a change to one hub or its policy is a change for every hub sharing the namespace.
  const enqueueNamespace = (namespace: string | undefined) => {
    for (const h of hubsIn(namespace)) hubController.enqueue(objectKey(h));
    // A namespace held to a policy with no hub of its own there is audited by itself.
    const labels = namespace ? namespaces.labelsOf(namespace) : {};
    if (namespace && Object.keys(labels).some((k) => k.startsWith(`${POLICY_NAMESPACE_LABEL_PREFIX}/`))) {
      namespaceController.enqueue(namespace);
    }
  };

  hubs.on((event, hub, old) => {
    // Our own status writes come back as updates; like controller-runtime's generation
    // predicate, they do not need another reconcile (resyncs still cover missed levels).
    if (event === 'resync' || event === 'delete') hubController.enqueue(objectKey(hub));
    if (event !== 'resync' && (event !== 'update' || !old || specOrMetadataChanged(old, hub))) {
      enqueueNamespace(hub.metadata.namespace);
    }
    // The policy counts its hubs.
    if (event !== 'update' && event !== 'resync') policyController.enqueue(hub.spec.policyName);
    if (event === 'update' && old && old.spec.policyName !== hub.spec.policyName) {
      policyController.enqueue(old.spec.policyName);
      policyController.enqueue(hub.spec.policyName);
    }
  });
  policies.on((event, policy, old) => {
    // A policy whose admission objects the API server refused (or accepts again) changes the
    // verdict of its hubs (AdmissionFailed).
    const admissionChanged = event === 'update' && admissionFailed(old) !== admissionFailed(policy);
    if (event !== 'update' || !old || admissionChanged || specOrMetadataChanged(old, policy)) {
      policyController.enqueue(objectKey(policy));
      const held = new Set(hubsUsing(policy.metadata!.name!).map((h) => h.metadata.namespace));
      // And the namespaces held to it by its label alone.
      const key = policyNamespaceLabelKey(policy.metadata!.name!);
      for (const ns of namespaceCache.list((n) => n.metadata?.labels?.[key] !== undefined)) {
        if (!opts.namespace || ns.metadata!.name === opts.namespace) held.add(ns.metadata!.name!);
      }
      for (const ns of held) enqueueNamespace(ns);
    }
  });
  nodes.on((event, node, old) => {
    if (event === 'resync') return;
    const providerChanged = event === 'update' && old?.spec?.providerID !== node.spec?.providerID;
    if (event === 'update' && !nodePlacementChanged(old, node) && !providerChanged) return;
    for (const p of policies.list()) policyController.enqueue(objectKey(p));
    // First the hubs with pods on the node: their audit is the urgent work (the queue is FIFO).
    for (const ns of placedPods.namespacesOn(node.metadata!.name!)) enqueueNamespace(ns);
    // Then the hubs whose number of eligible nodes this changes; the others have nothing to redo.
    const before = event === 'add' ? undefined : event === 'delete' ? node : old;
    const after = event === 'delete' ? undefined : node;
    for (const h of hubs.list()) {
      const p = policies.get(h.spec.policyName);
      const regions = h.spec.placement?.regions;
      if (p && countsAsEligible(before, p.spec, regions) !== countsAsEligible(after, p.spec, regions)) {
        hubController.enqueue(objectKey(h));
      }
    }
  });
  // The objects the hubs own: drift (a version we did not apply, see AppliedCache.observe) or
  // deletion re-applies them; the StatefulSet's status changes (ready replicas) are DatastoreReady.
  const enqueueOwner = (obj: KubernetesObject, namespace: string | undefined) => {
    const hub = obj.metadata?.labels?.[LABEL_HUB];
    if (hub && namespace) hubController.enqueue(`${namespace}/${hub}`);
  };
  const watchOwned =
    (kind: string, everyChange: boolean, hubNamespace = (obj: KubernetesObject) => obj.metadata?.namespace) =>
    (event: string, obj: KubernetesObject) => {
      if (event === 'resync') return; // hub resyncs cover missed levels
      const drifted = applied.observe(
        appliedKey({ ...obj, kind }),
        event === 'delete' ? undefined : obj.metadata,
      );
      if (drifted || everyChange || event === 'delete') enqueueOwner(obj, hubNamespace(obj));
    };
  statefulSets.on(watchOwned('StatefulSet', true));
  services.on(watchOwned('Service', false));
  podDisruptionBudgets.on(watchOwned('PodDisruptionBudget', false));
  // builtin key access, which a datastore pod needs to start. The Roles live in the operator's
  // namespace and name their hub's namespace in a label.
  serviceAccounts.on(watchOwned('ServiceAccount', false));
  for (const { kind, informer } of keyAccessRbac) {
    informer.on(watchOwned(kind, false, (o) => o.metadata?.labels?.[LABEL_HUB_NAMESPACE]));
  }

  // A claim belongs to the hub it is named for (data-<hub>-<n>): binding, resizing, retention.
  const enqueueClaimHubs = (namespace: string | undefined, claim: string | undefined) => {
    for (const h of hubsIn(namespace)) {
      if (claimOrdinal(h.metadata.name!, claim) !== undefined) hubController.enqueue(objectKey(h));
    }
  };
  claims.on((event, claim, old) => {
    if (event === 'resync') return;
    enqueueClaimHubs(claim.metadata?.namespace, claim.metadata?.name);
    // A retained claim holds its namespace to its hub's policy until it is gone (its record goes
    // then, whatever labels the tenant left on it).
    if (
      event === 'delete' ||
      claim.metadata?.labels?.[LABEL_RETAINED_FROM] ||
      old?.metadata?.labels?.[LABEL_RETAINED_FROM]
    ) {
      namespaceController.enqueue(claim.metadata!.namespace!);
    }
  });
  namespaceCache.on((event, ns, old) => {
    const name = ns.metadata!.name!;
    if (opts.namespace && name !== opts.namespace) return;
    // A deleted namespace's retained-claim records go with it.
    if (event === 'delete') return namespaceController.enqueue(name);
    if (event === 'update' && !namespaceLabelsChanged(old, ns)) return;
    // The operator's labels first: a removed one is restored before anything else is looked at.
    namespaceController.enqueue(name);
    // Labels decide which policies the namespace's hubs may use (namespaceSelector).
    if (event !== 'resync') enqueueNamespace(name);
  });
  volumes.on((event, pv, old) => {
    if (event === 'resync') return;
    const ref = pv.spec?.claimRef ?? old?.spec?.claimRef;
    if (ref) enqueueClaimHubs(ref.namespace, ref.name);
  });
  storageClasses.on((event, sc) => {
    if (event === 'resync') return;
    for (const h of hubs.list((x) => x.spec.storage.storageClassName === sc.metadata?.name)) {
      hubController.enqueue(objectKey(h));
    }
  });

  pods.on((event, pod, old) => {
    if (event === 'resync') return; // hub resyncs re-audit; the index is already current
    placedPods.observe(pod, event === 'delete');
    if (event === 'update' && !podAuditChanged(old, pod)) return;
    enqueueNamespace(pod.metadata?.namespace);
  });
}

function admissionFailed(policy: SovereigntyPolicy | undefined): boolean {
  return getCondition(policy?.status?.conditions, ConditionType.Ready)?.reason === Reason.AdmissionFailed;
}

/** A change other than status: spec (generation), labels, annotations or deletion. */
function specOrMetadataChanged(a: KubernetesObject, b: KubernetesObject): boolean {
  const ma = a.metadata ?? {};
  const mb = b.metadata ?? {};
  return (
    ma.generation !== mb.generation ||
    String(ma.deletionTimestamp ?? '') !== String(mb.deletionTimestamp ?? '') ||
    JSON.stringify(ma.labels ?? {}) !== JSON.stringify(mb.labels ?? {}) ||
    JSON.stringify(ma.annotations ?? {}) !== JSON.stringify(mb.annotations ?? {})
  );
}
