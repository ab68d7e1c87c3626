// A hub whose key-encryption key is a Transit key (a real Vault dev server, the API OpenBao serves
// too), driven the way users drive it: the operator as its own process, the hub applied through
// the API, the token in a Secret. Rotation rotates the KEK and rewraps; a hub recreated under the
// same name adopts the kept keys only when asked to.
import { AppsV1Api, CoreV1Api, EventsV1Api } from '@kubernetes/client-node';
import {
  ANNOTATION_ADOPT_KEYS,
  ANNOTATION_ROTATE_KEY,
  LABEL_RETAINED_FROM,
  type HealthDataHub,
  type HubEncryption,
} from '../../../src/api/index.js';
import { dekSecretName, parseDekSecret } from '../../../src/keys/dek.js';
import { hubRefOf, keyIdentity } from '../../../src/keys/identity.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteHubAndWait,
  deleteNamespaceAndWait,
  getHub,
  hubCondition,
  hubManifest,
  patchHub,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { startVaultDevServer, transitEncryption, type VaultDevServer } from '../../support/vault.js';
import { eventually } from '../../support/wait.js';

const NAME = 'registry';

describe('a hub with its key-encryption key in a Transit engine', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let ns: string;
  let vault: VaultDevServer;
  let encryption: HubEncryption;
  let fixtures: StorageFixtures;
  let op: OperatorProcess;

  const patchMetadata = (metadata: object) => patchHub(kc, ns, NAME, { metadata });
  const storedKeys = async (hub: HealthDataHub) =>
    parseDekSecret(
      await core.readNamespacedSecret({ name: dekSecretName(NAME), namespace: ns }),
      hubRefOf(hub),
    );
  const kekPath = (uid: string) => `/v1/transit/keys/${keyIdentity({ namespace: ns, name: NAME, uid }).name}`;
  const eventReasons = async (uid: string): Promise<string[]> =>
    (await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items
      .filter((e) => e.regarding?.uid === uid)
      .map((e) => e.reason ?? '');
  const manifest = (annotations?: Record<string, string>): HealthDataHub => {
    const hub = hubManifest(NAME, ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    hub.spec.encryption = encryption;
    if (annotations) hub.metadata.annotations = annotations;
    return hub;
  };

  beforeAll(async () => {
    vault = await startVaultDevServer();
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-transit');
    encryption = await transitEncryption(core, ns, vault);
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false', '--log-level=debug']);
  });
  afterAll(async () => {
    await deleteHubAndWait(kc, ns, NAME);
    await op?.stop();
    await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
    await vault?.stop();
  });

  it('creates a non-exportable KEK, rotates it with the keys and rewraps, and adopts kept keys only when asked', async () => {
    await createHub(kc, manifest());
    const ready = await waitForHubCondition(kc, ns, NAME, 'KeysReady', { reason: 'KeyAvailable' });
    const uid = ready.metadata.uid!;
    expect(ready.status?.encryption).toMatchObject({ provider: 'transit', activeVersion: 1, versions: 1 });
    expect(ready.status?.encryption?.keyRef).toBe(`${vault.address}${kekPath(uid)}`);
    const kek = await vault.api('GET', kekPath(uid));
    expect(kek.body?.data).toMatchObject({
      exportable: false,
      allow_plaintext_backup: false,
      latest_version: 1,
    });

    // The datastore's pods get the keys through the init container, with the token mounted there only.
    const sts = await eventually('StatefulSet', () =>
      kc
        .makeApiClient(AppsV1Api)
        .readNamespacedStatefulSet({ name: NAME, namespace: ns })
        .catch(() => undefined),
    );
    const pod = sts.spec!.template.spec!;
    const init = pod.initContainers?.find((c) => c.name === 'unwrap-dek');
    expect(init?.args).toEqual(
      expect.arrayContaining([
        '--provider=transit',
        `--transit-address=${vault.address}`,
        `--hub-uid=${uid}`,
      ]),
    );
    for (const c of pod.containers) {
      expect(c.volumeMounts?.some((m) => m.name === 'hdh-key-credentials')).toBeFalsy();
      expect(JSON.stringify(c.env ?? [])).not.toMatch(/token|dek/i);
    }

    // A rotation adds a DEK version and a KEK version; every stored version is rewrapped under it.
    await patchMetadata({ annotations: { [ANNOTATION_ROTATE_KEY]: 'first' } });
    const rotated = await eventually('version 2', async () => {
      const h = await getHub(kc, ns, NAME);
      return h.status?.encryption?.activeVersion === 2 ? h : undefined;
    });
    expect((await vault.api('GET', kekPath(uid))).body?.data?.latest_version).toBe(2);
    expect((await storedKeys(rotated)).versions.map((v) => v.wrapped.split(':')[1])).toEqual(['v2', 'v2']);

    // The KEK rotated at the engine: the operator rewraps, without a new DEK version.
    expect((await vault.api('POST', `${kekPath(uid)}/rotate`)).status).toBeLessThan(300);
    await patchMetadata({ labels: { touched: 'rewrap' } }); // wake the hub (watch events, not a resync)
    await eventually('rewrapped under version 3', async () =>
      (await storedKeys(rotated)).versions.every((v) => v.wrapped.startsWith('vault:v3:')),
    );
    expect((await getHub(kc, ns, NAME)).status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });
    await eventually('KeysRewrapped event', async () => (await eventReasons(uid)).includes('KeysRewrapped'));

    // Deleted with the default Keep: the keys stay, marked; a recreated hub does not use them...
    await deleteHubAndWait(kc, ns, NAME);
    const kept = await core.readNamespacedSecret({ name: dekSecretName(NAME), namespace: ns });
    expect(kept.metadata?.labels?.[LABEL_RETAINED_FROM]).toBe(uid);
    await createHub(kc, manifest());
    const blocked = await waitForHubCondition(kc, ns, NAME, 'KeysReady', { reason: 'RetainedKeysFound' });
    expect(hubCondition(blocked, 'KeysReady')!.message).toContain(`${ANNOTATION_ADOPT_KEYS}=${uid}`);
    // Ready follows from the hub controller, woken by the keys controller's report.
    await waitForHubCondition(kc, ns, NAME, 'Ready', { status: 'False' });
    expect((await vault.api('GET', kekPath(blocked.metadata.uid!))).status).toBe(404);

    // ...until the annotation names the earlier hub: then it adopts them, KEK and versions unchanged.
    await patchMetadata({ annotations: { [ANNOTATION_ADOPT_KEYS]: uid } });
    const adopted = await waitForHubCondition(kc, ns, NAME, 'KeysReady', { reason: 'KeyAvailable' });
    expect(adopted.status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });
    expect(adopted.status?.encryption?.keyRef).toBe(`${vault.address}${kekPath(uid)}`);
    expect((await vault.api('GET', kekPath(adopted.metadata.uid!))).status).toBe(404);
    const set = await storedKeys(adopted);
    expect(set).toMatchObject({ hubUid: adopted.metadata.uid, kekUid: uid });
    expect(set.versions.every((v) => v.wrapped.startsWith('vault:v3:'))).toBe(true);
    await eventually('KeysAdopted event', async () =>
      (await eventReasons(adopted.metadata.uid!)).includes('KeysAdopted'),
    );

    // The token never reached the operator's output (debug logs) nor the hub's status.
    expect(op.output()).not.toContain(vault.rootToken);
    expect(JSON.stringify(adopted.status)).not.toContain(vault.rootToken);
  }, 180_000);
});
