// Attacks on the removal of pods found outside their policy, made as a tenant would make them (the
// admin of one hub's namespace): a PodDisruptionBudget that refuses every eviction, and a grace
// period of a day, before or after the pod is deleted. The node leaves the policy because the
// test's admin relabels it, as a platform mistake or a moved machine would; every label is put
// back whatever happens. The simulated kubelet honours grace periods for pods annotated
// devcluster.hdh.sovereign.eu/ignores-sigterm (hack/devcluster/kwok-stages), as a real kubelet
// does for a container that ignores SIGTERM: such a pod stays until its grace period ends.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEALTH_DATA_HUB, LABEL_HUB } from '../../../src/api/index.js';
import { PlacementMetrics } from '../../../src/placement/metrics.js';
import { maxEvictionRequests } from '../../../src/placement/remediation.js';
import { Evictor } from '../../../src/placement/evictor.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  getHub,
  hubCondition,
  hubManifest,
  patchHub,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { metricValue } from '../../support/metrics.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import {
  createPolicy,
  deletePolicy,
  hubEvents,
  namespaceHeld,
  NodeRelabeller,
} from '../../support/placement.js';
import { tenantAdmin } from '../../support/tenant.js';
import { eventually } from '../../support/wait.js';

const COMPLIANT = new Set(['eu-fr-par-1', 'eu-fr-par-2', 'eu-de-fra-1']);
const REGIONS = ['fr-par', 'eu-west-3', 'de-fra'];
const EVICTION_TIMEOUT_S = 20;
const MAX_GRACE_S = 5;
const A_DAY = 86_400;
const IGNORES_SIGTERM = { 'devcluster.hdh.sovereign.eu/ignores-sigterm': 'true' };

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const relabel = new NodeRelabeller(kc);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const custom = (from: KubeConfig = kc) => from.makeApiClient(CustomObjectsApi);

/** eu-hds, with the remediation bounds stated short enough for a test. */
const policySpec = {
  regions: REGIONS,
  nodeSelectorRequirements: [
    { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
    { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
  ],
  remediation: { evictionTimeout: `${EVICTION_TIMEOUT_S}s`, maxGracePeriodSeconds: MAX_GRACE_S },
};

/** The pod, once Running on a compliant node. */
async function runningOnCompliantNode(namespace: string, name: string): Promise<V1Pod> {
  return eventually(
    `pod ${name} Running on a compliant node`,
    async () => {
      const p = await core.readNamespacedPod({ namespace, name });
      if (p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) return undefined;
      if (!COMPLIANT.has(p.spec!.nodeName!)) throw new Error(`pod ${name} on ${p.spec!.nodeName}`);
      return p;
    },
    60_000,
    100,
  );
}

interface Departure {
  /** ms from t0 to the first read showing a deletionTimestamp (undefined: never seen). */
  terminating?: number;
  deletionGracePeriodSeconds?: number;
  /** ms from t0 to the first read finding the pod gone (undefined: still there at the timeout). */
  gone?: number;
}

/** Follows one pod (by UID) every 100 ms from t0 until it is gone or `timeoutMs` has passed. */
async function followDeparture(
  namespace: string,
  name: string,
  uid: string,
  t0: number,
  timeoutMs: number,
  whileTerminating?: () => Promise<void>,
): Promise<Departure> {
  const d: Departure = {};
  let checked = false;
  while (Date.now() - t0 < timeoutMs) {
    const p = await core.readNamespacedPod({ namespace, name }).catch((e: { code?: number }) => {
      if (e.code === 404) return undefined;
      throw e;
    });
    if (!p || p.metadata?.uid !== uid) {
      d.gone = Date.now() - t0;
      return d;
    }
    if (p.metadata?.deletionTimestamp && d.terminating === undefined) {
      d.terminating = Date.now() - t0;
      d.deletionGracePeriodSeconds = p.metadata.deletionGracePeriodSeconds;
    }
    if (p.metadata?.deletionTimestamp && whileTerminating && !checked) {
      checked = true;
      await whileTerminating();
    }
    await sleep(100);
  }
  return d;
}

/** A bare pod of the tenant's (its placement is injected by the admission). */
async function tenantPod(
  tenant: KubeConfig,
  namespace: string,
  name: string,
  over: { annotations?: Record<string, string>; grace?: number; nodeName?: string } = {},
): Promise<V1Pod> {
  await tenant.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace,
    body: {
      metadata: {
        name,
        labels: { app: name },
        ...(over.annotations ? { annotations: over.annotations } : {}),
      },
      spec: {
        ...(over.grace !== undefined ? { terminationGracePeriodSeconds: over.grace } : {}),
        ...(over.nodeName ? { nodeName: over.nodeName } : {}),
        containers: [{ name: 'c', image: 'registry.example.eu/app:1' }],
      },
    },
  });
  return runningOnCompliantNode(namespace, name);
}

