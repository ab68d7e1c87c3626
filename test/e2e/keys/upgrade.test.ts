// Keys made before the current key identity scheme keep working after the operator is upgraded:
// hubs whose KEK is named `hdh-<namespace>-<name>-<uid>` (builtin Secret with its Role, PKCS#11
// object with the bare UID as CKA_ID), made as the earlier operator made them, stay KeysReady
// with the same KEK, rotate, move their datastore's access to the current Role name, have their
// keys adopted by a recreated hub (PKCS#11: through the owner record the operator writes), and
// are crypto-shredded. The operator runs as its own process, as users run it.
import { AuthorizationV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import {
  ANNOTATION_ADOPT_KEYS,
  ANNOTATION_CONFIRM_DESTROY,
  ANNOTATION_ROTATE_KEY,
  FIELD_MANAGER,
  type HubEncryption,
} from '../../../src/api/index.js';
import { dekDelivery } from '../../../src/keys/delivery.js';
import { keyIdentity } from '../../../src/keys/identity.js';
import { kekAccessList, renderKekAccess } from '../../../src/keys/kek-access.js';
import { OWNER_RECORD_TYPE, ownerRecordName } from '../../../src/keys/owner-record.js';
import { finalizePkcs11Modules } from '../../../src/keys/pkcs11.js';
import { Writer } from '../../../src/runtime/apply.js';
import { ApiClients } from '../../../src/runtime/client.js';
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
import { writeLegacyKeys, type LegacyKeys } from '../../support/legacy-keys.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import {
  allowedTokensFlag,
  createSoftHsmToken,
  findKeyObjects,
  softHsmAllowedModulesFlag,
  tokenFor,
  withTokenSession,
  type SoftHsmToken,
} from '../../support/softhsm.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const OPERATOR_NS = 'hdh-system';

