// A tenant tries to obtain and destroy another tenant's key-encryption key, for every provider.
// The victim hub is `<p>-a/x…`; the tenant administers namespace `<p>` (the built-in `admin`
// ClusterRole there, and every verb on healthdatahubs) and names its hub `a-x…`, so that under the
// first key identity scheme both hubs' key names share the prefix `hdh-<p>-a-x…-`. It writes
// a `<hub>-keys` Secret naming the victim's KEK (copied wrapped key, the victim's UID as kek-uid),
// asks its hub to adopt those keys, with onDelete CryptoShred, then deletes its hub with its own
// confirm-destroy. The operator must never use, grant access to, or destroy the victim's KEK.
// The operator runs as processes, as users run it: one per namespace (each test file shares the
// cluster, so none watches every namespace).
import {
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ANNOTATION_ADOPT_KEYS,
  ANNOTATION_CONFIRM_DESTROY,
  ANNOTATION_ROTATE_KEY,
  HEALTH_DATA_HUB,
  type HealthDataHub,
  type HubEncryption,
} from '../../../src/api/index.js';
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
} from '../../support/hubs.js';
import { writeLegacyKeys } from '../../support/legacy-keys.js';
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
import { createNamespace, tenantAdmin } from '../../support/tenant.js';
import { startVaultDevServer, transitEncryption, type VaultDevServer } from '../../support/vault.js';
import { eventually } from '../../support/wait.js';

type Provider = 'builtin' | 'pkcs11' | 'transit';
const OPERATOR_NS = 'hdh-system';

