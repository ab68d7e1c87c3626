// Crash safety end to end: the operator is SIGKILLed ten times at random moments while a hub's
// keys are created and rotated. No stored version may ever change, none may be lost, and the hub
// never gets a second key-encryption key.
import { CoreV1Api } from '@kubernetes/client-node';
import { ANNOTATION_ROTATE_KEY, type HealthDataHub } from '../../../src/api/index.js';
import { BuiltinKeyProvider } from '../../../src/keys/builtin.js';
import { dekFingerprint, dekSecretName, parseDekSecret } from '../../../src/keys/dek.js';
import { hubRefOf, keyIdentity, LABEL_HUB_UID } from '../../../src/keys/identity.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteHubAndWait,
  deleteNamespaceAndWait,
  getHub,
  hubManifest,
  patchHub,
  prepareHubNamespace,
} from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const RESTARTS = 10;
const OPERATOR_NS = 'hdh-system';

describe('keys survive an operator killed at random moments', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const builtin = new BuiltinKeyProvider({ core, namespace: OPERATOR_NS });
  let ns: string;
  let fixtures: StorageFixtures;
  let op: OperatorProcess | undefined;

  beforeAll(async () => {
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-crash');
  });
  afterAll(async () => {
    await op?.stop('SIGKILL');
    const cleaner = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    await deleteHubAndWait(kc, ns, 'ledger');
    await cleaner.stop();
    await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
  });

  /** Fingerprints of every stored version, unwrapped with the hub's KEK (undefined: no keys yet). */
  async function observeVersions(hub: HealthDataHub): Promise<Map<number, string> | undefined> {
    const secret = await core
      .readNamespacedSecret({ name: dekSecretName('ledger'), namespace: ns })
      .catch(() => undefined);
    if (!secret) return undefined;
    const set = parseDekSecret(secret, hubRefOf(hub));
    const identity = keyIdentity(hubRefOf(hub));
    const out = new Map<number, string>();
    for (const v of set.versions) {
      const dek = await builtin.unwrap(identity, v.wrapped);
      out.set(v.version, dekFingerprint(dek));
      dek.fill(0);
    }
    return out;
  }

  async function keks(uid: string): Promise<number> {
    const list = await core.listNamespacedSecret({
      namespace: OPERATOR_NS,
      labelSelector: `${LABEL_HUB_UID}=${uid}`,
    });
    return list.items.length;
  }

  it(`never changes, loses or duplicates a key across ${RESTARTS} SIGKILLs during creation and rotation`, async () => {
    const manifest = hubManifest('ledger', ns);
    manifest.spec.storage.storageClassName = fixtures.encryptedClass;
    await createHub(kc, manifest);
    const hub = await getHub(kc, ns, 'ledger');
    const seen = new Map<number, string>();
    const check = async () => {
      const versions = await observeVersions(hub);
      if (!versions) return;
      expect([...versions.keys()]).toEqual(Array.from({ length: versions.size }, (_, i) => i + 1)); // no gap
      for (const [v, fp] of seen) expect(versions.get(v)).toBe(fp); // none changed or lost
      for (const [v, fp] of versions) seen.set(v, fp);
      expect(await keks(hub.metadata.uid!)).toBeLessThanOrEqual(1);
    };

    for (let i = 0; i < RESTARTS; i++) {
      op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
      if (i > 0) {
        await patchHub(kc, ns, 'ledger', { metadata: { annotations: { [ANNOTATION_ROTATE_KEY]: `r${i}` } } });
      }
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1500)));
      await op.stop('SIGKILL');
      op = undefined;
      await check();
    }

    // A clean run finishes whatever the last kill interrupted.
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    const final = await eventually(
      'KeysReady after the last restart',
      async () => {
        const h = await getHub(kc, ns, 'ledger');
        const c = h.status?.conditions?.find((x) => x.type === 'KeysReady');
        return c?.status === 'True' &&
          h.status?.encryption?.activeVersion === (await observeVersions(h))?.size
          ? h
          : undefined;
      },
      60_000,
      300,
    );
    await check();
    expect(await keks(hub.metadata.uid!)).toBe(1);
    expect(seen.size).toBeGreaterThanOrEqual(2); // created, and rotated at least once
    expect(seen.size).toBeLessThanOrEqual(RESTARTS); // at most one version per annotation value
    process.stderr.write(
      `crash restarts: ${RESTARTS} kills, ${seen.size} versions, active ${final.status?.encryption?.activeVersion}\n`,
    );
  }, 240_000);
});
