// What GitOps tools read from live hubs and policies, with their own code: kstatus
// (sigs.k8s.io/cli-utils, as Flux and kpt use it) and the shipped Argo CD health scripts run as
// Argo CD runs them (hdh-gotools), plus `kubectl wait` on Reconciling. One operator and one set of
// hubs, each in the state a test reads: Ready, stalled on its input, waiting for its claims,
// suspended, and never seen by the operator. Last, an operator upgrade over a datastore an
// earlier version labelled with app.kubernetes.io/instance (Argo CD's tracking label).
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import {
  FIELD_MANAGER,
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
} from '../../../src/api/index.js';
import { LEGACY_INSTANCE_LABEL } from '../../../src/storage/claims.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  argoHealth,
  argoHealthScript,
  kstatus,
  type ArgoHealth,
  type KstatusResult,
} from '../../support/gotools.js';
import {
  createHub,
  deleteHubAndWait,
  getHub,
  hubCondition,
  hubManifest,
  patchHub,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { kubectl } from '../../support/kubectl.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const apps = kc.makeApiClient(AppsV1Api);
const objects = kc.makeApiClient(KubernetesObjectApi);

/** The hubs of the test, by the state they are left in; `legacy` is Ready until the upgrade. */
const HUBS = ['ready', 'stalled', 'waiting', 'paused', 'legacy'] as const;
type HubName = (typeof HUBS)[number];

/** The hub whose datastore is rebuilt as an earlier version left it. */
const LEGACY_HUB = 'legacy';

/** `obj` as a server-side apply body: what the API server manages itself left out. */
function applyBody<T extends KubernetesObject & { status?: unknown }>(
  obj: T,
  apiVersion: string,
  kind: string,
): T {
  const { metadata, status: _status, ...rest } = obj;
  const {
    resourceVersion: _rv,
    uid: _uid,
    generation: _gen,
    creationTimestamp: _ct,
    managedFields: _mf,
    ...meta
  } = metadata ?? {};
  return { ...rest, apiVersion, kind, metadata: meta } as T;
}

const withLegacy = (labels: Record<string, string> | undefined) => ({
  ...labels,
  [LEGACY_INSTANCE_LABEL]: LEGACY_HUB,
});

describe('GitOps tools on live hubs and policies', () => {
  let fixtures: StorageFixtures;
  let ns: string;
  /** A namespace the operator does not watch: its hub never gets a status. */
  let unwatched: string;
  let op: OperatorProcess;

  const hub = (name: HubName | 'unseen', namespace = ns) => getHub(kc, namespace, name);
  const kstatusOf = async (name: HubName): Promise<KstatusResult> => kstatus(await hub(name))[0]!;
  const hubHealth = (h: HealthDataHub): ArgoHealth => argoHealth(argoHealthScript('HealthDataHub'), h);

  beforeAll(async () => {
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-gitops');
    unwatched = `${ns}-unwatched`;
    await core.createNamespace({ body: { metadata: { name: unwatched } } });
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    const manifest = (name: HubName, edit: (h: HealthDataHub) => void = () => undefined) => {
      const h = hubManifest(name, ns);
      h.spec.storage.storageClassName = fixtures.encryptedClass;
      edit(h);
      return h;
    };
    await Promise.all([
      createHub(kc, manifest('ready')),
      createHub(kc, manifest('legacy')),
      // Input only a person can fix: the policy does not exist.
      createHub(
        kc,
        manifest('stalled', (h) => (h.spec.policyName = 'no-such-policy')),
      ),
      // Larger than any volume of the fixtures: its claim stays Pending.
      createHub(
        kc,
        manifest('waiting', (h) => (h.spec.storage.size = '50Gi')),
      ),
      createHub(
        kc,
        manifest('paused', (h) => (h.spec.suspend = true)),
      ),
      createHub(kc, hubManifest('unseen', unwatched)),
    ]);
    const settled: Record<HubName, (h: HealthDataHub) => boolean> = {
      ready: (h) => hubCondition(h, 'Ready')?.status === 'True',
      legacy: (h) => hubCondition(h, 'Ready')?.status === 'True',
      stalled: (h) => hubCondition(h, 'Stalled')?.status === 'True',
      waiting: (h) => hubCondition(h, 'StorageReady')?.reason === 'ClaimsPending',
      paused: (h) => hubCondition(h, 'Ready')?.reason === 'Suspended',
    };
    await Promise.all(
      HUBS.map((name) =>
        eventually(
          `hub ${name} settled`,
          async () => {
            const h = await hub(name);
            return h.status?.observedGeneration === h.metadata.generation && settled[name](h);
          },
          90_000,
          300,
        ),
      ),
    );
  }, 150_000);

  afterAll(async () => {
    // The hubs' finalizers need a running operator (the upgrade test stops and restarts it).
    if (ns && op && (op.child.exitCode !== null || op.child.signalCode !== null)) {
      op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    }
    if (ns && op) await Promise.all(HUBS.map((name) => deleteHubAndWait(kc, ns, name)));
    await op?.stop();
    // Not waited for as a whole (the namespace controller takes its time): the fixtures' cleanup
    // waits for the volumes, hence for the claims of the namespace, which is what must not leak.
    for (const n of [unwatched, ns]) if (n) await core.deleteNamespace({ name: n }).catch(() => undefined);
    await fixtures?.cleanup();
  }, 180_000);

  describe('kstatus', () => {
    it('reads a Ready hub and a Ready policy as Current', async () => {
      expect(await kstatusOf('ready')).toMatchObject({ status: 'Current', message: 'Resource is Ready' });
      const policy = await custom.getClusterCustomObject({ ...SOVEREIGNTY_POLICY, name: 'eu-hds' });
      expect(kstatus(policy)).toEqual([
        {
          kind: 'SovereigntyPolicy',
          namespace: '',
          name: 'eu-hds',
          status: 'Current',
          message: 'Resource is Ready',
        },
      ]);
    });

    it('reads a hub whose input must be fixed as Failed, with the fix', async () => {
      expect(await kstatusOf('stalled')).toMatchObject({
        status: 'Failed',
        message: expect.stringContaining('no-such-policy') as string,
      });
    });

    it('reads a hub waiting for its claims as InProgress', async () => {
      expect(await kstatusOf('waiting')).toMatchObject({ status: 'InProgress' });
    });

    it('reads a suspended hub as InProgress: not reconciled, so not Current, and nothing failed', async () => {
      expect(await kstatusOf('paused')).toMatchObject({
        status: 'InProgress',
        message: expect.stringContaining('spec.suspend is true') as string,
      });
    });

    it('reads a hub no operator has reconciled yet as InProgress, not Current', async () => {
      // The CRD defaults status.observedGeneration to 0 until the operator writes a status.
      const unseen = await hub('unseen', unwatched);
      expect(unseen.status).toEqual({ observedGeneration: 0 });
      expect(kstatus(unseen)[0]).toMatchObject({
        status: 'InProgress',
        message: 'HealthDataHub generation is 1, but latest observed generation is 0',
      });
    });

    it('reads a status computed for an older generation as InProgress', async () => {
      const h = await hub('ready');
      h.metadata.generation = (h.metadata.generation ?? 0) + 1;
      expect(kstatus(h)[0]).toMatchObject({ status: 'InProgress' });
    });

    it('reads the whole namespace from `kubectl get -o json` (a List) at once', async () => {
      const list = JSON.parse(await kubectl(['-n', ns, 'get', 'healthdatahubs', '-o', 'json'])) as object;
      const byName = Object.fromEntries(kstatus(list).map((r) => [r.name, r.status]));
      expect(byName).toEqual({
        ready: 'Current',
        legacy: 'Current',
        stalled: 'Failed',
        waiting: 'InProgress',
        paused: 'InProgress',
      });
    });
  });

  describe('kubectl wait', () => {
    it('returns at once for a Ready hub waiting for Reconciling=False', async () => {
      const started = Date.now();
      const out = await kubectl([
        '-n',
        ns,
        'wait',
        '--for=condition=Reconciling=False',
        '--timeout=10s',
        `${HEALTH_DATA_HUB.plural}.${HEALTH_DATA_HUB.group}/ready`,
      ]);
      expect(out).toMatch(/condition met/);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('times out for a hub still converging', async () => {
      await expect(
        kubectl([
          '-n',
          ns,
          'wait',
          '--for=condition=Reconciling=False',
          '--timeout=1s',
          `${HEALTH_DATA_HUB.plural}.${HEALTH_DATA_HUB.group}/waiting`,
        ]),
      ).rejects.toThrow(/timed out/);
    });
  });

  describe('Argo CD health', () => {
    it('is Healthy for a Ready hub and a Ready policy', async () => {
      expect(hubHealth(await hub('ready'))).toEqual({
        status: 'Healthy',
        message: 'Placement, storage, keys and datastore are ready',
      });
      const policy = await custom.getClusterCustomObject({ ...SOVEREIGNTY_POLICY, name: 'eu-hds' });
      expect(argoHealth(argoHealthScript('SovereigntyPolicy'), policy)).toMatchObject({
        status: 'Healthy',
        message: expect.stringMatching(/^\d+ node\(s\) satisfy the policy$/) as string,
      });
    });

    it('is Degraded for a hub whose input must be fixed, saying what to fix', async () => {
      const h = await hub('stalled');
      expect(hubHealth(h)).toEqual({ status: 'Degraded', message: hubCondition(h, 'Stalled')!.message });
      expect(hubCondition(h, 'Stalled')!.message).toContain('no-such-policy');
    });

    it('is Progressing for a hub waiting for its claims, with what it waits for', async () => {
      const h = await hub('waiting');
      expect(hubHealth(h)).toEqual({ status: 'Progressing', message: hubCondition(h, 'Ready')!.message });
    });

    it('is Suspended for a suspended hub', async () => {
      expect(hubHealth(await hub('paused'))).toMatchObject({
        status: 'Suspended',
        message: expect.stringContaining('spec.suspend is true') as string,
      });
    });

    it('is Progressing for a hub without status yet and for a status of an older generation', async () => {
      expect(hubHealth(await hub('unseen', unwatched))).toEqual({
        status: 'Progressing',
        message: "Waiting for the operator to report the hub's status",
      });
      const h = await hub('ready');
      h.metadata.generation = (h.metadata.generation ?? 0) + 1;
      expect(hubHealth(h)).toEqual({
        status: 'Progressing',
        message: `Waiting for the operator to observe generation ${h.metadata.generation}`,
      });
    });
  });

  // Last: it restarts the operator. What the earlier version's apply left is rebuilt here, owned
  // by the operator's field manager; the new version must drop the label where it is free to
  // (the StatefulSet's and Service's own labels, the ownerless claims) and keep it in the
  // templates: no refused update of the immutable claim template, no rollout, no lost pod.
  it('survives an upgrade over a datastore labelled app.kubernetes.io/instance: same pods, no refusal, hub Ready', async () => {
    // The hub ran Ready before the upgrade (beforeAll).
    await op.stop();

    // What the earlier version's apply left: the label on the StatefulSet, its pod and claim
    // templates and the Service, owned by the operator's field manager; on the claims as well. The
    // claim template cannot be updated, so the StatefulSet is recreated without its pods.
    const live = await apps.readNamespacedStatefulSet({ name: LEGACY_HUB, namespace: ns });
    await apps.deleteNamespacedStatefulSet({
      name: LEGACY_HUB,
      namespace: ns,
      body: { propagationPolicy: 'Orphan' },
    });
    await eventually('StatefulSet orphaned', () =>
      apps.readNamespacedStatefulSet({ name: LEGACY_HUB, namespace: ns }).then(
        () => false,
        () => true,
      ),
    );
    const old = applyBody(live, 'apps/v1', 'StatefulSet');
    old.metadata!.labels = withLegacy(old.metadata!.labels);
    old.spec!.template.metadata!.labels = withLegacy(old.spec!.template.metadata!.labels);
    for (const t of old.spec!.volumeClaimTemplates!) {
      delete t.status;
      t.metadata!.labels = withLegacy(t.metadata!.labels);
    }
    await objects.patch(old, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    const service = applyBody(
      await core.readNamespacedService({ name: LEGACY_HUB, namespace: ns }),
      'v1',
      'Service',
    );
    service.metadata!.labels = withLegacy(service.metadata!.labels);
    await objects.patch(service, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    await core.patchNamespacedPersistentVolumeClaim(
      { name: `data-${LEGACY_HUB}-0`, namespace: ns, body: { metadata: { labels: withLegacy({}) } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // The pod rolls once onto the labelled template (as it ran under the earlier version).
    const before = await eventually(
      'the old StatefulSet rolled out',
      async () => {
        const s = await apps.readNamespacedStatefulSet({ name: LEGACY_HUB, namespace: ns });
        const pods = await core.listNamespacedPod({
          namespace: ns,
          labelSelector: `${LEGACY_INSTANCE_LABEL}=${LEGACY_HUB}`,
        });
        const settled =
          s.status?.observedGeneration === s.metadata?.generation &&
          s.status?.updateRevision === s.status?.currentRevision &&
          s.status?.readyReplicas === 1 &&
          pods.items.length === 1 &&
          pods.items[0]!.status?.phase === 'Running';
        return settled ? { sts: s, pod: pods.items[0]! } : undefined;
      },
      60_000,
      300,
    );

    // The upgrade.
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    const labels = (o: { metadata?: { labels?: Record<string, string> } }) => o.metadata?.labels ?? {};
    const after = await eventually(
      'the new version applied the StatefulSet (or was refused)',
      async () => {
        const hub = await getHub(kc, ns, LEGACY_HUB);
        if (hubCondition(hub, 'Stalled')?.status === 'True') return { hub, sts: undefined };
        const sts = await apps.readNamespacedStatefulSet({ name: LEGACY_HUB, namespace: ns });
        return LEGACY_INSTANCE_LABEL in labels(sts) ? undefined : { hub, sts };
      },
      60_000,
      300,
    );
    expect(hubCondition(after.hub, 'Stalled')).toBeUndefined();
    const sts: V1StatefulSet = after.sts!;
    // No rollout: the same spec generation and revision, the same pod.
    expect(sts.metadata?.generation).toBe(before.sts.metadata?.generation);
    expect(sts.status?.updateRevision).toBe(before.sts.status?.updateRevision);
    expect(labels(sts.spec!.template)[LEGACY_INSTANCE_LABEL]).toBe(LEGACY_HUB);
    expect(labels(sts.spec!.volumeClaimTemplates![0]!)[LEGACY_INSTANCE_LABEL]).toBe(LEGACY_HUB);
    const pods = await core.listNamespacedPod({
      namespace: ns,
      labelSelector: `hdh.sovereign.eu/hub=${LEGACY_HUB}`,
    });
    expect(pods.items.map((p) => p.metadata?.uid)).toEqual([before.pod.metadata?.uid]);
    // Gone where it is free to go: the Service's labels and the ownerless claim's.
    const svc = await core.readNamespacedService({ name: LEGACY_HUB, namespace: ns });
    expect(labels(svc)).not.toHaveProperty(LEGACY_INSTANCE_LABEL);
    expect(labels(svc)['hdh.sovereign.eu/hub']).toBe(LEGACY_HUB);
    await eventually('the claim unlabelled', async () => {
      const claim = await core.readNamespacedPersistentVolumeClaim({
        name: `data-${LEGACY_HUB}-0`,
        namespace: ns,
      });
      return !(LEGACY_INSTANCE_LABEL in labels(claim));
    });
    const ready = await waitForHubCondition(kc, ns, LEGACY_HUB, 'Ready', { status: 'True' }, 30_000);
    expect(hubCondition(ready, 'DatastoreReady')?.reason).toBe('ReplicasReady');
    expect(op.output()).not.toMatch(/ApiServerRefused|is invalid|Forbidden/);

    // Growing the storage recreates the StatefulSet (orphaning, for its claim template): the
    // recreated one keeps the running pods' template labels, so the pod stays.
    await patchHub(kc, ns, LEGACY_HUB, { spec: { storage: { size: '2Gi' } } });
    const recreated = await eventually(
      'the StatefulSet recreated with a 2Gi claim template',
      async () => {
        const s = await apps
          .readNamespacedStatefulSet({ name: LEGACY_HUB, namespace: ns })
          .catch(() => undefined);
        const size = s?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.['storage'];
        return s && s.metadata?.uid !== sts.metadata?.uid && size === '2Gi' ? s : undefined;
      },
      60_000,
      300,
    );
    expect(labels(recreated.spec!.template)[LEGACY_INSTANCE_LABEL]).toBe(LEGACY_HUB);
    const grown = await eventually(
      'the recreated StatefulSet caught up with its pod',
      async () => {
        const s = await apps.readNamespacedStatefulSet({ name: LEGACY_HUB, namespace: ns });
        return s.status?.observedGeneration === s.metadata?.generation && s.status?.readyReplicas === 1
          ? s
          : undefined;
      },
      30_000,
      300,
    );
    expect(grown.status?.currentRevision).toBe(grown.status?.updateRevision);
    const podsNow = await core.listNamespacedPod({
      namespace: ns,
      labelSelector: `hdh.sovereign.eu/hub=${LEGACY_HUB}`,
    });
    expect(podsNow.items.map((p) => p.metadata?.uid)).toEqual([before.pod.metadata?.uid]);
  }, 120_000);
});
