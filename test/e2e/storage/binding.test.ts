// The storage fixtures and the rendered datastore on the full local control plane, without the
// operator: the StatefulSet rendered for a hub is applied as the operator would (server-side
// apply), and the real scheduler and PV controller bind its claims to the static EU volumes. The
// pure storage checks then judge the live objects.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  StorageV1Api,
  type V1PersistentVolume,
} from '@kubernetes/client-node';
import {
  FIELD_MANAGER,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import { nodeFacts, type NodeFacts } from '../../../src/placement/compliance.js';
import { Writer } from '../../../src/runtime/apply.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { datastoreReport, renderDatastore } from '../../../src/storage/datastore.js';
import { checkStorageClass, storageClassProblems } from '../../../src/storage/storage-class.js';
import { storageReport } from '../../../src/storage/status.js';
import { auditVolumes } from '../../../src/storage/volumes.js';
import { testKubeConfig } from '../../support/cluster.js';
import { createHub, getHub, hubManifest, prepareHubNamespace } from '../../support/hubs.js';
import { COMPLIANT_NODES, createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const storage = kc.makeApiClient(StorageV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const writer = new Writer(new ApiClients(kc), FIELD_MANAGER);

async function liveNodes(): Promise<Map<string, NodeFacts>> {
  const nodes = await core.listNode();
  return new Map(nodes.items.map((n) => [n.metadata!.name!, nodeFacts(n)]));
}

async function liveVolumes(): Promise<Map<string, V1PersistentVolume>> {
  const pvs = await core.listPersistentVolume();
  return new Map(pvs.items.map((pv) => [pv.metadata!.name!, pv]));
}

/** The node a `local` fixture volume is pinned to. */
function pinnedNode(pv: V1PersistentVolume): string | undefined {
  return pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values?.[0];
}

describe('storage fixtures with the rendered datastore', () => {
  let fixtures: StorageFixtures;
  let ns: string;
  let hub: HealthDataHub;
  let policy: SovereigntyPolicy;

  beforeAll(async () => {
    fixtures = await createStorageFixtures(kc);
    ns = await prepareHubNamespace(kc, 'e2e-storage');
    const manifest = hubManifest('ledger', ns);
    manifest.spec.storage = { size: '1Gi', storageClassName: fixtures.encryptedClass };
    manifest.spec.datastore = { replicas: 2 };
    // A real hub object (no operator runs here): the rendered objects' owner reference must
    // name an existing owner, or the garbage collector deletes them.
    await createHub(kc, manifest);
    hub = await getHub(kc, ns, 'ledger');
    policy = (await custom.getClusterCustomObject({
      group: SOVEREIGNTY_POLICY.group,
      version: SOVEREIGNTY_POLICY.version,
      plural: SOVEREIGNTY_POLICY.plural,
      name: 'eu-hds',
    })) as SovereigntyPolicy;
  });

  afterAll(async () => {
    if (ns) {
      await core.deleteNamespace({ name: ns }).catch(() => undefined);
      // Its claims must be gone before the fixture volumes can be deleted (pv-protection).
      await eventually(
        `namespace ${ns} deleted`,
        () =>
          core.readNamespace({ name: ns }).then(
            () => false,
            (e: { code?: number }) => e.code === 404,
          ),
        90_000,
        500,
      );
    }
    await fixtures?.cleanup();
  });

  it('judges the fixture classes: the encrypted one passes, the unencrypted one does not', async () => {
    const nodes = await liveNodes();
    const encrypted = await storage.readStorageClass({ name: fixtures.encryptedClass });
    const plain = await storage.readStorageClass({ name: fixtures.unencryptedClass });
    expect(checkStorageClass({ hub, policy, storageClass: encrypted, nodes })).toEqual({
      ok: true,
    });
    expect(storageClassProblems({ hub, policy, storageClass: plain, nodes }).map((p) => p.reason)).toEqual([
      'StorageNotEncrypted',
    ]);
  });

  it('binds the claims of 2 replicas to EU volumes, with the pods Running on compliant nodes', async () => {
    const rendered = renderDatastore(hub, policy.spec);
    if (!rendered.ok) throw new Error(rendered.message);
    const { statefulSet, service, podDisruptionBudget } = rendered.objects;
    await writer.apply(service);
    await writer.apply(podDisruptionBudget!);
    await writer.apply(statefulSet);

    const pods = await eventually(
      'both datastore pods Running',
      async () => {
        const list = await core.listNamespacedPod({
          namespace: ns,
          labelSelector: 'hdh.sovereign.eu/hub=ledger,app.kubernetes.io/name=hdh-datastore',
        });
        const running = list.items.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName);
        return running.length === 2 ? running : undefined;
      },
      120_000,
      500,
    );
    for (const pod of pods) expect(COMPLIANT_NODES).toContain(pod.spec!.nodeName);

    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items;
    expect(claims.map((c) => c.metadata!.name).sort()).toEqual(['data-ledger-0', 'data-ledger-1']);
    const euVolumes = Object.values(fixtures.euVolumes).flat();
    const volumes = await liveVolumes();
    for (const claim of claims) {
      expect(claim.status?.phase).toBe('Bound');
      expect(euVolumes).toContain(claim.spec!.volumeName);
      // The claim's volume is on the node its pod runs on: binding followed scheduling.
      const pod = pods.find((p) => p.metadata!.name === claim.metadata!.name!.replace(/^data-/, ''));
      expect(pinnedNode(volumes.get(claim.spec!.volumeName!)!)).toBe(pod!.spec!.nodeName);
      expect(claim.metadata!.labels).toMatchObject({ 'hdh.sovereign.eu/hub': 'ledger' });
      expect(claim.metadata!.ownerReferences ?? []).toEqual([]);
    }

    const audit = auditVolumes({ hub, policy: policy.spec, claims, volumes, nodes: await liveNodes() });
    expect(audit.violations).toEqual([]);
    expect(audit.claims).toHaveLength(2);
    for (const c of audit.claims) expect(['fr-par', 'de-fra']).toContain(c.region);
    const report = storageReport(hub, policy.spec.regions, { storageClass: { ok: true }, audit });
    expect(report.condition).toMatchObject({ status: 'True', reason: 'ClaimsBound' });

    const live = await eventually(
      'StatefulSet reports 2 ready replicas',
      async () => {
        const sts = await apps.readNamespacedStatefulSet({ name: 'ledger', namespace: ns });
        return sts.status?.readyReplicas === 2 ? sts : undefined;
      },
      60_000,
      500,
    );
    expect(datastoreReport(hub, live).condition).toMatchObject({ status: 'True', reason: 'ReplicasReady' });
  });

  it('reports a claim pre-bound to the us-east-1a volume as outside the regions', async () => {
    // An ordinal past the replicas: no pod needs it, the PV controller binds the pre-bound pair.
    const name = 'data-ledger-7';
    await fixtures.preBindUsVolume(ns, name);
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name, labels: { 'hdh.sovereign.eu/hub': 'ledger' } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: fixtures.encryptedClass,
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    const claims = await eventually(
      `${name} bound`,
      async () => {
        const list = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items;
        const c = list.find((x) => x.metadata!.name === name);
        return c?.status?.phase === 'Bound' ? list : undefined;
      },
      60_000,
      500,
    );
    const audit = auditVolumes({
      hub,
      policy: policy.spec,
      claims,
      volumes: await liveVolumes(),
      nodes: await liveNodes(),
    });
    expect(audit.violations).toEqual([
      {
        claim: name,
        volumeName: fixtures.usVolume,
        reason: 'it lies in us-east-1 (zone us-east-1a), outside [fr-par, eu-west-3, de-fra]',
      },
    ]);
    const report = storageReport(hub, policy.spec.regions, { storageClass: { ok: true }, audit });
    expect(report.condition).toMatchObject({ status: 'False', reason: 'VolumeOutsideJurisdiction' });
  });
});
