// The key lifecycle against a real API server, builtin provider: a hub's own `<hub>-keys` Secret
// (its own hub-uid, so no adoption is asked) edited to name another hub's KEK through kek-uid and
// kek-ref, before the hub ever recorded a KEK. The victim `<p>-a/x` and the hub `<p>/a-x` share a
// key-name prefix under the earlier scheme; whichever scheme the victim's key was made under, the
// hub is blocked, its status never records the victim's KEK, no KEK is offered for delivery, and a
// confirmed crypto-shred destroys nothing.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import {
  ANNOTATION_CONFIRM_DESTROY,
  FINALIZER,
  HEALTH_DATA_HUB,
  type HealthDataHub,
} from '../../../src/api/index.js';
import { dekSecretName } from '../../../src/keys/dek.js';
import { KeyLifecycle } from '../../../src/keys/lifecycle.js';
import type { ProviderDeps } from '../../../src/keys/providers.js';
import { Writer } from '../../../src/runtime/apply.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { testKubeConfig } from '../../support/cluster.js';
import { createHub, getHub, hubManifest, patchHub, prepareHubNamespace } from '../../support/hubs.js';
import { writeLegacyKeys } from '../../support/legacy-keys.js';
import { createNamespace } from '../../support/tenant.js';

const suffix = Date.now().toString(36);
const operatorNs = `it-own-op-${suffix}`;

let kc: KubeConfig;
let core: CoreV1Api;
let attackerNs: string;
let victimNs: string;
let deps: ProviderDeps;
let lifecycle: KeyLifecycle;

beforeAll(async () => {
  kc = testKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  await createNamespace(operatorNs);
  attackerNs = await prepareHubNamespace(kc, 'it-own');
  victimNs = `${attackerNs}-a`;
  await createNamespace(victimNs);
  deps = { core, operatorNamespace: operatorNs };
  lifecycle = new KeyLifecycle({ secrets: core, providers: deps });
});

afterAll(async () => {
  for (const name of [operatorNs, attackerNs, victimNs])
    if (name) await core.deleteNamespace({ name }).catch(() => undefined);
});

async function hub(namespace: string, name: string): Promise<HealthDataHub> {
  const m = hubManifest(name, namespace);
  m.spec.encryption = { provider: 'builtin', onDelete: 'CryptoShred' };
  m.metadata.finalizers = [FINALIZER];
  await createHub(kc, m);
  return getHub(kc, namespace, name);
}

const decode = (data: Record<string, string>) =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));

describe("a hub's own key set edited to name another hub's KEK", () => {
  it.each(['current', 'legacy'] as const)('victim keys under the %s scheme', async (scheme) => {
    const s = scheme[0];
    // The victim, with keys made as the operator makes them (or made before the current scheme).
    let victim = await hub(victimNs, `x${s}`);
    if (scheme === 'legacy') await writeLegacyKeys(kc, victim, deps);
    victim = await getHub(kc, victimNs, `x${s}`);
    const ready = await lifecycle.reconcileHub(victim);
    expect(ready.ready).toBe(true);
    const victimKeys = decode(
      (await core.readNamespacedSecret({ name: dekSecretName(`x${s}`), namespace: victimNs })).data!,
    );
    const victimKek = ready.kek!.name;

    // The tenant's hub, no keys yet; its own Secret written with the victim's KEK.
    const attacker = await hub(attackerNs, `a-x${s}`);
    await core.createNamespacedSecret({
      namespace: attackerNs,
      body: {
        metadata: { name: dekSecretName(`a-x${s}`) },
        type: 'hdh.sovereign.eu/wrapped-keys',
        stringData: {
          ...victimKeys,
          'hub-uid': attacker.metadata.uid!,
          'kek-uid': victim.metadata.uid!,
        },
      },
    });
    const r = await lifecycle.reconcileHub(attacker);
    expect(r).toMatchObject({ ready: false, kek: undefined });
    expect(r.condition).toMatchObject({ status: 'False', reason: 'KeyOfAnotherHub' });
    expect(r.condition.message).toContain(`${attackerNs}/a-x${s}`);
    expect(r.condition.message).not.toContain(`${victimNs}/x${s}`);
    expect(JSON.stringify(r.encryption ?? {})).not.toContain(victimKek);

    // Deleted with its own confirmation: stopped, nothing destroyed.
    await patchHub(kc, attackerNs, `a-x${s}`, {
      metadata: { annotations: { [ANNOTATION_CONFIRM_DESTROY]: attacker.metadata.uid } },
    });
    await kc
      .makeApiClient(CustomObjectsApi)
      .deleteNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace: attackerNs, name: `a-x${s}` });
    const shred = await lifecycle.reconcileHub(await getHub(kc, attackerNs, `a-x${s}`));
    expect(shred).toMatchObject({ released: false });
    expect(shred.condition.message).toMatch(/^crypto-shred stopped, nothing destroyed/);
    await expect(
      core.readNamespacedSecret({ name: victimKek, namespace: operatorNs }),
    ).resolves.toBeDefined();
    expect((await lifecycle.reconcileHub(await getHub(kc, victimNs, `x${s}`))).ready).toBe(true);
    await new Writer(new ApiClients(kc), 'test').removeFinalizer(
      HEALTH_DATA_HUB,
      await getHub(kc, attackerNs, `a-x${s}`),
      FINALIZER,
    );
  });
});
