// The policy report controller as the operator composes it: the caches it shares with the other
// controllers, a cache of the operator's own report per kind (its name and label; optional: a kind
// not served is an empty cache, listed again later), the periodic discovery, and its watches.
import {
  CoreV1Api,
  type KubernetesObject,
  type V1Node,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
} from '@kubernetes/client-node';
import {
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../api/index.js';
import type { Informer } from '../../runtime/informer.js';
import type { Manager } from '../../runtime/manager.js';
import { connect } from '../../runtime/watches.js';
import { liveNodeReader } from '../placement/live-node.js';
import { DISCOVERY_KEY, PolicyReportReconciler } from './reconciler.js';
import { REPORT_KINDS, REPORT_NAME, type ReportKind } from './render.js';
import { ClusterReportApi } from './reports-api.js';
import { hubNamespaces, policyReportWatches } from './watches.js';

export interface PolicyReportCaches {
  hubs: Informer<HealthDataHub>;
  policies: Informer<SovereigntyPolicy>;
  nodes: Informer<V1Node>;
  /** Indexed by podIndexers. */
  pods: Informer<V1Pod>;
  claims: Informer<V1PersistentVolumeClaim>;
  volumes: Informer<V1PersistentVolume>;
  storageClasses: Informer<V1StorageClass>;
}

export function registerPolicyReports(
  mgr: Manager,
  opts: {
    namespace?: string | undefined;
    operatorNamespace: string;
    reportDiscoveryIntervalMs?: number | undefined;
  },
  caches: PolicyReportCaches,
): void {
  const reports = new Map<ReportKind, Informer<KubernetesObject>>(
    REPORT_KINDS.map((kind) => [
      kind,
      mgr.informer<KubernetesObject>(
        {
          group: kind.group,
          version: kind.version,
          kind: kind.kind,
          plural: kind.plural,
          namespace: opts.namespace,
          // The label alone would cache every report a tenant labels so (anyone who may write
          // reports can): only the one of the report's name is the operator's to read.
          labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`,
          fieldSelector: `metadata.name=${REPORT_NAME}`,
        },
        { optional: true },
      ),
    ]),
  );
  const view = { hubs: caches.hubs, watchedNamespace: opts.namespace };
  const core = mgr.clients.make(CoreV1Api);
  const liveNode = liveNodeReader(core);
  const controller = mgr.controller(
    'policyreport',
    new PolicyReportReconciler({
      ...caches,
      reports,
      liveNode,
      api: new ClusterReportApi(mgr.clients),
      log: mgr.log,
      enqueueAll: () => hubNamespaces(view).forEach((ns) => controller.enqueue(ns)),
      watchedNamespace: opts.namespace,
      operatorNamespace: opts.operatorNamespace,
      discoveryPeriodMs: opts.reportDiscoveryIntervalMs,
    }),
  );
  connect(controller.enqueue, policyReportWatches({ ...caches, ...view, reports: [...reports.values()] }));
  // The first discovery, then one every DISCOVERY_PERIOD_MS (the reconcile requeues its key).
  controller.enqueue(DISCOVERY_KEY);
}
