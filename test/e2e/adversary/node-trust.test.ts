// Node trust, tried as those who could abuse it: a kubelet labelling its own Node into an allowed
// region, a careless platform admin labelling fr-par a machine whose providerID says us-east-1
// (and putting the only volume of a class on it), and tenants creating hubs in namespaces that
// belong to Kubernetes or to the operator.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  StorageV1Api,
  type KubeConfig,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FINALIZER,
  getCondition,
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import { renderNode } from '../../../src/devcluster/nodes.js';
import { localVolume, noProvisionerClass } from '../../../src/devcluster/storage.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteHubAndWait,
  deleteNamespaceAndWait,
  getHub,
  hubCondition,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { metricValue } from '../../support/metrics.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { deletePolicy, hubEvents } from '../../support/placement.js';
import { kubeletOf, tenantAdmin } from '../../support/tenant.js';
import { eventually } from '../../support/wait.js';
import { recordWatch } from '../../support/watch.js';

const REGION = 'topology.kubernetes.io/region';
const ZONE = 'topology.kubernetes.io/zone';
const JURISDICTION = 'sovereign.node-restriction.kubernetes.io/jurisdiction';
const HDS = 'sovereign.node-restriction.kubernetes.io/hds';
const REGION_PIN = 'sovereign.node-restriction.kubernetes.io/region';
const OPERATOR_NAMESPACE = 'hdh-system';
const POLICY_LABEL = 'policy.hdh.sovereign.eu/eu-hds';
const suffix = Date.now().toString(36);
const FIXTURE = { 'test.hdh.sovereign.eu/node-trust': suffix };

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A simulated node (kwok keeps it Ready), with the providerID a cloud controller would set. */
async function createNode(name: string, labels: Record<string, string>, providerID?: string): Promise<void> {
  const node: V1Node = renderNode({ name, labels: { ...labels, ...FIXTURE } });
  if (providerID) node.spec = { ...node.spec, providerID };
  await core.createNode({ body: node });
  await eventually(
    `node ${name} Ready`,
    async () =>
      (await core.readNode({ name })).status?.conditions?.some(
        (c) => c.type === 'Ready' && c.status === 'True',
      ),
    30_000,
    200,
  );
}

async function getPolicy(name: string): Promise<SovereigntyPolicy> {
  return (await custom.getClusterCustomObject({ ...SOVEREIGNTY_POLICY, name })) as SovereigntyPolicy;
}

async function eligibleNodes(policy: string, want: (n: number) => boolean): Promise<number> {
  return eventually(
    `SovereigntyPolicy ${policy} eligibleNodes`,
    async () => {
      const n = (await getPolicy(policy)).status?.eligibleNodes;
      return n !== undefined && want(n) ? n : undefined;
    },
    30_000,
    200,
  );
}

/** The API server's refusal of a request: its HTTP code and message. */
async function refusal(p: Promise<unknown>): Promise<{ code?: number; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; body?: unknown };
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    return { code: err.code, message: body };
  }
  throw new Error('the request was accepted');
}

const patchLabels = (client: CoreV1Api, name: string, labels: Record<string, string>) =>
  client.patchNode({ name, body: { metadata: { labels } } }, mergePatch);