async function metrics(op: OperatorProcess) {
  const text = await op.metrics();
  return {
    blocked: metricValue(text, 'hdh_placement_evictions_total', { result: 'blocked' }),
    evictions: metricValue(text, 'hdh_placement_evictions_total'),
    timeoutDeletions: metricValue(text, 'hdh_placement_deletions_total', { reason: 'EvictionTimeout' }),
    graceDeletions: metricValue(text, 'hdh_placement_deletions_total', { reason: 'GracePeriodCapped' }),
  };
}

function report(line: string): void {
  process.stderr.write(`remediation: ${line}\n`);
}

/**
 * A fresh namespace held to its own bounded policy, an operator watching it, and the hub its
 * tenant (a namespace admin) created there.
 */
async function tenantHub(prefix: string, hubName: string) {
  const ns = await prepareHubNamespace(kc, prefix);
  const policy = `${ns}-bounded`;
  await createPolicy(kc, policy, policySpec);
  const op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
  const tenant = await tenantAdmin(ns);
  await createHub(tenant, hubManifest(hubName, ns, policy));
  await namespaceHeld(kc, ns, policy, REGIONS);
  return { ns, policy, op, tenant };
}

describe('removal of pods outside the policy, against a tenant', () => {
  const hubName = 'target';
  let ns: string;
  let policy: string;
  let op: OperatorProcess;
  let tenant: KubeConfig;

  beforeAll(async () => {
    ({ ns, policy, op, tenant } = await tenantHub('adv-remed', hubName));
  }, 120_000);
  afterEach(async () => {
    await relabel.restore();
  });
  afterAll(async () => {
    await relabel.restore();
    await op?.stop();
    await deletePolicy(kc, policy);
  });

  it('deletes a pod that a tenant PodDisruptionBudget holds on a node outside the policy, after evictionTimeout, with backoff meanwhile', async () => {
    const apps = tenant.makeApiClient(AppsV1Api);
    const budgets = tenant.makeApiClient(PolicyV1Api);
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'held' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'held' } },
          template: {
            metadata: { labels: { app: 'held' } },
            spec: { containers: [{ name: 'c', image: 'registry.example.eu/app:1' }] },
          },
        },
      },
    });
    await budgets.createNamespacedPodDisruptionBudget({
      namespace: ns,
      body: {
        metadata: { name: 'never' },
        spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'held' } } },
      },
    });
    const pod = await eventually(
      'the held pod Running',
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=held' });
        const p = list.items.find((x) => x.status?.phase === 'Running' && !x.metadata?.deletionTimestamp);
        return p && COMPLIANT.has(p.spec!.nodeName!) ? p : undefined;
      },
      60_000,
    );
    await eventually(
      'the budget computed (no disruption allowed)',
      async () => {
        const pdb = await budgets.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'never' });
        return (
          pdb.status?.observedGeneration === pdb.metadata?.generation &&
          pdb.status?.expectedPods === 1 &&
          pdb.status?.disruptionsAllowed === 0
        );
      },
      30_000,
    );
    const name = pod.metadata!.name!;
    const node = pod.spec!.nodeName!;
    // The tenant also churns events in its namespace (a pod's hub label toggled every 200 ms), each of
    // which wakes the hub: a backoff that only delays the next requeue is no backoff at all.
    await tenantPod(tenant, ns, 'bystander', { nodeName: [...COMPLIANT].find((n) => n !== node) });
    let churning = true;
    let churned = 0;
    let churnError: string | undefined;
    const churn = (async () => {
      const tcore = tenant.makeApiClient(CoreV1Api);
      for (let i = 0; churning; i++) {
        await tcore
          .patchNamespacedPod(
            {
              namespace: ns,
              name: 'bystander',
              body: { metadata: { labels: { [LABEL_HUB]: i % 2 ? hubName : null } } },
            },
            mergePatch,
          )
          .then(() => churned++)
          .catch((e: unknown) => (churnError ??= String(e)));
        await sleep(200);
      }
    })();
    const before = await metrics(op);

    const t0 = Date.now();
    await relabel.setRegion(node, 'us-east-1');
    const d = await followDeparture(
      ns,
      name,
      pod.metadata!.uid!,
      t0,
      (EVICTION_TIMEOUT_S + 30) * 1000,
    ).finally(() => (churning = false));
    await churn;
    const after = await metrics(op);
    const refused = after.blocked - before.blocked;
    report(
      `blocking PDB, evictionTimeout ${EVICTION_TIMEOUT_S}s, ${churned} tenant pod updates meanwhile: pod terminating ` +
        `after ${d.terminating} ms, gone after ${d.gone} ms; ${refused} refused eviction requests ` +
        `(bound ${maxEvictionRequests(EVICTION_TIMEOUT_S * 1000)}); ${after.timeoutDeletions - before.timeoutDeletions} deletion(s)` +
        (churnError ? `; churn: ${churnError.slice(0, 300)}` : ''),
    );
    // Gone within the bound the policy states, and not before: the budget was honoured until then.
    expect(d.gone).toBeDefined();
    expect(d.gone!).toBeLessThanOrEqual((EVICTION_TIMEOUT_S + 10) * 1000);
    expect(d.terminating ?? d.gone!).toBeGreaterThanOrEqual(EVICTION_TIMEOUT_S * 1000 - 500);
    // Refusals back off (counted, bounded), then one deletion.
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(maxEvictionRequests(EVICTION_TIMEOUT_S * 1000));
    expect(after.timeoutDeletions - before.timeoutDeletions).toBe(1);
    // Said once, not once per refusal.
    const refusalLines = op
      .output()
      .split('\n')
      .filter((l) => l.includes('eviction refused') && l.includes(name));
    expect(refusalLines.length).toBeLessThanOrEqual(1);
    const events = await eventually(
      'PodDeleted Event',
      async () => {
        const all = await hubEvents(kc, ns, hubName);
        return all.some((e) => e.reason === 'PodDeleted') ? all : undefined;
      },
      10_000,
    );
    const deleted = events.find((e) => e.reason === 'PodDeleted')!;
    expect(deleted.note).toContain(`pod ${name} on node ${node}`);
    expect(deleted.note).toContain(`evictionTimeout ${EVICTION_TIMEOUT_S}s of SovereigntyPolicy ${policy}`);
    const blocked = events.filter((e) => e.reason === 'EvictionBlocked' && e.note?.includes(name));
    expect(blocked).toHaveLength(1);
    expect(blocked[0]!.series?.count ?? 1).toBe(1);

    // The replacement runs on a compliant node, and the hub is compliant again.
    await relabel.restore();
    await eventually(
      'replacement Running on a compliant node',
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=held' });
        return list.items.some(
          (x) =>
            x.status?.phase === 'Running' && x.metadata?.name !== name && COMPLIANT.has(x.spec!.nodeName!),
        );
      },
      60_000,
    );
    await waitForHubCondition(kc, ns, hubName, 'PlacementCompliant', { status: 'True' }, 30_000);
    await budgets.deleteNamespacedPodDisruptionBudget({ namespace: ns, name: 'never' });
    await core.deleteNamespacedPod({ namespace: ns, name: 'bystander' });
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'held' });
  }, 180_000);

  it('caps a grace period of a day when it evicts, and reports the terminating pod until it is gone', async () => {
    const pod = await tenantPod(tenant, ns, 'stubborn', { annotations: IGNORES_SIGTERM, grace: A_DAY });
    const name = pod.metadata!.name!;
    const node = pod.spec!.nodeName!;
    let whileTerminating: { violations: string[]; condition?: string; metric: number } | undefined;

    const t0 = Date.now();
    await relabel.setRegion(node, 'us-east-1');
    const d = await followDeparture(ns, name, pod.metadata!.uid!, t0, (MAX_GRACE_S + 30) * 1000, async () => {
      // Terminating, still on the node outside the policy: still a violation.
      await sleep(1500);
      const hub = await getHub(kc, ns, hubName);
      whileTerminating = {
        violations: (hub.status?.placement?.violations ?? []).map((v) => v.pod),
        condition: hubCondition(hub, 'PlacementCompliant')?.status,
        metric: metricValue(await op.metrics(), 'hdh_placement_violations', { namespace: ns, hub: hubName }),
      };
    });
    report(
      `grace period ${A_DAY}s, maxGracePeriodSeconds ${MAX_GRACE_S}: evicted (terminating) after ${d.terminating} ms ` +
        `with deletionGracePeriodSeconds ${d.deletionGracePeriodSeconds}, gone after ${d.gone} ms`,
    );
    expect(d.deletionGracePeriodSeconds).toBe(MAX_GRACE_S);
    expect(d.gone).toBeDefined();
    expect(d.gone!).toBeLessThanOrEqual((MAX_GRACE_S + 10) * 1000);
    // The grace period was really waited out, not skipped by the simulated kubelet.
    expect(d.gone! - d.terminating!).toBeGreaterThanOrEqual(MAX_GRACE_S * 1000 - 1500);
    expect(whileTerminating).toEqual({ violations: [name], condition: 'False', metric: 1 });
    await waitForHubCondition(kc, ns, hubName, 'PlacementCompliant', { status: 'True' }, 30_000);
  }, 120_000);

  it('shortens the day-long grace period of a pod the tenant deleted, once its node leaves the policy', async () => {
    const pod = await tenantPod(tenant, ns, 'lingering', { annotations: IGNORES_SIGTERM, grace: A_DAY });
    const name = pod.metadata!.name!;
    const node = pod.spec!.nodeName!;
    const before = await metrics(op);
    // The tenant deletes it with a day to go: it keeps running, terminating.
    await tenant
      .makeApiClient(CoreV1Api)
      .deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: A_DAY });
    await sleep(1000);
    const leaving = await core.readNamespacedPod({ namespace: ns, name });
    expect(leaving.metadata?.deletionGracePeriodSeconds).toBe(A_DAY);

    const t0 = Date.now();
    await relabel.setRegion(node, 'us-east-1');
    const d = await followDeparture(ns, name, pod.metadata!.uid!, t0, (MAX_GRACE_S + 30) * 1000);
    const after = await metrics(op);
    report(`already terminating with ${A_DAY}s to go: gone ${d.gone} ms after its node left the policy`);
    expect(d.gone).toBeDefined();
    expect(d.gone!).toBeLessThanOrEqual((MAX_GRACE_S + 10) * 1000);
    expect(after.graceDeletions - before.graceDeletions).toBe(1);
    expect(after.evictions - before.evictions).toBe(0);
    const events = await eventually(
      'GracePeriodShortened Event',
      async () => {
        const all = await hubEvents(kc, ns, hubName);
        return all.find((e) => e.reason === 'GracePeriodShortened' && e.note?.includes(name));
      },
      10_000,
    );
    expect(events.note).toContain(`grace period of ${A_DAY}s`);
    await waitForHubCondition(kc, ns, hubName, 'PlacementCompliant', { status: 'True' }, 30_000);
  }, 120_000);
});

