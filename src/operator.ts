import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import {
  FIELD_MANAGER,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  KEYS_FIELD_MANAGER,
  PLACEMENT_FIELD_MANAGER,
  type HealthDataHub,
  type SovereigntyPolicy,
} from './api/index.js';
import { HubReconciler } from './controllers/hub/reconciler.js';
import { operatorInformers } from './controllers/informers.js';
import { KeysReconciler } from './controllers/keys/reconciler.js';
import { keysWatches } from './controllers/keys/watches.js';
import { hubWatches, keyAccessHubNamespace } from './controllers/hub/watches.js';
import { liveNodeReader } from './controllers/placement/live-node.js';
import { PlacementReconciler } from './controllers/placement/reconciler.js';
import { placementWatches } from './controllers/placement/watches.js';
import { policyWatches } from './controllers/policy/watches.js';
import { registerPolicyReports } from './controllers/policyreport/register.js';
import { HubMetrics } from './hub/metrics.js';
import { HistoryRecorder } from './hub/history-recorder.js';
import { NamespaceLabeler } from './hub/namespace-labels.js';
import { RetainedClaimRecords } from './hub/retained-claims.js';
import { ClaimWriter } from './hub/steps/claim-writes.js';
import { appliedKey, DatastoreStep } from './hub/steps/datastore.js';
import { KekAccessStep } from './hub/steps/kek-access.js';
import { hubReader, LifecycleKeyGate } from './hub/steps/key-lifecycle-gate.js';
import type { KeyGate } from './hub/steps/keys.js';
import { StorageStep } from './hub/steps/storage.js';
import { KeyLifecycle } from './keys/lifecycle.js';
import { KeyMetrics } from './keys/metrics.js';
import type { AllowedToken } from './keys/pkcs11-tokens.js';
import { nodeFacts as nodeFactsOf } from './placement/audit.js';
import { PlacementMetrics } from './placement/metrics.js';
import { Evictor } from './placement/evictor.js';
import { ADMISSION_KINDS, AdmissionSync, admissionKey } from './policy/admission-sync.js';
import { PolicyReconciler } from './policy/reconciler.js';
import { AppliedCache } from './runtime/apply-cache.js';
import { Writer } from './runtime/apply.js';
import { EventRecorder } from './runtime/events.js';
import type { Manager } from './runtime/manager.js';
import { connect } from './runtime/watches.js';
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
  /** How often the served policy report kinds are asked again (--report-discovery-interval). */
  reportDiscoveryIntervalMs?: number;
}

/**
 * Composes the controllers into a manager: the placement controller (by namespace), the keys
 * controller (by hub), the hub controller (by hub: storage, datastore, deletion, Ready) and the
 * policy controller; each says in its watches which events wake which of its keys.
 */
