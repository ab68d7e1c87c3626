// The policy report controller, keyed by namespace: in every namespace holding a hub it keeps one
// report (REPORT_NAME) of the operator's placement and storage verdicts, of the first report kind
// the API server serves (OpenReports' Report, else wgpolicyk8s.io's PolicyReport); elsewhere it
// deletes its own. Which kinds are served is asked at the first reconcile and then every
// DISCOVERY_PERIOD_MS (the DISCOVERY_KEY, requeued), so CRDs installed later are used; with none
// served nothing is written. It writes only when the rendered report differs from the live one.
import type {
  KubernetesObject,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import {
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../api/index.js';
import { systemNamespaceRefusal } from '../../api/system-namespaces.js';
import { nodeFacts, type NodeFacts } from '../../placement/audit.js';
import { PODS_PLACED_IN } from '../../placement/pod-index.js';
import { BY_NAMESPACE, type Cache } from '../../runtime/cache.js';
import type { ReconcileResult, Reconciler } from '../../runtime/controller.js';
import { statusCode } from '../../runtime/errors.js';
import type { Logger } from '../../runtime/logging.js';
import type { ReportApi } from './reports-api.js';
import { compareLive } from './compare.js';
import { describeKind, renderReport, REPORT_KINDS, REPORT_NAME, type ReportKind } from './render.js';

/** The queue key of the periodic discovery: no namespace can be named so. */
export const DISCOVERY_KEY = '~discovery';
export const DISCOVERY_PERIOD_MS = 60_000;

export interface PolicyReportReconcilerDeps {
  hubs: Cache<HealthDataHub>;
  policies: Cache<SovereigntyPolicy>;
  nodes: Cache<V1Node>;
  /** Indexed by podIndexers. */
  pods: Cache<V1Pod>;
  claims: Cache<V1PersistentVolumeClaim>;
  volumes: Cache<V1PersistentVolume>;
  storageClasses: Cache<V1StorageClass>;
  /** The operator's report of each kind (caches selected by its name and label; empty while not served). */
  reports: ReadonlyMap<ReportKind, Cache<KubernetesObject>>;
  api: ReportApi;
  log: Logger;
  /** Wakes every namespace that holds a hub (a kind became served). */
  enqueueAll: () => void;
  /** The Node as the API server has it now (undefined: gone): the pod watch can run ahead. */
  liveNode?: (name: string) => Promise<V1Node | undefined>;
  watchedNamespace?: string | undefined;
  operatorNamespace?: string | undefined;
  /** How often the served kinds are asked again (default DISCOVERY_PERIOD_MS). */
  discoveryPeriodMs?: number | undefined;
}

export class PolicyReportReconciler implements Reconciler {
  /** The kinds served at the last discovery; undefined before the first. */
  private served: ReportKind[] | undefined;
  private discovering: Promise<ReportKind[]> | undefined;

  constructor(private readonly d: PolicyReportReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    if (key === DISCOVERY_KEY) {
      await this.discover();
      return { requeueAfterMs: this.d.discoveryPeriodMs ?? DISCOVERY_PERIOD_MS };
    }
    const served = this.served ?? (await this.discover());
    if (served.length === 0) return;
    const namespace = key;
    const hubs = this.sovereign(namespace) ? this.d.hubs.byIndex(BY_NAMESPACE, namespace) : [];
    const chosen = hubs.length ? served[0] : undefined;
    try {
      // One report per namespace: ours of another kind (the preferred one became served) goes.
      for (const kind of served) if (kind !== chosen) await this.removeOurs(kind, namespace);
      if (chosen) await this.keep(chosen, namespace, hubs);
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
      // Its CRD was removed since the last discovery: nothing to write, nothing to retry. Still
      // listed: a CRD just installed whose objects are not served yet, retried.
      const now = await this.discover();
      if (chosen && now.includes(chosen)) throw e;
    }
  }

  /** Asks which kinds are served (one request at a time, however many reconciles wait on it). */
  private discover(): Promise<ReportKind[]> {
    this.discovering ??= this.discoverNow().finally(() => (this.discovering = undefined));
    return this.discovering;
  }

  /** Logs and wakes every sovereign namespace when the kinds served changed. */
  private async discoverNow(): Promise<ReportKind[]> {
    const served: ReportKind[] = [];
    for (const kind of REPORT_KINDS) if (await this.d.api.served(kind)) served.push(kind);
    const before = this.served;
    this.served = served;
    const same =
      before !== undefined && before.length === served.length && before.every((k, i) => k === served[i]);
    if (same) return served;
    if (served.length) {
      this.d.log.info('policy reports: writing one per namespace holding a hub', {
        kind: describeKind(served[0]!),
        served: served.map(describeKind),
      });
      this.d.enqueueAll();
    } else {
      this.d.log.info('policy reports: no report kind is served, none is written', {
        kinds: REPORT_KINDS.map(describeKind),
        checkedEveryMs: this.d.discoveryPeriodMs ?? DISCOVERY_PERIOD_MS,
      });
    }
    return served;
  }

  private sovereign(namespace: string): boolean {
    if (this.d.watchedNamespace && namespace !== this.d.watchedNamespace) return false;
    return systemNamespaceRefusal(namespace, this.d.operatorNamespace) === undefined;
  }

  /** Brings the namespace's report to what the verdicts say now; writes only on a difference. */
  private async keep(kind: ReportKind, namespace: string, hubs: readonly HealthDataHub[]): Promise<void> {
    const pods = this.d.pods.byIndex(PODS_PLACED_IN, namespace);
    const claims = this.d.claims.byIndex(BY_NAMESPACE, namespace);
    const volumes = new Map<string, V1PersistentVolume>();
    for (const c of claims) {
      const name = c.spec?.volumeName;
      const pv = name ? this.d.volumes.get(name) : undefined;
      if (pv) volumes.set(name!, pv);
    }
    const desired = renderReport(kind, {
      namespace,
      hubs,
      policy: (name) => this.d.policies.get(name),
      pods,
      nodes: await this.nodeFacts(pods),
      claims,
      volumes,
      storageClass: (name) => this.d.storageClasses.get(name),
    });
    // Ours are cached (by name and label); an object of our name without the label is asked for,
    // to be replaced.
    const live =
      this.d.reports.get(kind)?.get(`${namespace}/${REPORT_NAME}`) ??
      (await this.d.api.get(kind, namespace, REPORT_NAME));
    const verdict = compareLive(live, desired);
    if (verdict === 'current') return;
    if (verdict === 'replace') {
      this.d.log.info(
        'policy report: replacing an object of its name that holds fields the operator never writes',
        {
          kind: describeKind(kind),
          namespace,
        },
      );
      await this.d.api.delete(kind, namespace, REPORT_NAME, live?.metadata?.uid);
    }
    await this.d.api.apply(kind, desired);
  }

  /** Deletes the operator's report of `kind` in the namespace: found by its label and name only. */
  private async removeOurs(kind: ReportKind, namespace: string): Promise<void> {
    const live = this.d.reports.get(kind)?.get(`${namespace}/${REPORT_NAME}`);
    if (live?.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) return;
    await this.d.api.delete(kind, namespace, REPORT_NAME, live.metadata.uid);
  }

  /**
   * Facts of every Node (a volume's zone is placed in a region by the nodes' labels), and of the
   * nodes the pods are placed on that the cache does not hold yet, asked of the API server once
   * each per reconcile (a node gone is asked for once, however many pods name it).
   */
  private async nodeFacts(pods: readonly V1Pod[]): Promise<Map<string, NodeFacts>> {
    const facts = new Map(this.d.nodes.list().map((n) => [n.metadata?.name ?? '', nodeFacts(n)]));
    const missing = new Set<string>();
    for (const pod of pods) {
      const name = pod.spec?.nodeName;
      if (!name || facts.has(name) || missing.has(name) || !this.d.liveNode) continue;
      const node = await this.d.liveNode(name);
      if (node) facts.set(name, nodeFacts(node));
      else missing.add(name);
    }
    return facts;
  }
}