describe('a tenant that would stop the removals in its namespace', () => {
  const hubName = 'lever';
  let ns: string;
  let policy: string;
  let op: OperatorProcess;
  let tenant: KubeConfig;

  beforeAll(async () => {
    ({ ns, policy, op, tenant } = await tenantHub('adv-lever', hubName));
  }, 120_000);
  afterEach(async () => {
    await relabel.restore();
  });
  afterAll(async () => {
    await relabel.restore();
    await custom()
      .patchNamespacedCustomObject(
        { ...HEALTH_DATA_HUB, namespace: ns, name: hubName, body: { metadata: { finalizers: null } } },
        mergePatch,
      )
      .catch(() => undefined);
    await op?.stop();
    await deletePolicy(kc, policy);
  });

  /** Relabels the pod's node out of the policy; the pod must be gone within `withinMs`. */
  async function removedOnceOutside(pod: V1Pod, withinMs: number): Promise<Departure> {
    const t0 = Date.now();
    await relabel.setRegion(pod.spec!.nodeName!, 'us-east-1');
    const d = await followDeparture(ns, pod.metadata!.name!, pod.metadata!.uid!, t0, withinMs);
    await relabel.restore();
    return d;
  }

  it('points the hub at a region without nodes, or outside the policy: pods outside the policy are still removed', async () => {
    // A region of the policy where no node is, then one the policy does not allow (RegionNotAllowed).
    for (const [i, regions] of [['eu-west-3'], ['zz-nowhere']].entries()) {
      await patchHub(tenant, ns, hubName, { spec: { placement: { regions } } });
      await eventually(
        `hub reconciled with placement.regions ${regions.join(',')}`,
        async () => {
          const hub = await getHub(kc, ns, hubName);
          return hub.status?.observedGeneration === hub.metadata.generation;
        },
        30_000,
        200,
      );
      const pod = await tenantPod(tenant, ns, `exfil-${i}`);
      const d = await removedOnceOutside(pod, 15_000);
      report(
        `hub placement.regions [${regions.join(', ')}]: pod outside the policy terminating after ${d.terminating} ms, gone after ${d.gone} ms`,
      );
      expect(d.terminating ?? d.gone).toBeDefined();
      expect(d.terminating ?? d.gone!).toBeLessThanOrEqual(10_000);
    }
    await patchHub(tenant, ns, hubName, { spec: { placement: null } });
  }, 120_000);

  it('holds the hub in deletion with its own finalizer, then lets it go with its claim retained: pods are still removed', async () => {
    const ours = await eventually(
      'finalizer on the hub',
      async () => (await getHub(kc, ns, hubName)).metadata.finalizers,
      30_000,
    );
    // The hub's claim (named for it, as its StatefulSet would make it): retained at deletion.
    await tenant.makeApiClient(CoreV1Api).createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: `data-${hubName}-0` },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'encrypted-eu',
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    // The tenant's own finalizer, then the deletion: the hub stays, being deleted, as long as it likes.
    await patchHub(tenant, ns, hubName, { metadata: { finalizers: [...ours, 'tenant.example/hold'] } });
    await custom(tenant).deleteNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace: ns, name: hubName });
    await eventually(
      'the operator done with the deletion (only the tenant finalizer left)',
      async () => {
        const hub = await getHub(kc, ns, hubName);
        return (
          !!hub.metadata.deletionTimestamp &&
          JSON.stringify(hub.metadata.finalizers) === JSON.stringify(['tenant.example/hold'])
        );
      },
      60_000,
      300,
    );
    const held = await tenantPod(tenant, ns, 'while-deleting');
    const relabelled = Date.now();
    const d = await removedOnceOutside(held, 15_000);
    const hub = await getHub(kc, ns, hubName);
    report(`hub held in deletion: pod terminating after ${d.terminating} ms, gone after ${d.gone} ms`);
    expect(d.terminating ?? d.gone).toBeDefined();
    expect(d.terminating ?? d.gone!).toBeLessThanOrEqual(10_000);
    // Its status still follows the audit: the verdict changed (violation, then none) since the relabel.
    expect(Date.parse(hub.status!.placement!.lastAuditTime!)).toBeGreaterThanOrEqual(relabelled - 1000);

    // Let it go: its claim is retained, so the namespace stays held to the policy, hub or not.
    await patchHub(tenant, ns, hubName, { metadata: { finalizers: null } });
    await eventually(
      'hub gone',
      async () =>
        getHub(kc, ns, hubName).then(
          () => false,
          () => true,
        ),
      30_000,
      300,
    );
    const retained = await core.readNamespacedPersistentVolumeClaim({
      namespace: ns,
      name: `data-${hubName}-0`,
    });
    expect(retained.metadata?.labels?.['hdh.sovereign.eu/retained-from']).toBeDefined();
    await namespaceHeld(kc, ns, policy, REGIONS);
    const orphan = await tenantPod(tenant, ns, 'after-deletion');
    const e = await removedOnceOutside(orphan, 15_000);
    report(`hub gone, claim retained: pod terminating after ${e.terminating} ms, gone after ${e.gone} ms`);
    expect(e.terminating ?? e.gone).toBeDefined();
    expect(e.terminating ?? e.gone!).toBeLessThanOrEqual(10_000);
  }, 180_000);
});