export function registerOperator(mgr: Manager, opts: OperatorOptions): void {
  const {
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
  } = operatorInformers(mgr, opts);
  const placementMetrics = new PlacementMetrics(mgr.metrics.registry);
  const writer = new Writer(mgr.clients, FIELD_MANAGER);
  const events = new EventRecorder(mgr.clients, 'hdh.sovereign.eu/hdh-operator', opts.identity, mgr.log);

  // The admission objects as watched (their informers are made with the policy controller's).
  const admission = new AdmissionSync(mgr.clients, writer, (obj) =>
    admissionObjects[ADMISSION_KINDS.findIndex((k) => k.kind === obj.kind)]?.get(obj.metadata?.name ?? ''),
  );
  // Compared with the live objects as watched, so a restart re-applies nothing that is unchanged.
  const applied = new AppliedCache(FIELD_MANAGER);
  const storageMetrics = new StorageMetrics(mgr.metrics.registry);
  const claimWrites = new ClaimWriter(mgr.clients);
  const keyMetrics = new KeyMetrics(mgr.metrics.registry);
  new HubMetrics(mgr.metrics.registry, () => hubs.list());
  const core = mgr.clients.make(CoreV1Api);
  const retainedClaims = new RetainedClaimRecords(core, writer, opts.operatorNamespace);
  const history = new HistoryRecorder({ api: core, operatorNamespace: opts.operatorNamespace, log: mgr.log });
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
          live: (obj) => {
            const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
            if (obj.kind === 'ServiceAccount') return serviceAccounts.get(key);
            return keyAccessRbac.find((r) => r.kind === obj.kind)?.informer.get(key);
          },
        }),
      },
    );
  const liveNode = liveNodeReader(core);

  const storage = new StorageStep({
    claims,
    volumes,
    storageClasses,
    writes: claimWrites,
    events,
    metrics: storageMetrics,
  });
  // Whether the hub's StorageClass is refused: nothing of the hub is created then, keys included.
  const storageClassRefusal = (hub: HealthDataHub, policy: SovereigntyPolicy) => {
    const nodeFacts = new Map(nodes.list().map((n) => [n.metadata!.name!, nodeFactsOf(n)]));
    const verdict = storage.checkClass(hub, policy, nodeFacts);
    return verdict.ok ? undefined : verdict.condition.message;
  };

  // Whether an event of an object the operator applied is a drift to restore (or a deletion).
  const drifted = (kind: string, event: string, obj: KubernetesObject) =>
    applied.observe(appliedKey({ ...obj, kind }), event === 'delete' ? undefined : obj.metadata);

  const placement = mgr.controller(
    'placement',
    new PlacementReconciler({
      hubs,
      policies,
      nodes,
      pods,
      namespaces,
      // Its own field manager: PlacementCompliant and status.placement are the placement
      // controller's, the rest of the status the hub controller's (server-side apply keeps both).
      status: new Writer(mgr.clients, PLACEMENT_FIELD_MANAGER),
      events,
      evictor: new Evictor(core, placementMetrics, { operatorNamespace: opts.operatorNamespace }),
      history,
      metrics: placementMetrics,
      log: mgr.log,
      liveNode,
      platform,
      operatorNamespace: opts.operatorNamespace,
    }),
  );
  connect(
    placement.enqueue,
    placementWatches({
      hubs,
      policies,
      nodes,
      pods,
      namespaces: namespaceCache,
      claims,
      watchedNamespace: opts.namespace,
    }),
  );

  const hubController = mgr.controller(
    'healthdatahub',
    new HubReconciler({
      hubs,
      policies,
      nodes,
      writer,
      events,
      namespaces,
      storage,
      datastore: new DatastoreStep({
        clients: mgr.clients,
        writer,
        applied,
        statefulSets,
        podDisruptionBudgets,
        services,
        log: mgr.log,
      }),
      delivery: { image: opts.image, operatorNamespace: opts.operatorNamespace },
      deletion: {
        writer,
        writes: claimWrites,
        events,
        metrics: storageMetrics,
        keys,
        records: retainedClaims,
        history,
      },
      log: mgr.log,
      platform,
      operatorNamespace: opts.operatorNamespace,
    }),
  );
  connect(
    hubController.enqueue,
    hubWatches({
      hubs,
      policies,
      namespaces: namespaceCache,
      claims,
      volumes,
      storageClasses,
      owned: [
        { kind: 'StatefulSet', source: statefulSets, everyChange: true },
        { kind: 'Service', source: services },
        { kind: 'PodDisruptionBudget', source: podDisruptionBudgets },
      ],
      drifted,
    }),
  );

  const keysController = mgr.controller(
    'keys',
    new KeysReconciler({
      hubs,
      policies,
      namespaces,
      keys,
      storageClassRefusal,
      // Its own field manager: KeysReady and status.encryption are the keys controller's.
      status: new Writer(mgr.clients, KEYS_FIELD_MANAGER),
      events,
      history,
      log: mgr.log,
      platform,
      operatorNamespace: opts.operatorNamespace,
    }),
  );
  connect(
    keysController.enqueue,
    keysWatches({
      hubs,
      policies,
      namespaces: namespaceCache,
      claims,
      storageClasses,
      // builtin key access, which a datastore pod needs to start.
      access: [
        { kind: 'ServiceAccount', source: serviceAccounts },
        ...keyAccessRbac.map(({ kind, informer }) => ({
          kind,
          source: informer,
          hubNamespace: keyAccessHubNamespace,
        })),
      ],
      drifted,
    }),
  );

  const policyController = mgr.controller(
    'sovereigntypolicy',
    new PolicyReconciler({ hubs, policies, nodes, writer, admission, events }),
  );
  // The admission objects are the operator's: changed or deleted by someone else, they are
  // restored. MutatingAdmissionPolicy is optional (served from Kubernetes 1.36 on).
  const admissionObjects = ADMISSION_KINDS.map((k) =>
    mgr.informer<KubernetesObject>(
      {
        group: 'admissionregistration.k8s.io',
        version: 'v1',
        ...k,
        labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`,
      },
      { optional: true },
    ),
  );
  connect(
    policyController.enqueue,
    policyWatches({
      hubs,
      policies,
      nodes,
      admission: admissionObjects,
      drifted: (event, obj) =>
        admission.cache.observe(admissionKey(obj), event === 'delete' ? undefined : obj.metadata),
    }),
  );
  registerPolicyReports(mgr, opts, { hubs, policies, nodes, pods, claims, volumes, storageClasses });
}
