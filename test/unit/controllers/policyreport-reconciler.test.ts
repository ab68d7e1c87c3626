// The policy report controller on fake caches and a fake API: nothing at all while no report kind
// is served, one report per namespace holding a hub of the first kind served, written only when it
// differs, ours of the other kind and of namespaces without hubs deleted, a tenant's object of our
// name replaced, and discovery that picks up CRDs installed later.
import type {
  KubernetesObject,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import { PassThrough } from 'node:stream';
import type { HealthDataHub, SovereigntyPolicy } from '../../../src/api/index.js';
import {
  DISCOVERY_KEY,
  DISCOVERY_PERIOD_MS,
  PolicyReportReconciler,
  type PolicyReportReconcilerDeps,
} from '../../../src/controllers/policyreport/reconciler.js';
import {
  OPEN_REPORT,
  POLICY_REPORT,
  REPORT_KINDS,
  REPORT_NAME,
  type PolicyReportObject,
  type ReportKind,
} from '../../../src/controllers/policyreport/render.js';
import type { ReportApi } from '../../../src/controllers/policyreport/reports-api.js';
import { podIndexers } from '../../../src/placement/pod-index.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { apiError, FakeCache } from '../../support/fake-cluster.js';
import { euNode, hub, pod, policy, usNode } from './fixtures.js';

const OURS = { 'app.kubernetes.io/managed-by': 'hdh-operator' };

/** The API server's side: which kinds it serves, the objects of each, and every request. */
class FakeReportApi implements ReportApi {
  readonly servedKinds = new Set<ReportKind>();
  readonly objects = new Map<string, KubernetesObject>();
  readonly requests: string[] = [];
  private uid = 0;

  constructor(private readonly caches: ReadonlyMap<ReportKind, FakeCache<KubernetesObject>>) {}

  private key(kind: ReportKind, namespace: string, name: string) {
    return `${kind.kind}/${namespace}/${name}`;
  }

  served(kind: ReportKind): Promise<boolean> {
    return Promise.resolve(this.servedKinds.has(kind));
  }

  get(kind: ReportKind, namespace: string, name: string): Promise<KubernetesObject | undefined> {
    this.requests.push(`get ${this.key(kind, namespace, name)}`);
    return Promise.resolve(this.objects.get(this.key(kind, namespace, name)));
  }

  apply(kind: ReportKind, report: PolicyReportObject): Promise<void> {
    const key = this.key(kind, report.metadata.namespace, report.metadata.name);
    this.requests.push(`apply ${key}`);
    if (!this.servedKinds.has(kind))
      return Promise.reject(apiError(404, 'the server could not find the resource'));
    const live = this.objects.get(key) as PolicyReportObject | undefined;
    // Server-side apply with force: our fields replace theirs, theirs stay.
    const merged = JSON.parse(
      JSON.stringify({
        ...live,
        ...report,
        metadata: {
          ...live?.metadata,
          ...report.metadata,
          labels: { ...live?.metadata.labels, ...report.metadata.labels },
          uid: live?.metadata?.uid ?? `uid-${++this.uid}`,
        },
      }),
    ) as KubernetesObject;
    this.store(kind, key, merged);
    return Promise.resolve();
  }

  delete(kind: ReportKind, namespace: string, name: string, uid: string | undefined): Promise<void> {
    const key = this.key(kind, namespace, name);
    this.requests.push(`delete ${key}`);
    if (this.objects.get(key)?.metadata?.uid === uid) this.store(kind, key, undefined);
    return Promise.resolve();
  }

  /** What the server holds; the operator's cache (by name and label) follows, as the informer would. */
  store(kind: ReportKind, key: string, obj: KubernetesObject | undefined): void {
    const cache = this.caches.get(kind)!;
    const cacheKey = key.slice(key.indexOf('/') + 1);
    if (obj) this.objects.set(key, obj);
    else this.objects.delete(key);
    const ours =
      obj?.metadata?.name === REPORT_NAME &&
      obj.metadata.labels?.['app.kubernetes.io/managed-by'] === 'hdh-operator';
    if (ours) cache.put(obj);
    else cache.remove(cacheKey);
  }

  writes(): string[] {
    return this.requests.filter((r) => !r.startsWith('get '));
  }
}

function setup(over: Partial<PolicyReportReconcilerDeps> = {}) {
  const hubs = new FakeCache<HealthDataHub>();
  const policies = new FakeCache<SovereigntyPolicy>();
  const nodes = new FakeCache<V1Node>();
  const pods = new FakeCache<V1Pod>(podIndexers);
  const claims = new FakeCache<V1PersistentVolumeClaim>();
  const volumes = new FakeCache<V1PersistentVolume>();
  const storageClasses = new FakeCache<V1StorageClass>();
  const reports = new Map(REPORT_KINDS.map((k) => [k, new FakeCache<KubernetesObject>()]));
  const api = new FakeReportApi(reports);
  const out = new PassThrough();
  let logs = '';
  out.on('data', (b: Buffer) => (logs += b.toString()));
  const enqueued: string[] = [];
  policies.put(policy('eu-hds'));
  nodes.put(euNode('eu-1'));
  nodes.put(usNode('us-1'));
  hubs.put(hub('h', 'research'));
  pods.put(pod('web-0', 'research', 'eu-1'));
  const reconciler = new PolicyReportReconciler({
    hubs,
    policies,
    nodes,
    pods,
    claims,
    volumes,
    storageClasses,
    reports,
    api,
    log: createLogger('info', 'json', out),
    enqueueAll: () => enqueued.push('*'),
    operatorNamespace: 'hdh-system',
    ...over,
  });
  const live = (kind: ReportKind, ns = 'research') =>
    api.objects.get(`${kind.kind}/${ns}/${REPORT_NAME}`) as PolicyReportObject | undefined;
  return { hubs, pods, reports, api, reconciler, live, enqueued, logs: () => logs };
}

describe('the policy report controller', () => {
  it('writes nothing, and asks for nothing, while no report kind is served', async () => {
    const t = setup();
    expect(await t.reconciler.reconcile('research')).toBeUndefined();
    expect(await t.reconciler.reconcile(DISCOVERY_KEY)).toEqual({ requeueAfterMs: DISCOVERY_PERIOD_MS });
    expect(t.api.requests).toEqual([]);
    expect(t.enqueued).toEqual([]);
    // Said once, at info level; never an error.
    expect(t.logs().match(/no report kind is served/g)).toHaveLength(1);
    expect(t.logs()).not.toMatch(/"level":"(error|warn)"/);
  });

  it('starts writing once a kind is served (checked every minute), then only on a change', async () => {
    const t = setup();
    await t.reconciler.reconcile(DISCOVERY_KEY);
    t.api.servedKinds.add(POLICY_REPORT);
    await t.reconciler.reconcile(DISCOVERY_KEY);
    expect(t.enqueued).toEqual(['*']);
    await t.reconciler.reconcile('research');
    expect(t.api.writes()).toEqual([`apply PolicyReport/research/${REPORT_NAME}`]);
    expect(t.live(POLICY_REPORT)?.summary).toEqual({ pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });

    // At rest: no write.
    await t.reconciler.reconcile('research');
    expect(t.api.writes()).toHaveLength(1);
    // A pod moves outside the policy: the report follows.
    t.pods.put(pod('web-1', 'research', 'us-1'));
    await t.reconciler.reconcile('research');
    expect(t.api.writes()).toHaveLength(2);
    expect(t.live(POLICY_REPORT)?.summary).toMatchObject({ pass: 1, fail: 1 });
  });

  it('prefers Report when both kinds are served, and deletes its PolicyReport then', async () => {
    const t = setup();
    t.api.servedKinds.add(POLICY_REPORT);
    await t.reconciler.reconcile('research');
    t.api.servedKinds.add(OPEN_REPORT);
    await t.reconciler.reconcile(DISCOVERY_KEY);
    await t.reconciler.reconcile('research');
    expect(t.live(OPEN_REPORT)?.kind).toBe('Report');
    expect(t.live(POLICY_REPORT)).toBeUndefined();
    expect(t.api.writes()).toEqual([
      `apply PolicyReport/research/${REPORT_NAME}`,
      `delete PolicyReport/research/${REPORT_NAME}`,
      `apply Report/research/${REPORT_NAME}`,
    ]);
  });

  it("deletes its report from a namespace whose last hub went, never another's", async () => {
    const t = setup();
    t.api.servedKinds.add(OPEN_REPORT);
    await t.reconciler.reconcile('research');
    // A tenant's report of the same name in another namespace, without our label.
    t.api.store(OPEN_REPORT, `Report/other/${REPORT_NAME}`, {
      apiVersion: 'openreports.io/v1alpha1',
      kind: 'Report',
      metadata: { name: REPORT_NAME, namespace: 'other', uid: 'theirs' },
    });
    t.hubs.remove('research/h');
    await t.reconciler.reconcile('research');
    await t.reconciler.reconcile('other');
    expect(t.live(OPEN_REPORT)).toBeUndefined();
    expect(t.live(OPEN_REPORT, 'other')?.metadata?.uid).toBe('theirs');
    expect(t.api.writes()).toEqual([
      `apply Report/research/${REPORT_NAME}`,
      `delete Report/research/${REPORT_NAME}`,
    ]);
  });

  it('restores its report after an edit, and replaces an object of its name carrying foreign fields', async () => {
    const t = setup();
    t.api.servedKinds.add(OPEN_REPORT);
    // Made first by a tenant, unlabelled, with a scope and a filter hiding failures.
    t.api.store(OPEN_REPORT, `Report/research/${REPORT_NAME}`, {
      apiVersion: 'openreports.io/v1alpha1',
      kind: 'Report',
      metadata: { name: REPORT_NAME, namespace: 'research', uid: 'planted' },
      scope: { kind: 'Namespace', name: 'research' },
      configuration: { limits: { statusFilter: ['pass'] } },
    } as KubernetesObject);
    await t.reconciler.reconcile('research');
    expect(t.api.writes()).toEqual([
      `delete Report/research/${REPORT_NAME}`,
      `apply Report/research/${REPORT_NAME}`,
    ]);
    const mine = t.live(OPEN_REPORT)!;
    expect(mine.metadata.uid).not.toBe('planted');
    expect(Object.keys(mine).sort()).toEqual([
      'apiVersion',
      'kind',
      'metadata',
      'results',
      'source',
      'summary',
    ]);
    expect(mine.metadata.labels).toEqual(OURS);

    // An edit of ours (a failure turned into a pass, say) is undone by the next reconcile.
    const edited = JSON.parse(JSON.stringify(mine)) as PolicyReportObject;
    edited.summary.pass = 99;
    t.api.store(OPEN_REPORT, `Report/research/${REPORT_NAME}`, edited);
    await t.reconciler.reconcile('research');
    expect(t.live(OPEN_REPORT)?.summary.pass).toBe(1);
  });

  it('asks the API server once per reconcile for a node its cache lacks, however many pods name it', async () => {
    const asked: string[] = [];
    const t = setup({
      liveNode: (name) => {
        asked.push(name);
        return Promise.resolve(name === 'late' ? euNode('late') : undefined);
      },
    });
    t.api.servedKinds.add(OPEN_REPORT);
    for (const name of ['a-0', 'a-1', 'a-2']) t.pods.put(pod(name, 'research', 'ghost'));
    for (const name of ['b-0', 'b-1']) t.pods.put(pod(name, 'research', 'late'));
    await t.reconciler.reconcile('research');
    expect(asked.sort()).toEqual(['ghost', 'late']);
    // The next reconcile asks again: a node may have appeared meanwhile.
    await t.reconciler.reconcile('research');
    expect(asked).toHaveLength(4);
    expect(t.live(OPEN_REPORT)?.summary).toMatchObject({ pass: 3 });
  });

  it('writes nothing for a hub in a system namespace', async () => {
    const t = setup();
    t.api.servedKinds.add(OPEN_REPORT);
    t.hubs.put(hub('h', 'kube-system'));
    t.pods.put(pod('p', 'kube-system', 'us-1'));
    await t.reconciler.reconcile('kube-system');
    await t.reconciler.reconcile('hdh-system');
    expect(t.api.writes()).toEqual([]);
  });

  it('takes a CRD removed since the last discovery in its stride: no error, nothing retried', async () => {
    const t = setup();
    t.api.servedKinds.add(OPEN_REPORT);
    await t.reconciler.reconcile(DISCOVERY_KEY);
    t.api.servedKinds.delete(OPEN_REPORT);
    await expect(t.reconciler.reconcile('research')).resolves.toBeUndefined();
    // Discovered again on the way: the next reconcile asks for nothing.
    const before = t.api.requests.length;
    await t.reconciler.reconcile('research');
    expect(t.api.requests.length).toBe(before);
  });
});