describe('keys made under the earlier identity scheme, after an upgrade', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const pin = randomBytes(12).toString('hex');
  let ns: string;
  let token: SoftHsmToken;
  let fixtures: StorageFixtures;
  let op: OperatorProcess | undefined;
  const legacy = new Map<string, LegacyKeys>();
  const uids = new Map<string, string>();

  const pkcs11 = (): HubEncryption =>
    ({
      provider: 'pkcs11',
      pkcs11: {
        module: token.module,
        tokenLabel: token.label,
        pinSecretRef: { name: 'hsm-pin', key: 'pin' },
      },
    }) as HubEncryption;
  const manifest = (name: string, encryption: HubEncryption, annotations?: Record<string, string>) => {
    const hub = hubManifest(name, ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    hub.spec.encryption = encryption;
    if (annotations) hub.metadata.annotations = annotations;
    return hub;
  };
  const canRead = async (serviceAccount: string, secret: string) =>
    (
      await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${ns}:${serviceAccount}`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
            resourceAttributes: { namespace: OPERATOR_NS, verb: 'get', resource: 'secrets', name: secret },
          },
        },
      })
    ).status?.allowed;
  const roleExists = (name: string) =>
    rbac.readNamespacedRole({ name, namespace: OPERATOR_NS }).then(
      () => true,
      () => false,
    );
  const rotate = async (name: string, value: string, version: number) => {
    await patchHub(kc, ns, name, { metadata: { annotations: { [ANNOTATION_ROTATE_KEY]: value } } });
    return eventually(
      `${name} version ${version}`,
      async () => {
        const h = await getHub(kc, ns, name);
        return h.status?.encryption?.activeVersion === version &&
          hubCondition(h, 'KeysReady')?.status === 'True'
          ? h
          : undefined;
      },
      60_000,
      300,
    );
  };

  beforeAll(async () => {
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-upgrade');
    token = createSoftHsmToken(`hdh-up-${Date.now().toString(36)}`, pin);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'hsm-pin' }, stringData: { pin } },
    });
    // Before the upgrade: hubs with keys as the earlier operator left them, no operator running.
    for (const [name, encryption] of [
      ['old-builtin', { provider: 'builtin' } as HubEncryption],
      ['old-hsm', pkcs11()],
    ] as const) {
      await createHub(kc, manifest(name, encryption));
      const hub = await getHub(kc, ns, name);
      uids.set(name, hub.metadata.uid!);
      legacy.set(
        name,
        await writeLegacyKeys(kc, hub, {
          core,
          operatorNamespace: OPERATOR_NS,
          pkcs11AllowedModules: token.allowedModules,
          pkcs11AllowedTokens: tokenFor(token, ns),
        }),
      );
    }
    // The earlier operator's grant for the builtin hub: a Role named after the legacy identity.
    const hub = await getHub(kc, ns, 'old-builtin');
    const old = legacy.get('old-builtin')!.kek.name;
    const access = {
      ...dekDelivery(hub, { image: 'unused', operatorNamespace: OPERATOR_NS }).kekAccess!,
      kekSecret: old,
      roleName: old,
    };
    const writer = new Writer(new ApiClients(kc), FIELD_MANAGER);
    for (const obj of kekAccessList(
      renderKekAccess({ namespace: ns, name: 'old-builtin', uid: uids.get('old-builtin')! }, access),
    )) {
      await writer.apply(obj);
    }
    expect(await canRead('old-builtin-keys', old)).toBe(true);
    // The upgrade: the current operator starts.
    op = await startOperatorProcess([
      `--namespace=${ns}`,
      '--leader-elect=false',
      '--log-level=debug',
      softHsmAllowedModulesFlag(),
      allowedTokensFlag(token, ns),
    ]);
  }, 120_000);

  afterAll(async () => {
    for (const name of ['old-builtin', 'old-hsm']) await deleteHubAndWait(kc, ns, name);
    await op?.stop();
    await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
    finalizePkcs11Modules();
  }, 180_000);

  it('builtin: stays KeysReady on its KEK, rotates, its access moves to the current Role, and crypto-shreds', async () => {
    const { kek, kekRef } = legacy.get('old-builtin')!;
    const uid = uids.get('old-builtin')!;
    const ready = await waitForHubCondition(kc, ns, 'old-builtin', 'KeysReady', { status: 'True' });
    expect(ready.status?.encryption).toMatchObject({ keyRef: kekRef, activeVersion: 1 });
    expect(kekRef).toBe(`secret/${OPERATOR_NS}/hdh-${ns}-old-builtin-${uid}`);

    const rotated = await rotate('old-builtin', 'after-upgrade', 2);
    expect(rotated.status?.encryption?.keyRef).toBe(kekRef);
    // The datastore's account reads the same KEK, through a Role under the current name; the
    // Role of the earlier name is gone.
    const current = keyIdentity({ namespace: ns, name: 'old-builtin', uid }).name;
    await eventually(
      'the earlier Role removed',
      async () => !(await roleExists(kek.name)) && (await roleExists(current)),
    );
    const role = await rbac.readNamespacedRole({ name: current, namespace: OPERATOR_NS });
    expect(role.rules?.[0]?.resourceNames).toEqual([kek.name]);
    expect(await canRead('old-builtin-keys', kek.name)).toBe(true);

    // A confirmed crypto-shred destroys that very KEK, and the grant goes with the hub.
    await patchHub(kc, ns, 'old-builtin', {
      metadata: { annotations: { [ANNOTATION_CONFIRM_DESTROY]: uid } },
      spec: { encryption: { onDelete: 'CryptoShred' } },
    });
    await deleteHubAndWait(kc, ns, 'old-builtin');
    await expect(core.readNamespacedSecret({ name: kek.name, namespace: OPERATOR_NS })).rejects.toMatchObject(
      { code: 404 },
    );
    expect(await roleExists(current)).toBe(false);
    expect(await canRead('old-builtin-keys', kek.name)).toBe(false);
  }, 180_000);

  it('pkcs11: stays KeysReady on its key object, rotates, and a recreated hub adopts the keys through the owner record', async () => {
    const { kek, kekRef } = legacy.get('old-hsm')!;
    const uid = uids.get('old-hsm')!;
    const ready = await waitForHubCondition(kc, ns, 'old-hsm', 'KeysReady', { status: 'True' });
    expect(ready.status?.encryption?.keyRef).toBe(kekRef);
    expect(kekRef).toContain(`object=hdh-${ns}-old-hsm-${uid};`);
    await rotate('old-hsm', 'after-upgrade', 2);

    // The hub used its own legacy key: the operator recorded that it owns it.
    const record = await eventually('owner record', () =>
      core.readNamespacedSecret({
        name: ownerRecordName({ namespace: ns, name: 'old-hsm', uid }),
        namespace: OPERATOR_NS,
      }),
    );
    expect(record.type).toBe(OWNER_RECORD_TYPE);

    // Deleted keeping its keys, recreated, and asked to adopt them: the record says they are of
    // a hub of this namespace and name, so they are adopted, still wrapped by the same object.
    await deleteHubAndWait(kc, ns, 'old-hsm');
    await createHub(kc, manifest('old-hsm', pkcs11(), { [ANNOTATION_ADOPT_KEYS]: uid }));
    const adopted = await waitForHubCondition(kc, ns, 'old-hsm', 'KeysReady', { status: 'True' });
    expect(adopted.metadata.uid).not.toBe(uid);
    expect(adopted.status?.encryption).toMatchObject({ keyRef: kekRef, activeVersion: 2 });
    await rotate('old-hsm', 'after-adoption', 3);
    expect(withTokenSession(token, (t) => findKeyObjects(t, kek.name).length)).toBe(1);
    // No key under the current scheme was made for either hub.
    for (const u of [uid, adopted.metadata.uid!]) {
      const name = keyIdentity({ namespace: ns, name: 'old-hsm', uid: u }).name;
      expect(withTokenSession(token, (t) => findKeyObjects(t, name).length)).toBe(0);
    }
  }, 180_000);
});