describe('pods in system namespaces', () => {
  const suffix = Date.now().toString(36);
  const policy = `system-ns-${suffix}`;
  const pinned = `adv-pinned-${suffix}`;
  const custom = kc.makeApiClient(CustomObjectsApi);
  let op: OperatorProcess | undefined;

  afterAll(async () => {
    await relabel.restore();
    await custom
      .patchNamespacedCustomObject({
        ...HEALTH_DATA_HUB,
        namespace: 'kube-system',
        name: 'intruder',
        body: [{ op: 'remove', path: '/metadata/finalizers' }],
      })
      .catch(() => undefined);
    await custom
      .deleteNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace: 'kube-system', name: 'intruder' })
      .catch(() => undefined);
    await op?.stop();
    for (const namespace of ['kube-system', 'hdh-system']) {
      await core
        .deleteNamespacedPod({ namespace, name: pinned, gracePeriodSeconds: 0 })
        .catch(() => undefined);
    }
    await deletePolicy(kc, policy);
  });

  it('are never evicted or deleted by the remediation, whatever a hub or its policy says', async () => {
    await prepareHubNamespace(kc, 'adv-sysns');
    await createPolicy(kc, policy, {
      ...policySpec,
      remediation: { evictionTimeout: '0s', maxGracePeriodSeconds: 1 },
    });
    // A pod of the cluster's own, and one in the operator's namespace, on a node outside the policy.
    for (const namespace of ['kube-system', 'hdh-system']) {
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: pinned },
          spec: {
            nodeName: 'eu-fr-par-2',
            containers: [{ name: 'c', image: 'registry.example.eu/agent:1' }],
          },
        },
      });
    }
    await relabel.setRegion('eu-fr-par-2', 'us-east-1');

    // The remediation itself refuses, asked directly with a step that would delete at once.
    const evictor = new Evictor(new ApiClients(kc).make(CoreV1Api), new PlacementMetrics(new Registry()), {
      operatorNamespace: 'hdh-system',
    });
    for (const namespace of ['kube-system', 'hdh-system']) {
      const p = await core.readNamespacedPod({ namespace, name: pinned });
      expect(evictor.plan(p, { evictionTimeoutMs: 0, maxGracePeriodSeconds: 1 })).toMatchObject({
        action: 'spare',
      });
      for (const step of [
        { action: 'evict', gracePeriodSeconds: 1 } as const,
        { action: 'delete', gracePeriodSeconds: 1, reason: 'EvictionTimeout' } as const,
      ]) {
        expect((await evictor.carryOut(p, step)).result).toBe('error');
      }
    }

    // Through the operator: a hub in kube-system under a policy that deletes at once.
    op = await startOperatorProcess([
      '--namespace=kube-system',
      '--leader-elect=false',
      '--operator-namespace=hdh-system',
    ]);
    await createHub(kc, hubManifest('intruder', 'kube-system', policy));
    await sleep(8000);
    for (const namespace of ['kube-system', 'hdh-system']) {
      const p = await core.readNamespacedPod({ namespace, name: pinned });
      expect(p.metadata?.deletionTimestamp).toBeUndefined();
    }
    const m = await metrics(op);
    expect(m.evictions + m.timeoutDeletions + m.graceDeletions).toBe(0);
  }, 120_000);
});
