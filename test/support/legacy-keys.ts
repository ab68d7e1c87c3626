// Keys as the operator made them before the current key identity scheme: the KEK named
// `hdh-<namespace>-<name>-<uid>` (builtin Secret, PKCS#11 CKA_LABEL with the bare UID as CKA_ID,
// Transit key), the `<hub>-keys` Secret whose kek-ref names it, and the hub's status as that
// operator reported it. Made with the providers' own create and wrap under the legacy identity,
// which write exactly what the earlier code wrote; for upgrade and adversary tests.
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, formatTime, type HealthDataHub } from '../../src/api/index.js';
import { generateDek, newDekSet, renderDekSecret } from '../../src/keys/dek.js';
import { hubRefOf, legacyKeyIdentity, type KeyIdentity } from '../../src/keys/identity.js';
import { providerFor, type ProviderDeps } from '../../src/keys/providers.js';

export interface LegacyKeys {
  kek: KeyIdentity;
  kekRef: string;
}

/** Writes legacy keys for `hub` (stored, not yet reconciled by an operator). */
export async function writeLegacyKeys(
  kc: KubeConfig,
  hub: HealthDataHub,
  deps: ProviderDeps,
): Promise<LegacyKeys> {
  const ref = hubRefOf(hub);
  const kek = legacyKeyIdentity(ref);
  const provider = await providerFor(hub, deps);
  const name = provider.describe().provider;
  try {
    const kekRef = (await provider.create(kek)).ref;
    const dek = generateDek();
    const wrapped = await provider.wrap(kek, dek);
    dek.fill(0);
    const now = new Date();
    const set = newDekSet({ hub: ref, provider: name, kekRef, wrapped, now });
    await kc
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({ namespace: ref.namespace, body: renderDekSecret(ref, set) });
    await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObjectStatus(
      {
        ...HEALTH_DATA_HUB,
        namespace: ref.namespace,
        name: ref.name,
        body: {
          status: {
            encryption: {
              provider: name,
              keyRef: kekRef,
              activeVersion: 1,
              versions: 1,
              lastRotationTime: formatTime(now),
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return { kek, kekRef };
  } finally {
    await provider.close?.();
  }
}
