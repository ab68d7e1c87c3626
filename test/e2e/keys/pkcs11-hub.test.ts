// A hub whose key-encryption key lives in an HSM token (SoftHSM2), driven the way users drive it:
// the operator as its own process, the hub applied through the API, the PIN in a Secret.
import { CoreV1Api } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { ANNOTATION_ROTATE_KEY, type HealthDataHub } from '../../../src/api/index.js';
import { keyIdentity } from '../../../src/keys/identity.js';
import { finalizePkcs11Modules } from '../../../src/keys/pkcs11.js';
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
import { complianceReport, reportedHub } from '../../support/kubectl-hdh.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import {
  allowedTokensFlag,
  createSoftHsmToken,
  findKeyObjects,
  softHsmAllowedModulesFlag,
  withTokenSession,
  type SoftHsmToken,
} from '../../support/softhsm.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

describe('a hub with its key-encryption key in a PKCS#11 token', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const pin = randomBytes(12).toString('hex');
  let ns: string;
  let token: SoftHsmToken;
  let fixtures: StorageFixtures;
  let op: OperatorProcess;
  let kekLabel: string;

  const annotate = (value: string) =>
    patchHub(kc, ns, 'vault', { metadata: { annotations: { [ANNOTATION_ROTATE_KEY]: value } } });
  const keyObjects = () => withTokenSession(token, (t) => findKeyObjects(t, kekLabel).length);

  beforeAll(async () => {
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-hsm');
    token = createSoftHsmToken(`hdh-e2e-${Date.now().toString(36)}`, pin);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'hsm-pin' }, stringData: { pin } },
    });
    op = await startOperatorProcess([
      `--namespace=${ns}`,
      '--leader-elect=false',
      '--log-level=debug',
      softHsmAllowedModulesFlag(),
      allowedTokensFlag(token, ns),
    ]);
  });
  afterAll(async () => {
    // The hub goes while the operator runs (its finalizer keeps the keys and claims), then the
    // namespace with its claims, so that the fixture volumes are released.
    await deleteHubAndWait(kc, ns, 'vault');
    await op?.stop();
    await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
    // SoftHSM2 sees only the tokens present when it was initialised: let the next test file
    // initialise it afresh.
    finalizePkcs11Modules();
  });

  it('creates one non-extractable KEK in the token, rotates by annotation, and blocks on a KEK deleted out of band', async () => {
    const hub = hubManifest('vault', ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    hub.spec.encryption = {
      provider: 'pkcs11',
      pkcs11: {
        module: token.module,
        tokenLabel: token.label,
        pinSecretRef: { name: 'hsm-pin', key: 'pin' },
      },
    } as HealthDataHub['spec']['encryption'];
    await createHub(kc, hub);

    const ready = await waitForHubCondition(kc, ns, 'vault', 'KeysReady', { status: 'True' }, 60_000);
    expect(ready.status?.encryption).toMatchObject({ provider: 'pkcs11', activeVersion: 1 });
    kekLabel = keyIdentity({ namespace: ns, name: 'vault', uid: ready.metadata.uid! }).name;
    expect(ready.status?.encryption?.keyRef).toContain(ready.metadata.uid);

    // Exactly one key object, which the token refuses to reveal.
    withTokenSession(token, ({ lib, pk, session }) => {
      const handles = findKeyObjects({ lib, pk, session }, kekLabel);
      expect(handles).toHaveLength(1);
      const [extractable, sensitive] = lib.C_GetAttributeValue(session, handles[0]!, [
        { type: pk.CKA_EXTRACTABLE },
        { type: pk.CKA_SENSITIVE },
      ]);
      expect(extractable!.value).toEqual(Buffer.from([0]));
      expect(sensitive!.value).toEqual(Buffer.from([1]));
      expect(() => lib.C_GetAttributeValue(session, handles[0]!, [{ type: pk.CKA_VALUE }])).toThrow(
        /ATTRIBUTE_SENSITIVE/,
      );
    });

    // The operator read the same from the token, and the auditor's report shows it.
    const custody = (await getHub(kc, ns, 'vault')).status?.encryption?.custody;
    expect(custody?.verdict).toBe('NonExtractable');
    expect(custody?.attributes).toEqual(
      expect.arrayContaining([
        { name: 'CKA_SENSITIVE', expected: 'true', observed: 'true' },
        { name: 'CKA_EXTRACTABLE', expected: 'false', observed: 'false' },
      ]),
    );
    const reported = reportedHub(await complianceReport(ns), ns, 'vault');
    expect(reported.keys.custody.verdict).toBe('NonExtractable');
    // The same attributes (the report sorts them by name).
    const attributes = custody?.attributes ?? [];
    expect(reported.keys.custody.attributes).toHaveLength(attributes.length);
    expect(reported.keys.custody.attributes).toEqual(expect.arrayContaining(attributes));

    // Each new annotation value adds exactly one version; seeing a value again adds none.
    await annotate('rotation-1');
    await eventually(
      'version 2',
      async () => (await getHub(kc, ns, 'vault')).status?.encryption?.activeVersion === 2,
    );
    await annotate('rotation-1');
    await patchHub(kc, ns, 'vault', { metadata: { labels: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 2000));
    expect((await getHub(kc, ns, 'vault')).status?.encryption?.activeVersion).toBe(2);
    expect(keyObjects()).toBe(1);

    // The KEK destroyed behind the operator's back: KeyMissing, and nothing is created anew.
    withTokenSession(token, ({ lib, pk, session }) => {
      for (const h of findKeyObjects({ lib, pk, session }, kekLabel)) lib.C_DestroyObject(session, h);
    });
    await annotate('rotation-2'); // wake the hub
    const blocked = await waitForHubCondition(kc, ns, 'vault', 'KeysReady', { reason: 'KeyMissing' }, 60_000);
    expect(hubCondition(blocked, 'KeysReady')!.status).toBe('False');
    // Ready follows from the hub controller, woken by the keys controller's report.
    await waitForHubCondition(kc, ns, 'vault', 'Ready', { status: 'False', reason: 'KeyMissing' });
    await new Promise((r) => setTimeout(r, 2000));
    expect(keyObjects()).toBe(0);
    const secret = await core.readNamespacedSecret({ name: 'vault-keys', namespace: ns });
    expect(Object.keys(secret.data ?? {}).filter((k) => /^dek-v\d+$/.test(k))).toEqual(['dek-v1', 'dek-v2']);

    // The PIN never reached the operator's output (debug logs) nor the hub's status.
    expect(op.output()).not.toContain(pin);
    expect(JSON.stringify(blocked.status)).not.toContain(pin);
  }, 150_000);
});