describe("a tenant cannot obtain or destroy another hub's key-encryption key", () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const pin = randomBytes(12).toString('hex');
  let attackerNs: string;
  let victimNs: string;
  let tenant: KubeConfig;
  let fixtures: StorageFixtures;
  let token: SoftHsmToken;
  let vault: VaultDevServer;
  const transit: Record<string, HubEncryption> = {};
  const ops = new Map<string, OperatorProcess>();
  const made: [string, string][] = [];

  const startOperator = async (ns: string) =>
    ops.set(
      ns,
      await startOperatorProcess([
        `--namespace=${ns}`,
        '--leader-elect=false',
        '--log-level=debug',
        softHsmAllowedModulesFlag(),
        // The platform lets both namespaces share the token: ownership must hold all the same.
        allowedTokensFlag(token, victimNs, attackerNs),
      ]),
    );

  const encryption = (provider: Provider, ns: string): HubEncryption => {
    switch (provider) {
      case 'builtin':
        return { provider: 'builtin' };
      case 'pkcs11':
        return {
          provider: 'pkcs11',
          pkcs11: {
            module: token.module,
            tokenLabel: token.label,
            pinSecretRef: { name: 'hsm-pin', key: 'pin' },
          },
        } as HubEncryption;
      case 'transit':
        return transit[ns]!;
    }
  };
  const manifest = (provider: Provider, ns: string, name: string): HealthDataHub => {
    const hub = hubManifest(name, ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    hub.spec.encryption = encryption(provider, ns);
    made.push([ns, name]);
    return hub;
  };

  /** The key name inside a provider reference (status.encryption.keyRef, kek-ref). */
  const kekNameOf = (ref: string): string =>
    /;object=([^;]+);/.exec(ref)?.[1] ?? ref.slice(ref.lastIndexOf('/') + 1);
  const kekExists = async (provider: Provider, name: string): Promise<boolean> => {
    switch (provider) {
      case 'builtin':
        return core.readNamespacedSecret({ name, namespace: OPERATOR_NS }).then(
          () => true,
          (e: { code?: number }) => {
            if (e.code === 404) return false;
            throw e;
          },
        );
      case 'pkcs11':
        return withTokenSession(token, (t) => findKeyObjects(t, decodeURIComponent(name)).length) === 1;
      case 'transit':
        return (await vault.api('GET', `/v1/transit/keys/${name}`)).status === 200;
    }
  };
  /** Waits until the hub reports KeysReady with a settled reason (not in progress, not waiting). */
  const settledKeys = (ns: string, name: string) =>
    eventually(
      `${ns}/${name} KeysReady settled`,
      async () => {
        const hub = await getHub(kc, ns, name);
        const c = hubCondition(hub, 'KeysReady');
        return c && !['Reconciling', 'KeyProviderUnavailable'].includes(c.reason) ? hub : undefined;
      },
      60_000,
      300,
    );

  beforeAll(async () => {
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    attackerNs = await prepareHubNamespace(kc, 'ko');
    victimNs = `${attackerNs}-a`;
    await createNamespace(victimNs);
    tenant = await tenantAdmin(attackerNs);
    token = createSoftHsmToken(`hdh-ko-${Date.now().toString(36)}`, pin);
    vault = await startVaultDevServer();
    // The victim's Secrets by the platform; the tenant's own by the tenant, in its namespace. Both
    // use the same token and Transit server: the operator must keep them apart all the same.
    await core.createNamespacedSecret({
      namespace: victimNs,
      body: { metadata: { name: 'hsm-pin' }, stringData: { pin } },
    });
    const tenantCore = tenant.makeApiClient(CoreV1Api);
    await tenantCore.createNamespacedSecret({
      namespace: attackerNs,
      body: { metadata: { name: 'hsm-pin' }, stringData: { pin } },
    });
    transit[victimNs] = await transitEncryption(core, victimNs, vault);
    transit[attackerNs] = await transitEncryption(tenantCore, attackerNs, vault);
    await startOperator(victimNs);
    await startOperator(attackerNs);
  }, 120_000);

  afterAll(async () => {
    for (const [ns, name] of made) await deleteHubAndWait(kc, ns, name);
    for (const op of ops.values()) await op.stop();
    for (const ns of [attackerNs, victimNs]) if (ns) await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
    await vault?.stop();
    finalizePkcs11Modules();
  }, 180_000);

  /**
   * The attack on the victim hub `<p>-a/x<s>` (KeysReady) by the tenant's hub `<p>/a-x<s>`, and
   * what must hold: the tenant's hub blocked with `expectedReason`, no grant, the victim's KEK alive.
   */
  async function attack(provider: Provider, s: string, expectedReason: string): Promise<void> {
    const victimName = `x${s}`;
    const attackerName = `a-x${s}`;
    const victim = await eventually(
      'victim KeysReady',
      async () => {
        const hub = await getHub(kc, victimNs, victimName);
        return hubCondition(hub, 'KeysReady')?.status === 'True' ? hub : undefined;
      },
      60_000,
      300,
    );
    const victimKekRef = victim.status!.encryption!.keyRef!;
    const kekName = kekNameOf(victimKekRef);
    expect(await kekExists(provider, kekName)).toBe(true);

    // What the tenant writes: a key set naming the victim's KEK, with the victim's wrapped key.
    const stolen = await core.readNamespacedSecret({ name: `${victimName}-keys`, namespace: victimNs });
    const field = (k: string) => Buffer.from(stolen.data![k]!, 'base64').toString('utf8');
    const anyUid = randomUUID();
    await tenant.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: attackerNs,
      body: {
        metadata: { name: `${attackerName}-keys` },
        type: 'hdh.sovereign.eu/wrapped-keys',
        stringData: {
          'hub-uid': anyUid,
          'kek-uid': victim.metadata.uid!,
          provider,
          'kek-ref': field('kek-ref'),
          'active-version': '1',
          'dek-v1': field('dek-v1'),
          'dek-v1-created': field('dek-v1-created'),
        },
      },
    });
    const hub = manifest(provider, attackerNs, attackerName);
    hub.metadata.annotations = { [ANNOTATION_ADOPT_KEYS]: anyUid };
    hub.spec.encryption = { ...hub.spec.encryption!, onDelete: 'CryptoShred' };
    await createHub(tenant, hub);

    // Not KeysReady, with a reason that says why; the victim's KEK is nowhere in its status.
    const attacker = await settledKeys(attackerNs, attackerName);
    const keys = hubCondition(attacker, 'KeysReady')!;
    expect({ status: keys.status, reason: keys.reason }).toEqual({ status: 'False', reason: expectedReason });
    expect(keys.message).toContain(`${attackerNs}/${attackerName}`);
    expect(JSON.stringify(attacker.status?.encryption ?? {})).not.toContain(kekName);
    // Only a person can lift it: Stalled, never Reconciling (kstatus reads Failed, not InProgress).
    expect(hubCondition(attacker, 'Stalled')).toMatchObject({ status: 'True', reason: expectedReason });
    expect(hubCondition(attacker, 'Reconciling')?.status).not.toBe('True');

    // No Role or RoleBinding lets the tenant's key service account read the victim's KEK.
    const review = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: {
        spec: {
          user: `system:serviceaccount:${attackerNs}:${attackerName}-keys`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${attackerNs}`, 'system:authenticated'],
          resourceAttributes: { namespace: OPERATOR_NS, verb: 'get', resource: 'secrets', name: kekName },
        },
      },
    });
    expect(review.status?.allowed).toBe(false);
    const bindings = await kc
      .makeApiClient(RbacAuthorizationV1Api)
      .listNamespacedRoleBinding({ namespace: OPERATOR_NS });
    expect(
      bindings.items.filter((b) =>
        b.subjects?.some((x) => x.kind === 'ServiceAccount' && x.namespace === attackerNs),
      ),
    ).toEqual([]);

    // The tenant confirms the destruction of its own hub's keys and deletes it.
    await patchHub(tenant, attackerNs, attackerName, {
      metadata: { annotations: { [ANNOTATION_CONFIRM_DESTROY]: attacker.metadata.uid } },
    });
    await tenant
      .makeApiClient(CustomObjectsApi)
      .deleteNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace: attackerNs, name: attackerName });
    // It holds no keys of its own, so the deletion completes; the victim's KEK is untouched.
    await eventually(
      'the attacker hub gone',
      async () => !(await getHub(kc, attackerNs, attackerName).catch(() => undefined)),
      30_000,
      300,
    );
    expect(await kekExists(provider, kekName)).toBe(true);

    // The victim still has its keys: a rotation proves the KEK is there and unwraps.
    const before = (await getHub(kc, victimNs, victimName)).status!.encryption!.activeVersion!;
    await patchHub(kc, victimNs, victimName, {
      metadata: { annotations: { [ANNOTATION_ROTATE_KEY]: `after-${s}` } },
    });
    const rotated = await eventually(
      'victim rotated',
      async () => {
        const h = await getHub(kc, victimNs, victimName);
        return h.status?.encryption?.activeVersion === before + 1 &&
          hubCondition(h, 'KeysReady')?.status === 'True'
          ? h
          : undefined;
      },
      60_000,
      300,
    );
    expect(rotated.status?.encryption?.keyRef).toBe(victimKekRef);
  }

  it('builtin: the tenant gets no KeysReady, no Role on the victim KEK, and cannot destroy it', async () => {
    await createHub(kc, manifest('builtin', victimNs, 'xb'));
    await attack('builtin', 'b', 'KeyOfAnotherHub');
  }, 180_000);

  it('pkcs11 (SoftHSM2, one token for both): the same', async () => {
    await createHub(kc, manifest('pkcs11', victimNs, 'xp'));
    await attack('pkcs11', 'p', 'KeyOfAnotherHub');
  }, 180_000);

  it('transit (Vault, one server for both): the same', async () => {
    await createHub(kc, manifest('transit', victimNs, 'xt'));
    await attack('transit', 't', 'KeyOfAnotherHub');
  }, 180_000);

  // Keys made under the first identity scheme, whose names the two hubs share: the operator tells
  // them apart by the owner it recorded (builtin: the KEK Secret's labels; PKCS#11: no record of
  // an earlier hub `<p>/a-x…` with the victim's UID exists).
  it.each([
    ['builtin', 'KeyOfAnotherHub'],
    ['pkcs11', 'KeyOwnerUnknown'],
  ] as const)(
    '%s, a victim whose keys predate the current scheme: the same',
    async (provider, reason) => {
      const s = `l${provider[0]}`;
      // Made as the earlier operator made them, while no operator watches the victim namespace.
      await ops.get(victimNs)!.stop();
      const victim = manifest(provider, victimNs, `x${s}`);
      await createHub(kc, victim);
      const stored = await getHub(kc, victimNs, `x${s}`);
      const legacy = await writeLegacyKeys(kc, stored, {
        core,
        operatorNamespace: OPERATOR_NS,
        pkcs11AllowedModules: token.allowedModules,
        pkcs11AllowedTokens: tokenFor(token, victimNs),
      });
      expect(legacy.kek.name).toBe(`hdh-${victimNs}-x${s}-${stored.metadata.uid}`);
      expect(legacy.kek.name).toBe(`hdh-${attackerNs}-a-x${s}-${stored.metadata.uid}`);
      await startOperator(victimNs);
      await attack(provider, s, reason);
    },
    240_000,
  );
});
