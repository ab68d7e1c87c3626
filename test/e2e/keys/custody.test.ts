// Key custody as the operator reports it, end to end: a hub whose key-encryption key is a Transit
// key (a real Vault dev server) shows status.encryption.custody read from the engine; once the key
// is made exportable at the engine (irreversible in Transit) and the hub is looked at again, the
// custody reads Extractable and a Warning Event says so.
import { CoreV1Api, EventsV1Api } from '@kubernetes/client-node';
import { Reason, type HealthDataHub, type HubEncryption } from '../../../src/api/index.js';
import { keyIdentity } from '../../../src/keys/identity.js';
import { testKubeConfig } from '../../support/cluster.js';
import { complianceReport, reportedHub } from '../../support/kubectl-hdh.js';
import { metricValue } from '../../support/metrics.js';
import {
  createHub,
  deleteHubAndWait,
  deleteNamespaceAndWait,
  getHub,
  hubManifest,
  patchHub,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { startVaultDevServer, transitEncryption, type VaultDevServer } from '../../support/vault.js';
import { eventually } from '../../support/wait.js';

const NAME = 'custody';

describe('key custody of a Transit hub', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let ns: string;
  let vault: VaultDevServer;
  let encryption: HubEncryption;
  let fixtures: StorageFixtures;
  let op: OperatorProcess;

  const manifest = (): HealthDataHub => {
    const hub = hubManifest(NAME, ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    hub.spec.encryption = encryption;
    return hub;
  };
  const warnings = async (uid: string, reason: string) =>
    (await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items.filter(
      (e) => e.regarding?.uid === uid && e.reason === reason && e.type === 'Warning',
    );

  beforeAll(async () => {
    vault = await startVaultDevServer();
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-custody');
    encryption = await transitEncryption(core, ns, vault);
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
  }, 90_000);
  afterAll(async () => {
    await deleteHubAndWait(kc, ns, NAME);
    await op?.stop();
    await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
    await vault?.stop();
  });

  it('reads NonExtractable from the engine, then Extractable with a Warning once the key is made exportable', async () => {
    await createHub(kc, manifest());
    const ready = await waitForHubCondition(kc, ns, NAME, 'KeysReady', { reason: 'KeyAvailable' });
    const uid = ready.metadata.uid!;
    expect(ready.status?.encryption?.custody).toEqual({
      verdict: 'NonExtractable',
      attributes: [
        { name: 'exportable', expected: 'false', observed: 'false' },
        { name: 'allow_plaintext_backup', expected: 'false', observed: 'false' },
      ],
      message: expect.stringContaining(`Transit engine ${vault.address} mount transit`),
    });

    expect(reportedHub(await complianceReport(ns), ns, NAME).keys.custody).toMatchObject({
      verdict: 'NonExtractable',
      attributes: expect.arrayContaining([{ name: 'exportable', expected: 'false', observed: 'false' }]),
    });

    // Someone with the engine's admin token makes the key exportable (Transit cannot undo it).
    const kek = keyIdentity({ namespace: ns, name: NAME, uid }).name;
    const config = await vault.api('POST', `/v1/transit/keys/${kek}/config`, { exportable: true });
    expect(config.status).toBeLessThan(300);
    // An annotation wakes the keys controller (Transit cannot be watched).
    await patchHub(kc, ns, NAME, { metadata: { annotations: { 'test.hdh.sovereign.eu/look': 'now' } } });

    const exported = await eventually(
      'custody Extractable',
      async () => {
        const h = await getHub(kc, ns, NAME);
        return h.status?.encryption?.custody?.verdict === 'Extractable' ? h : undefined;
      },
      60_000,
      300,
    );
    expect(exported.status?.encryption?.custody?.attributes).toContainEqual({
      name: 'exportable',
      expected: 'false',
      observed: 'true',
    });
    // The auditor's report says the same, as a failure of the hub.
    const report = await complianceReport(ns);
    const reported = reportedHub(report, ns, NAME);
    expect(reported.keys.custody).toMatchObject({ verdict: 'Extractable', weakest: false });
    expect(reported.compliant).toBe(false);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ severity: 'failure', check: 'key-custody', namespace: ns, hub: NAME }),
    );
    // The rest of the record stays: the same key, the same versions.
    expect(exported.status?.encryption).toMatchObject({
      keyRef: ready.status?.encryption?.keyRef,
      activeVersion: 1,
      versions: 1,
    });
    const [warning] = await eventually('KeyExtractable Event', async () => {
      const found = await warnings(uid, Reason.KeyExtractable);
      return found.length ? found : undefined;
    });
    expect(warning!.note).toContain('exportable=true');
    expect(warning!.note).toContain('move the data to a new hub');
    // An exportable Transit key was already refused for use (KeyInvalid); the custody reading
    // is the evidence of why, and changes nothing more.
    const keys = await waitForHubCondition(kc, ns, NAME, 'KeysReady', { reason: 'KeyInvalid' });
    expect(keys.status?.conditions?.find((c) => c.type === 'KeysReady')?.message).toContain('exportable');

    // Looked at again (the keys controller reconciles the hub once more): said once.
    const keysReconciles = async () =>
      metricValue(await op.metrics(), 'controller_runtime_reconcile_total', { controller: 'keys' });
    const before = await keysReconciles();
    await patchHub(kc, ns, NAME, { metadata: { annotations: { 'test.hdh.sovereign.eu/look': 'again' } } });
    await eventually(
      'the keys controller looked at the hub again',
      async () => (await keysReconciles()) > before,
    );
    expect(await warnings(uid, Reason.KeyExtractable)).toHaveLength(1);
  }, 120_000);
});