describe('node trust, against a kubelet, a careless platform admin and hubs in system namespaces', () => {
  let ns: string;
  let op: OperatorProcess;
  const regionOnly = `adv-region-only-${suffix}`;
  const franceAnchoredEu = `adv-fr-anchored-eu-${suffix}`;
  const francePinned = `adv-fr-pinned-${suffix}`;
  const mislabelledClass = `adv-mislabelled-${suffix}`;
  const nodes: string[] = [];

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'adv-node-trust');
    op = await startOperatorProcess(['--leader-elect=false', `--operator-namespace=${OPERATOR_NAMESPACE}`]);
  });

  afterAll(async () => {
    if (ns && op) {
      const hubs = (await custom.listNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace: ns })) as {
        items: HealthDataHub[];
      };
      for (const h of hubs.items) await deleteHubAndWait(kc, ns, h.metadata.name!);
    }
    for (const namespace of ['kube-public', OPERATOR_NAMESPACE]) {
      await deleteHubAndWait(kc, namespace, `adv-sys-${suffix}`);
    }
    await op?.stop();
    if (ns) await deleteNamespaceAndWait(kc, ns);
    for (const name of [regionOnly, franceAnchoredEu, francePinned]) {
      await deletePolicy(kc, name);
    }
    for (const name of nodes) await core.deleteNode({ name }).catch(() => undefined);
    for (const namespace of ['kube-public', OPERATOR_NAMESPACE]) {
      for (const binding of ['tenant-admin', 'tenant-hdh-test-tenant-hubs']) {
        await kc
          .makeApiClient(RbacAuthorizationV1Api)
          .deleteNamespacedRoleBinding({ name: binding, namespace })
          .catch(() => undefined);
      }
    }
    const pvs = await core.listPersistentVolume({
      labelSelector: `test.hdh.sovereign.eu/node-trust=${suffix}`,
    });
    for (const pv of pvs.items)
      await core.deletePersistentVolume({ name: pv.metadata!.name! }).catch(() => undefined);
    await kc
      .makeApiClient(StorageV1Api)
      .deleteStorageClass({ name: mislabelledClass })
      .catch(() => undefined);
  });

  it('a kubelet relabels its own region into the policy: a region-only policy reports NodeLabelsTrusted=False', async () => {
    // A US machine as the platform registered it, and one whose providerID its cloud set.
    const rogue = `adv-us-rogue-${suffix}`;
    const pinned = `adv-us-pinned-${suffix}`;
    const us = { [REGION]: 'us-east-1', [ZONE]: 'us-east-1a', [JURISDICTION]: 'US' };
    await createNode(rogue, us);
    nodes.push(rogue);
    await createNode(pinned, us, `aws:///us-east-1a/i-${suffix}`);
    nodes.push(pinned);
    await custom.createClusterCustomObject({
      ...SOVEREIGNTY_POLICY,
      body: {
        apiVersion: SOVEREIGNTY_POLICY.apiVersion,
        kind: SOVEREIGNTY_POLICY.kind,
        metadata: { name: regionOnly },
        spec: { regions: ['fr-par'] },
      },
    });
    const before = await eligibleNodes(regionOnly, () => true);
    const anchoredBefore = await eligibleNodes('eu-hds', () => true);

    // The pinned node's kubelet: its providerID is immutable, and the region it claims is checked
    // against it.
    const pinnedKubelet = kubeletOf(pinned).makeApiClient(CoreV1Api);
    const rewrite = await refusal(
      pinnedKubelet.patchNode(
        { name: pinned, body: { spec: { providerID: 'aws:///eu-west-3a/i-1' } } },
        mergePatch,
      ),
    );
    expect(rewrite.code).toBe(422);
    expect(rewrite.message).toContain('may not change providerID');
    await patchLabels(pinnedKubelet, pinned, { [REGION]: 'fr-par', [ZONE]: 'fr-par-1' });

    // The rogue node's kubelet: NodeRestriction lets it set its region and its still empty
    // providerID, not a node-restriction label.
    const kubelet = kubeletOf(rogue).makeApiClient(CoreV1Api);
    await patchLabels(kubelet, rogue, { [REGION]: 'fr-par', [ZONE]: 'fr-par-1' });
    await kubelet.patchNode(
      { name: rogue, body: { spec: { providerID: `scaleway://instance/fr-par-1/${rogue}` } } },
      mergePatch,
    );
    const restricted = await refusal(patchLabels(kubelet, rogue, { [JURISDICTION]: 'EU' }));
    expect(restricted.code).toBe(403);
    expect(restricted.message).toContain(`is not allowed to modify labels: ${JURISDICTION}`);
    const live = await core.readNode({ name: rogue });
    expect(live.metadata?.labels).toMatchObject({ [REGION]: 'fr-par', [JURISDICTION]: 'US' });

    // The region-only policy says it cannot be trusted...
    const trusted = await eventually(
      `${regionOnly} NodeLabelsTrusted`,
      async () => getCondition((await getPolicy(regionOnly)).status?.conditions, 'NodeLabelsTrusted'),
      30_000,
      200,
    );
    expect(trusted).toMatchObject({ status: 'False', reason: 'SelfAssertableLabels' });
    expect(trusted.message).toContain(REGION);
    // ... and rightly: the rogue node now qualifies for it (the pinned one does not: its providerID
    // contradicts its new label).
    expect(await eligibleNodes(regionOnly, (n) => n >= before + 1)).toBe(before + 1);
    await sleep(1500);
    expect((await getPolicy(regionOnly)).status?.eligibleNodes).toBe(before + 1);
    // A policy anchored on a label only the platform sets does not count it.
    expect((await getPolicy('eu-hds')).status?.eligibleNodes).toBe(anchoredBefore);
  });

  it('a kubelet of an EU node in de-fra relabels its own region fr-par: a France-only policy anchored on EU reports NodeLabelsTrusted=False', async () => {
    const node = `adv-de-rogue-${suffix}`;
    await createNode(node, {
      [REGION]: 'de-fra',
      [ZONE]: 'de-fra-1',
      [JURISDICTION]: 'EU',
      [REGION_PIN]: 'de-fra',
    });
    nodes.push(node);
    const create = (name: string, spec: object) =>
      custom.createClusterCustomObject({
        ...SOVEREIGNTY_POLICY,
        body: {
          apiVersion: SOVEREIGNTY_POLICY.apiVersion,
          kind: SOVEREIGNTY_POLICY.kind,
          metadata: { name },
          spec,
        },
      });
    // France only, anchored on the jurisdiction: what the EU anchor says nothing about is the region.
    await create(franceAnchoredEu, {
      regions: ['fr-par'],
      nodeSelectorRequirements: [{ key: JURISDICTION, operator: 'In', values: ['EU'] }],
    });
    // France only, the region pinned by a label only the platform sets.
    await create(francePinned, {
      regions: ['fr-par'],
      nodeSelectorRequirements: [
        { key: JURISDICTION, operator: 'In', values: ['EU'] },
        { key: REGION_PIN, operator: 'In', values: ['fr-par'] },
      ],
    });
    const anchoredBefore = await eligibleNodes(franceAnchoredEu, () => true);
    const pinnedBefore = await eligibleNodes(francePinned, () => true);

    const kubelet = kubeletOf(node).makeApiClient(CoreV1Api);
    await patchLabels(kubelet, node, { [REGION]: 'fr-par', [ZONE]: 'fr-par-1' });
    const refused = await refusal(patchLabels(kubelet, node, { [REGION_PIN]: 'fr-par' }));
    expect(refused.code).toBe(403);

    const condition = (policy: string) =>
      eventually(
        `${policy} NodeLabelsTrusted`,
        async () => getCondition((await getPolicy(policy)).status?.conditions, 'NodeLabelsTrusted'),
        30_000,
        200,
      );
    const anchored = await condition(franceAnchoredEu);
    expect(anchored).toMatchObject({ status: 'False', reason: 'SelfAssertableLabels' });
    expect(anchored.message).toContain(`matched on ${REGION}`);
    expect(anchored.message).toContain(`${REGION_PIN} In [fr-par]`);
    // ... rightly: the German node now counts for the France-only policy.
    expect(await eligibleNodes(franceAnchoredEu, (n) => n >= anchoredBefore + 1)).toBe(anchoredBefore + 1);
    // The pinned policy trusts its labels and does not count it.
    expect(await condition(francePinned)).toMatchObject({ status: 'True', reason: 'RestrictedLabels' });
    await sleep(1500);
    expect((await getPolicy(francePinned)).status?.eligibleNodes).toBe(pinnedBefore);
  });

  it('a volume on a node labelled fr-par whose providerID says us-east-1 is outside, never StorageReady', async () => {
    // The careless platform admin: the node gets every EU label, the cloud says otherwise.
    const node = `adv-mislabelled-${suffix}`;
    await createNode(
      node,
      { [REGION]: 'fr-par', [ZONE]: 'fr-par-1', [JURISDICTION]: 'EU', [HDS]: 'true' },
      `aws:///us-east-1a/i-${suffix}`,
    );
    nodes.push(node);
    await kc
      .makeApiClient(StorageV1Api)
      .createStorageClass({ body: noProvisionerClass(mislabelledClass, FIXTURE, true) });
    const volume = `adv-mislabelled-${suffix}-0`;
    await core.createPersistentVolume({ body: localVolume(volume, node, mislabelledClass, '5Gi', FIXTURE) });

    const hubs = await recordWatch<HealthDataHub>(
      kc,
      `/apis/${HEALTH_DATA_HUB.group}/${HEALTH_DATA_HUB.version}/namespaces/${ns}/${HEALTH_DATA_HUB.plural}`,
    );
    try {
      const hub = hubManifest('mislabelled', ns);
      hub.spec.storage = { size: '1Gi', storageClassName: mislabelledClass };
      await createHub(kc, hub);
      // The first verdict on the volume, as a watch sees it: it must be the violation.
      const first = await hubs.first(
        0,
        (h) => {
          const c = hubCondition(h, 'StorageReady');
          return c?.status === 'True' || c?.reason === 'VolumeOutsideJurisdiction';
        },
        90_000,
      );
      expect(hubCondition(first.obj, 'StorageReady')).toMatchObject({
        status: 'False',
        reason: 'VolumeOutsideJurisdiction',
      });
      const outside = await getHub(kc, ns, 'mislabelled');
      const message = hubCondition(outside, 'StorageReady')!.message;
      expect(message).toContain(`volume ${volume}`);
      expect(message).toContain(`contradicts spec.providerID aws:///us-east-1a/i-${suffix}`);
      // The scheduler believed the labels: the claim is bound there. Only the report differs.
      const claim = await core.readNamespacedPersistentVolumeClaim({
        name: 'data-mislabelled-0',
        namespace: ns,
      });
      expect(claim.spec?.volumeName).toBe(volume);
      await sleep(2000);
      const storageReady = hubs.events
        .map((e) => hubCondition(e.obj, 'StorageReady'))
        .filter((c) => c?.status === 'True');
      expect(storageReady).toEqual([]);

      // One verdict, one count: the policy's eligibleNodes and the hub's agree.
      const agreed = await eventually(
        'policy and hub eligible node counts agree',
        async () => {
          const p = (await getPolicy('eu-hds')).status?.eligibleNodes;
          const h = (await getHub(kc, ns, 'mislabelled')).status?.placement?.eligibleNodes;
          return p !== undefined && p === h ? { p, h } : undefined;
        },
        10_000,
        200,
      ).catch(async () => ({
        p: (await getPolicy('eu-hds')).status?.eligibleNodes,
        h: (await getHub(kc, ns, 'mislabelled')).status?.placement?.eligibleNodes,
      }));
      expect(agreed.p).toBe(agreed.h);
    } finally {
      hubs.stop();
    }
  });

  it('the datastore pod pinned to that node by its volume is removed with backoff, not in a loop, and still reported', async () => {
    // The hub of the previous case: its StatefulSet's pod (a stable name) can only be scheduled on
    // the mislabelled node, whose labels the scheduler believes; every replacement lands there.
    const node = `adv-mislabelled-${suffix}`;
    const pod = 'mislabelled-0';
    await eventually(
      `PlacementCompliant=False naming ${pod} on ${node}`,
      async () => {
        const c = hubCondition(await getHub(kc, ns, 'mislabelled'), 'PlacementCompliant');
        return c?.status === 'False' && c.message.includes(`pod ${pod} on node ${node}`);
      },
      60_000,
      200,
    );
    const removals = async () => {
      const text = await op.metrics();
      return (
        metricValue(text, 'hdh_placement_evictions_total', { result: 'evicted' }) +
        metricValue(text, 'hdh_placement_deletions_total', { reason: 'EvictionTimeout' })
      );
    };
    const hubs = await recordWatch<HealthDataHub>(
      kc,
      `/apis/${HEALTH_DATA_HUB.group}/${HEALTH_DATA_HUB.version}/namespaces/${ns}/${HEALTH_DATA_HUB.plural}`,
      { fieldSelector: 'metadata.name=mislabelled' },
    );
    const pods = await recordWatch<V1Pod>(kc, `/api/v1/namespaces/${ns}/pods`, {
      fieldSelector: `metadata.name=${pod}`,
    });
    try {
      const before = await removals();
      await sleep(30_000);
      const removed = (await removals()) - before;
      const terminated = new Set(
        pods.events.filter((e) => e.obj.metadata?.deletionTimestamp).map((e) => e.obj.metadata!.uid),
      );
      // Still removed, but a handful of times with growing waits, not once per replacement.
      expect(removed).toBeGreaterThanOrEqual(1);
      expect(removed).toBeLessThanOrEqual(6);
      expect(terminated.size).toBeLessThanOrEqual(6);
      // The violation is reported while the pod waits. How fast the StatefulSet controller and the
      // scheduler bring a replacement back is not the operator's doing; what is: whenever a live
      // pod sits on that node, the hub must read PlacementCompliant=False within a moment of it.
      const end = Date.now();
      const timeline = [
        ...pods.events.map((e) => ({ at: e.at, pod: e })),
        ...hubs.events.map((e) => ({ at: e.at, hub: e })),
      ].sort((a, b) => a.at - b.at);
      let podLive = false;
      let hubCompliant = false;
      let last = timeline[0]?.at ?? end;
      let uncoveredMs = 0;
      let compliantMs = 0;
      let arrivals = 0;
      for (const t of [...timeline, { at: end }]) {
        if (podLive && hubCompliant) uncoveredMs += t.at - last;
        if (hubCompliant) compliantMs += t.at - last;
        last = t.at;
        if ('pod' in t && t.pod) {
          const p = t.pod.obj;
          const live =
            t.pod.type !== 'DELETED' && p.spec?.nodeName === node && !p.metadata?.deletionTimestamp;
          if (live && !podLive) arrivals++;
          podLive = live;
        }
        if ('hub' in t && t.hub) {
          hubCompliant = hubCondition(t.hub.obj, 'PlacementCompliant')?.status !== 'False';
        }
      }
      console.log(
        `pinned datastore pod: ${removed} removal(s) in 30 s, ${arrivals} arrival(s) on the node; ` +
          `hub read compliant ${compliantMs} ms in all, ${uncoveredMs} ms of it with a live pod on the node`,
      );
      expect(arrivals).toBeGreaterThanOrEqual(1);
      expect(uncoveredMs).toBeLessThanOrEqual(arrivals * 2_000);
      await eventually(
        'PlacementCompliant=False again',
        async () => {
          const c = hubCondition(await getHub(kc, ns, 'mislabelled'), 'PlacementCompliant');
          return c?.status === 'False' && c.reason === 'PodsOutsidePolicy' && c.message.includes(pod);
        },
        10_000,
        200,
      );
      // Said once, with the likely cause, and counted.
      const said = (await hubEvents(kc, ns, 'mislabelled')).filter((e) => e.reason === 'RepeatedViolation');
      expect(said).toHaveLength(1);
      expect(said[0]!.note).toContain(`pod ${pod} on node ${node}`);
      expect(said[0]!.note).toContain('the scheduler keeps placing it there');
      expect(
        metricValue(await op.metrics(), 'hdh_placement_repeated_violations_total'),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      hubs.stop();
      pods.stop();
    }
  });

  it('refuses hubs in system namespaces (Stalled, nothing done) and still lets them be deleted', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const name = `adv-sys-${suffix}`;
    // As an earlier version, which served hubs in any namespace, would have left it.
    await core.patchNamespace(
      {
        name: 'kube-public',
        body: {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'kube-public', labels: { [POLICY_LABEL]: 'true' } },
        },
        fieldManager: 'hdh-operator',
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    for (const namespace of ['kube-public', OPERATOR_NAMESPACE]) {
      const tenant: KubeConfig = await tenantAdmin(namespace);
      await createHub(tenant, hubManifest(name, namespace));
      const stalled = await waitForHubCondition(kc, namespace, name, 'Stalled', {
        status: 'True',
        reason: 'SystemNamespace',
      });
      expect(hubCondition(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'SystemNamespace' });
      expect(hubCondition(stalled, 'Stalled')!.message).toContain(`namespace ${namespace}`);
      // Nothing else: no finalizer, no namespace label (an earlier one is taken back), no keys, no
      // datastore.
      await eventually(
        `${namespace} without policy labels`,
        async () => !(await core.readNamespace({ name: namespace })).metadata?.labels?.[POLICY_LABEL],
        10_000,
        200,
      );
      await sleep(1000);
      expect((await getHub(kc, namespace, name)).metadata.finalizers ?? []).not.toContain(FINALIZER);
      const labels = (await core.readNamespace({ name: namespace })).metadata?.labels ?? {};
      expect(Object.keys(labels).filter((k) => k.startsWith('policy.hdh.sovereign.eu/'))).toEqual([]);
      expect(
        await core.readNamespacedSecret({ name: `${name}-keys`, namespace }).catch(() => undefined),
      ).toBeUndefined();
      expect(
        await apps.readNamespacedStatefulSet({ name, namespace }).catch(() => undefined),
      ).toBeUndefined();
      await deleteHubAndWait(tenant, namespace, name);
      await expect(getHub(kc, namespace, name)).rejects.toBeDefined();
    }
    // A finalizer an earlier version left does not hold the hub.
    const held = hubManifest(name, 'kube-public');
    held.metadata.finalizers = [FINALIZER];
    await createHub(kc, held);
    await waitForHubCondition(kc, 'kube-public', name, 'Stalled', {
      status: 'True',
      reason: 'SystemNamespace',
    });
    await deleteHubAndWait(kc, 'kube-public', name);
    await expect(getHub(kc, 'kube-public', name)).rejects.toBeDefined();
  });
});
