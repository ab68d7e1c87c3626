import type { KubernetesObject, V1Node } from '@kubernetes/client-node';
import {
  FIELD_MANAGER,
  HEALTH_DATA_HUB,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from './api/index.js';
import { NamespaceLabeler } from './hub/namespace-labels.js';
import { HubReconciler } from './hub/reconciler.js';
import { LABEL_POLICY } from './placement/admission.js';
import { ADMISSION_KINDS, AdmissionSync, admissionKey } from './policy/admission-sync.js';
import { nodePlacementChanged } from './policy/nodes.js';
import { PolicyReconciler } from './policy/reconciler.js';
import { Writer } from './runtime/apply.js';
import { EventRecorder } from './runtime/events.js';
import { objectKey } from './runtime/informer.js';
import type { Manager } from './runtime/manager.js';

export interface OperatorOptions {
  /** Watch hubs in this namespace only. */
  namespace?: string;
  identity: string;
}

/** Wires the domain controllers into a manager: which events enqueue which keys. */
export function registerOperator(mgr: Manager, opts: OperatorOptions): void {
  const hubs = mgr.informer<HealthDataHub>({ ...HEALTH_DATA_HUB, namespace: opts.namespace });
  const policies = mgr.informer<SovereigntyPolicy>(SOVEREIGNTY_POLICY);
  const nodes = mgr.informer<V1Node>({ group: '', version: 'v1', kind: 'Node', plural: 'nodes' });
  const writer = new Writer(mgr.clients, FIELD_MANAGER);
  const events = new EventRecorder(mgr.clients, 'hdh.sovereign.eu/hdh-operator', opts.identity, mgr.log);

  const admission = new AdmissionSync(mgr.clients, writer);
  const namespaces = new NamespaceLabeler(writer);
  const hubController = mgr.controller(
    'healthdatahub',
    new HubReconciler({ hubs, policies, nodes, writer, events, namespaces, log: mgr.log }),
  );
  const policyController = mgr.controller(
    'sovereigntypolicy',
    new PolicyReconciler({ hubs, policies, nodes, writer, admission }),
  );

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

  const hubsUsing = (policy: string) => hubs.list((h) => h.spec.policyName === policy).map(objectKey);

  hubs.on((event, hub, old) => {
    // Our own status writes come back as updates; like controller-runtime's generation
    // predicate, they do not need another reconcile (resyncs still cover missed levels).
    if (event !== 'update' || !old || specOrMetadataChanged(old, hub)) hubController.enqueue(objectKey(hub));
    // The policy counts its hubs.
    if (event !== 'update' && event !== 'resync') policyController.enqueue(hub.spec.policyName);
    if (event === 'update' && old && old.spec.policyName !== hub.spec.policyName) {
      policyController.enqueue(old.spec.policyName);
      policyController.enqueue(hub.spec.policyName);
    }
  });
  policies.on((event, policy, old) => {
    if (event !== 'update' || !old || specOrMetadataChanged(old, policy)) {
      policyController.enqueue(objectKey(policy));
      for (const k of hubsUsing(policy.metadata!.name!)) hubController.enqueue(k);
    }
  });
  nodes.on((event, node, old) => {
    if (event === 'update' && !nodePlacementChanged(old, node)) return;
    if (event === 'resync') return;
    for (const p of policies.list()) policyController.enqueue(objectKey(p));
    for (const h of hubs.list()) hubController.enqueue(objectKey(h));
  });
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
