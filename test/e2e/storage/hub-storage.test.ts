// The hub's storage end to end, the operator running as its own process: the datastore on
// encrypted EU volumes bound by the real scheduler and PV controller, the storage-class checks
// that keep anything from being created, the location audit of a claim bound outside the EU,
// growth of the claims, and what deletion does to the data (retained, adopted, destroyed only on
// a confirmation carrying the hub's UID).
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  StorageV1Api,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import {
  ANNOTATION_ADOPTED_FROM,
  ANNOTATION_CONFIRM_DESTROY,
  ANNOTATION_ENCRYPTED,
  HEALTH_DATA_HUB,
  LABEL_HUB,
  LABEL_RETAINED_FROM,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
} from '../../../src/api/index.js';
import { BuiltinKeyProvider } from '../../../src/keys/builtin.js';
import { parseDekSecret } from '../../../src/keys/dek.js';
import { hubRefOf, keyIdentity } from '../../../src/keys/identity.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  getHub,
  hubCondition,
  hubManifest,
  patchHub,
  prepareHubNamespace,
} from '../../support/hubs.js';
import { metricValue } from '../../support/metrics.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import {
  COMPLIANT_NODES,
  createStorageFixtures,
  FIXTURE_LABEL,
  type StorageFixtures,
} from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const storage = kc.makeApiClient(StorageV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const eventsApi = kc.makeApiClient(EventsV1Api);
const policyApi = kc.makeApiClient(PolicyV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const hubRef = {
  group: HEALTH_DATA_HUB.group,
  version: HEALTH_DATA_HUB.version,
  plural: HEALTH_DATA_HUB.plural,
};

describe('hub storage through the operator', () => {
  let fixtures: StorageFixtures;
  let ns: string;
  let op: OperatorProcess;
  const listedPolicy = `eu-hds-listed-${Date.now().toString(36)}`;

  const hubWith = (name: string, storageClassName: string, extra: Partial<HealthDataHub['spec']> = {}) => {
    const h = hubManifest(name, ns);
    h.spec.storage = { size: '1Gi', storageClassName };
    Object.assign(h.spec, extra);
    return h;
  };
  const hubNow = (name: string) => getHub(kc, ns, name).catch(() => undefined);
  const claimsOf = async (hub: string): Promise<V1PersistentVolumeClaim[]> =>
    (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items
      .filter((c) => c.metadata!.name!.startsWith(`data-${hub}-`))
      .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  const statefulSet = (name: string) =>
    apps.readNamespacedStatefulSet({ name, namespace: ns }).catch((e: { code?: number }) => {
      if (e.code === 404) return undefined;
      throw e;
    });
  const hubEvents = async (hub: string, reason: string) =>
    (await eventsApi.listNamespacedEvent({ namespace: ns })).items.filter(
      (e) => e.regarding?.name === hub && e.regarding?.kind === HEALTH_DATA_HUB.kind && e.reason === reason,
    );
  const deleteHub = async (name: string) => {
    await custom.deleteNamespacedCustomObject({ ...hubRef, namespace: ns, name });
    await eventually(`hub ${name} gone`, async () => (await hubNow(name)) === undefined, 60_000, 300);
  };
  const createAndGet = async (hub: HealthDataHub) => {
    await createHub(kc, hub);
    return getHub(kc, ns, hub.metadata.name!);
  };

  beforeAll(async () => {
    fixtures = await createStorageFixtures(kc);
    ns = await prepareHubNamespace(kc, 'e2e-hub-storage');
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
  });

  afterAll(async () => {
    // Hubs go while the operator runs (their finalizer), then the namespace and its claims.
    if (ns && op) {
      const hubs = (await custom.listNamespacedCustomObject({ ...hubRef, namespace: ns })) as {
        items: HealthDataHub[];
      };
      for (const h of hubs.items) await deleteHub(h.metadata.name!).catch(() => undefined);
    }
    await op?.stop();
    await custom
      .deleteClusterCustomObject({ ...SOVEREIGNTY_POLICY, name: listedPolicy })
      .catch(() => undefined);
    if (ns) {
      await core.deleteNamespace({ name: ns }).catch(() => undefined);
      await eventually(
        'claims of the test namespace gone',
        async () => (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.length === 0,
        90_000,
        500,
      ).catch(() => undefined);
    }
    await fixtures?.cleanup();
  }, 240_000);

  it('runs a 2-replica datastore on bound EU volumes: StorageReady and DatastoreReady True', async () => {
    await createHub(kc, hubWith('ledger', fixtures.encryptedClass, { datastore: { replicas: 2 } }));
    const hub = await eventually(
      'ledger StorageReady and DatastoreReady True',
      async () => {
        const h = await hubNow('ledger');
        return hubCondition(h, 'StorageReady')?.status === 'True' &&
          hubCondition(h, 'DatastoreReady')?.status === 'True'
          ? h
          : undefined;
      },
      120_000,
      500,
    );
    expect(hub.metadata.finalizers).toContain('hdh.sovereign.eu/finalizer');
    expect(hubCondition(hub, 'StorageReady')!.reason).toBe('ClaimsBound');
    expect(hubCondition(hub, 'DatastoreReady')!.reason).toBe('ReplicasReady');
    expect(hub.status?.datastore).toEqual({ replicas: 2, readyReplicas: 2 });
    // The builtin key lifecycle gave the hub its own KEK and a first data key before the datastore.
    expect(hubCondition(hub, 'KeysReady')).toMatchObject({ status: 'True' });
    expect(hub.status?.encryption).toMatchObject({ provider: 'builtin', activeVersion: 1 });
    expect(hub.status?.encryption?.keyRef).toContain(hub.metadata.uid);
    const ready = await eventually('ledger Ready', async () => {
      const h = await hubNow('ledger');
      return hubCondition(h, 'Ready')?.status === 'True' ? h : undefined;
    });
    expect(hubCondition(ready, 'Ready')!.reason).toBe('AllReady');

    const claims = await claimsOf('ledger');
    expect(claims.map((c) => c.metadata!.name)).toEqual(['data-ledger-0', 'data-ledger-1']);
    const euVolumes = Object.values(fixtures.euVolumes).flat();
    for (const c of claims) {
      expect(c.status?.phase).toBe('Bound');
      expect(euVolumes).toContain(c.spec!.volumeName);
    }
    expect(hub.status?.storage?.claims?.map((c) => c.name)).toEqual(['data-ledger-0', 'data-ledger-1']);
    for (const c of hub.status!.storage!.claims!) expect(['fr-par', 'de-fra']).toContain(c.region);

    const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_HUB}=ledger` }))
      .items;
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.status?.phase).toBe('Running');
      expect(COMPLIANT_NODES).toContain(p.spec!.nodeName);
    }
    expect((await core.readNamespacedService({ name: 'ledger', namespace: ns })).spec?.clusterIP).toBe(
      'None',
    );
    const pdb = await policyApi.readNamespacedPodDisruptionBudget({ name: 'ledger', namespace: ns });
    expect(pdb.spec?.maxUnavailable).toBe(1);

    // The datastore receives its keys as files on a tmpfs, unwrapped by an init container.
    const template = (await statefulSet('ledger'))!.spec!.template;
    const podSpec = template.spec!;
    expect(template.metadata?.annotations?.['hdh.sovereign.eu/key-version']).toBe('1');
    const init = podSpec.initContainers?.find((c) => c.name === 'unwrap-dek');
    expect(init?.args?.[0]).toBe('unwrap-dek');
    expect(init?.args).toContain(`--hub-uid=${hub.metadata.uid}`);
    const keysMount = podSpec.containers
      .find((c) => c.name === 'datastore')
      ?.volumeMounts?.find((m) => m.mountPath === '/etc/hdh/keys');
    expect(keysMount?.readOnly).toBe(true);
    const keysVolume = podSpec.volumes?.find((v) => v.name === keysMount?.name);
    expect(keysVolume?.emptyDir?.medium).toBe('Memory');
    expect(podSpec.automountServiceAccountToken).toBe(false);
    expect(podSpec.serviceAccountName).toBe('ledger-keys');
    // No key material in any variable: none names the keys Secret, none holds a DEK.
    const keysSecret = await core.readNamespacedSecret({ name: 'ledger-keys', namespace: ns });
    // keyRef is secret/<operator namespace>/<KEK Secret>.
    const operatorNs = hub.status!.encryption!.keyRef!.split('/')[1]!;
    const provider = new BuiltinKeyProvider({ core, namespace: operatorNs });
    const ref = hubRefOf(hub);
    const deks = await Promise.all(
      parseDekSecret(keysSecret, ref).versions.map((v) => provider.unwrap(keyIdentity(ref), v.wrapped)),
    );
    for (const c of [...(podSpec.initContainers ?? []), ...podSpec.containers]) {
      for (const e of [...(c.env ?? []), ...(c.envFrom ?? [])]) {
        const text = JSON.stringify(e);
        expect(text).not.toContain('ledger-keys');
        expect(text).not.toContain(keyIdentity(ref).name);
        for (const dek of deks) {
          for (const enc of ['hex', 'base64'] as const) expect(text).not.toContain(dek.toString(enc));
        }
      }
    }
    for (const dek of deks) dek.fill(0);
    // Only the hub's service account may get only the hub's KEK.
    const sa = await core.readNamespacedServiceAccount({ name: 'ledger-keys', namespace: ns });
    expect(sa.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'hdh-operator',
      'hdh.sovereign.eu/hub': 'ledger',
    });
    const role = await rbac.readNamespacedRole({ name: keyIdentity(ref).name, namespace: operatorNs });
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: [keyIdentity(ref).name], verbs: ['get'] },
    ]);
    const binding = await rbac.readNamespacedRoleBinding({
      name: keyIdentity(ref).name,
      namespace: operatorNs,
    });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'ledger-keys', namespace: ns }]);

    // Changed or deleted by someone else, the key access is restored: the next pod start needs it.
    const kekName = keyIdentity(ref).name;
    await rbac.deleteNamespacedRoleBinding({ name: kekName, namespace: operatorNs });
    await rbac.patchNamespacedRole(
      {
        name: kekName,
        namespace: operatorNs,
        body: [{ op: 'add', path: '/rules/0/verbs/-', value: 'list' }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    await core.deleteNamespacedServiceAccount({ name: 'ledger-keys', namespace: ns });
    await eventually(
      'key access restored',
      async () => {
        const b = await rbac.readNamespacedRoleBinding({ name: kekName, namespace: operatorNs });
        const r = await rbac.readNamespacedRole({ name: kekName, namespace: operatorNs });
        const a = await core.readNamespacedServiceAccount({ name: 'ledger-keys', namespace: ns });
        return (
          b.subjects?.[0]?.name === 'ledger-keys' &&
          JSON.stringify(r.rules?.[0]?.verbs) === '["get"]' &&
          a.automountServiceAccountToken === false
        );
      },
      30_000,
      300,
    );
  }, 180_000);

  it('grows the claims to a larger size without deleting a claim or a pod', async () => {
    const before = await claimsOf('ledger');
    const podsBefore = (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_HUB}=ledger` }))
      .items;
    await patchHub(kc, ns, 'ledger', { spec: { storage: { size: '2Gi' } } });
    const grown = await eventually(
      'claims requesting 2Gi',
      async () => {
        const cs = await claimsOf('ledger');
        return cs.every((c) => c.spec?.resources?.requests?.['storage'] === '2Gi') ? cs : undefined;
      },
      60_000,
      500,
    );
    expect(grown.map((c) => c.metadata!.uid)).toEqual(before.map((c) => c.metadata!.uid));
    // The claim template follows (orphaning delete and re-apply), and the pods stay.
    const sts = await eventually(
      'StatefulSet claim template at 2Gi',
      async () => {
        const s = await statefulSet('ledger');
        return s?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.['storage'] === '2Gi'
          ? s
          : undefined;
      },
      60_000,
      500,
    );
    expect(sts.spec?.replicas).toBe(2);
    const events = await eventually('VolumesExpanded Event', async () => {
      const e = await hubEvents('ledger', 'VolumesExpanded');
      return e.length ? e : undefined;
    });
    expect(events[0]!.note).toContain('data-ledger-0');
    await eventually(
      'ledger DatastoreReady True again',
      async () => hubCondition(await hubNow('ledger'), 'DatastoreReady')?.status === 'True',
      60_000,
      500,
    );
    const podsAfter = (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_HUB}=ledger` }))
      .items;
    expect(podsAfter.map((p) => p.metadata!.uid).sort()).toEqual(
      podsBefore.map((p) => p.metadata!.uid).sort(),
    );
  }, 150_000);

  it('reports each storage-class failure with its reason and creates no StatefulSet', async () => {
    const runLabel = { [FIXTURE_LABEL]: fixtures.runId };
    const immediate = `hdh-immediate-${fixtures.runId}`;
    const usOnly = `hdh-us-${fixtures.runId}`;
    const base = {
      provisioner: 'kubernetes.io/no-provisioner',
      reclaimPolicy: 'Retain',
    };
    await storage.createStorageClass({
      body: {
        metadata: { name: immediate, labels: runLabel, annotations: { [ANNOTATION_ENCRYPTED]: 'true' } },
        ...base,
        volumeBindingMode: 'Immediate',
      },
    });
    await storage.createStorageClass({
      body: {
        metadata: { name: usOnly, labels: runLabel, annotations: { [ANNOTATION_ENCRYPTED]: 'true' } },
        ...base,
        volumeBindingMode: 'WaitForFirstConsumer',
        allowedTopologies: [
          { matchLabelExpressions: [{ key: 'topology.kubernetes.io/region', values: ['us-east-1'] }] },
        ],
      },
    });
    // A policy that lists one class only: the fixtures' encrypted class is not on it.
    await custom.createClusterCustomObject({
      ...SOVEREIGNTY_POLICY,
      body: {
        apiVersion: SOVEREIGNTY_POLICY.apiVersion,
        kind: SOVEREIGNTY_POLICY.kind,
        metadata: { name: listedPolicy },
        spec: {
          regions: ['fr-par', 'eu-west-3', 'de-fra'],
          nodeSelectorRequirements: [
            { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
            { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
          ],
          storage: { requireEncryption: true, allowedStorageClasses: ['some-other-class'] },
        },
      },
    });
    const notAllowed = hubWith('not-allowed', fixtures.encryptedClass);
    notAllowed.spec.policyName = listedPolicy;
    const cases: [HealthDataHub, string][] = [
      [hubWith('no-class', `missing-${fixtures.runId}`), 'StorageClassNotFound'],
      [notAllowed, 'StorageClassNotAllowed'],
      [hubWith('plain', fixtures.unencryptedClass), 'StorageNotEncrypted'],
      [hubWith('immediate', immediate), 'ImmediateBinding'],
      [hubWith('us-only', usOnly), 'TopologyOutsideJurisdiction'],
    ];
    for (const [hub] of cases) await createHub(kc, hub);
    for (const [hub, reason] of cases) {
      const name = hub.metadata.name!;
      const got = await eventually(
        `${name}: StorageReady False ${reason}`,
        async () => {
          const h = await hubNow(name);
          return hubCondition(h, 'StorageReady')?.reason === reason ? h : undefined;
        },
        60_000,
        300,
      );
      expect(hubCondition(got, 'StorageReady')!.status).toBe('False');
      expect(hubCondition(got, 'Ready')).toMatchObject({ status: 'False', reason });
      expect(hubCondition(got, 'DatastoreReady')).toMatchObject({ status: 'False' });
    }
    // Give the operator time to (wrongly) create something, then look.
    await new Promise((r) => setTimeout(r, 2000));
    for (const [hub] of cases) {
      expect(await statefulSet(hub.metadata.name!)).toBeUndefined();
      expect(await claimsOf(hub.metadata.name!)).toEqual([]);
    }
    for (const [hub] of cases) await deleteHub(hub.metadata.name!);
  }, 180_000);

  it('reports a claim bound to the us-east-1 volume as VolumeOutsideJurisdiction and keeps it', async () => {
    // The claim the hub's first replica would use, pre-bound by hand to the us-east-1a volume.
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: 'data-remote-0', labels: { [LABEL_HUB]: 'remote' } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: fixtures.encryptedClass,
          volumeName: fixtures.usVolume,
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    await fixtures.preBindUsVolume(ns, 'data-remote-0');
    const claim = await eventually('data-remote-0 Bound', async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ name: 'data-remote-0', namespace: ns });
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    await createHub(kc, hubWith('remote', fixtures.encryptedClass));
    const hub = await eventually(
      'remote: StorageReady False VolumeOutsideJurisdiction, KeysReady False KeyMissing',
      async () => {
        const h = await hubNow('remote');
        // The hub and the keys controllers report these in separate writes: both awaited.
        return hubCondition(h, 'StorageReady')?.reason === 'VolumeOutsideJurisdiction' &&
          hubCondition(h, 'KeysReady')?.reason === 'KeyMissing' &&
          hubCondition(h, 'Ready')?.reason === 'KeyMissing'
          ? h
          : undefined;
      },
      60_000,
      300,
    );
    expect(hubCondition(hub, 'StorageReady')!.message).toContain(fixtures.usVolume);
    // The pre-bound claim is evidence of existing data, so no key is created for it either:
    // KeysReady is KeyMissing, reported before storage in Ready.
    expect(hubCondition(hub, 'KeysReady')).toMatchObject({ status: 'False', reason: 'KeyMissing' });
    expect(hubCondition(hub, 'Ready')).toMatchObject({ status: 'False', reason: 'KeyMissing' });
    expect(hub.status?.storage?.claims?.[0]).toMatchObject({
      name: 'data-remote-0',
      volumeName: fixtures.usVolume,
      region: 'us-east-1',
    });
    await eventually('VolumeOutsideJurisdiction Warning Event', async () =>
      (await hubEvents('remote', 'VolumeOutsideJurisdiction')).some((e) => e.type === 'Warning'),
    );
    await eventually(
      'hdh_volume_violations for remote',
      async () =>
        metricValue(await op.metrics(), 'hdh_volume_violations', { namespace: ns, hub: 'remote' }) === 1,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const still = await core.readNamespacedPersistentVolumeClaim({ name: 'data-remote-0', namespace: ns });
    expect(still.metadata!.uid).toBe(claim.metadata!.uid);
    expect(still.metadata!.deletionTimestamp).toBeUndefined();
    expect(still.spec!.volumeName).toBe(fixtures.usVolume);
  }, 120_000);

  describe('deletion', () => {
    const NAME = 'archive';
    const archive = (extra: Partial<HealthDataHub['spec']> = {}) =>
      hubWith(NAME, fixtures.encryptedClass, extra);
    let claimUid: string;

    /** Creates the hub and waits until its claim exists and is the hub's (bound or adopted). */
    const createAndSettle = async (hub: HealthDataHub) => {
      const created = await createAndGet(hub);
      const claim = await eventually(
        `${NAME}: claim data-${NAME}-0 the hub's, bound`,
        async () => {
          const [c] = await claimsOf(NAME);
          return c && c.status?.phase === 'Bound' && !c.metadata?.labels?.[LABEL_RETAINED_FROM]
            ? c
            : undefined;
        },
        90_000,
        300,
      );
      return { hub: created, claim };
    };
    const expectRetained = async (hub: HealthDataHub) => {
      const [c] = await eventually(`${NAME}: claim retained`, async () => {
        const cs = await claimsOf(NAME);
        return cs.length === 1 && cs[0]!.metadata?.labels?.[LABEL_RETAINED_FROM] === hub.metadata.uid
          ? cs
          : undefined;
      });
      expect(c!.metadata!.uid).toBe(claimUid);
      expect(c!.metadata!.deletionTimestamp).toBeUndefined();
      expect(c!.metadata!.ownerReferences ?? []).toEqual([]);
    };

    it('keeps the claims by default, labelled retained-from, and a new hub of the same name adopts them', async () => {
      const { hub, claim } = await createAndSettle(archive());
      claimUid = claim.metadata!.uid!;
      await deleteHub(NAME);
      await expectRetained(hub);
      expect((await hubEvents(NAME, 'VolumesRetained')).length).toBeGreaterThan(0);

      const again = await createAndSettle(archive());
      expect(again.claim.metadata!.uid).toBe(claimUid);
      expect(again.claim.metadata!.annotations?.[ANNOTATION_ADOPTED_FROM]).toBe(hub.metadata.uid);
      await eventually(
        'ClaimsAdopted Event',
        async () => (await hubEvents(NAME, 'ClaimsAdopted')).length > 0,
      );
    }, 240_000);

    it('retention Delete without confirmation keeps the claims and says why in a Warning Event', async () => {
      const hub = await getHub(kc, ns, NAME);
      await patchHub(kc, ns, NAME, { spec: { storage: { retention: 'Delete' } } });
      await eventually('retention Delete observed', async () => {
        const h = await hubNow(NAME);
        return h?.spec.storage.retention === 'Delete';
      });
      await deleteHub(NAME);
      await expectRetained(hub);
      const warnings = await hubEvents(NAME, 'DeletionNotConfirmed');
      expect(warnings.some((e) => e.type === 'Warning' && e.note?.includes('is missing'))).toBe(true);
    }, 120_000);

    it('retention Delete with another UID keeps the claims', async () => {
      const { hub } = await createAndSettle(
        archive({ storage: { size: '1Gi', storageClassName: fixtures.encryptedClass, retention: 'Delete' } }),
      );
      await patchHub(kc, ns, NAME, {
        metadata: {
          annotations: { [ANNOTATION_CONFIRM_DESTROY]: '00000000-0000-0000-0000-000000000000' },
        },
      });
      await deleteHub(NAME);
      await expectRetained(hub);
      const warnings = await hubEvents(NAME, 'DeletionNotConfirmed');
      expect(warnings.some((e) => e.note?.includes('00000000-0000-0000-0000-000000000000'))).toBe(true);
    }, 240_000);

    it("retention Delete confirmed with the hub's UID deletes the claims", async () => {
      const { hub } = await createAndSettle(
        archive({ storage: { size: '1Gi', storageClassName: fixtures.encryptedClass, retention: 'Delete' } }),
      );
      await patchHub(kc, ns, NAME, {
        metadata: { annotations: { [ANNOTATION_CONFIRM_DESTROY]: hub.metadata.uid } },
      });
      await deleteHub(NAME);
      await eventually(
        `claims of ${NAME} deleted`,
        async () => (await claimsOf(NAME)).length === 0,
        90_000,
        500,
      );
      expect((await hubEvents(NAME, 'VolumesDeleted')).length).toBeGreaterThan(0);
    }, 240_000);
  });
});
