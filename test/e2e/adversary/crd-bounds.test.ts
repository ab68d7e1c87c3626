// Values a tenant may try to slip past the HealthDataHub schema: sizes no volume can have (or no
// quantity can hold), a rotation interval that overflows a duration, transit settings on a hub of
// another provider. Each must be refused by the API server with a message naming the field and the
// bound, never with a conversion error or not at all.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, type HealthDataHub } from '../../../src/api/index.js';
import { testKubeConfig } from '../../support/cluster.js';
import { deleteNamespaceAndWait, hubManifest, prepareHubNamespace } from '../../support/hubs.js';
import { tenantAdmin } from '../../support/tenant.js';

const kc = testKubeConfig();

async function refusal(tenant: KubeConfig, hub: HealthDataHub): Promise<{ code?: number; message: string }> {
  try {
    await tenant.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      ...HEALTH_DATA_HUB,
      namespace: hub.metadata.namespace!,
      body: hub,
      dryRun: 'All',
    });
  } catch (e) {
    const err = e as { code?: number; body?: unknown };
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    return { code: err.code, message: (JSON.parse(body) as { message: string }).message };
  }
  throw new Error(`the hub was accepted: ${JSON.stringify(hub.spec)}`);
}

describe('HealthDataHub bounds, against a tenant', () => {
  let ns: string;
  let tenant: KubeConfig;
  const hub = (spec: Partial<HealthDataHub['spec']>): HealthDataHub => {
    const h = hubManifest('bounds', ns);
    Object.assign(h.spec, spec);
    return h;
  };

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'adv-crd-bounds');
    tenant = await tenantAdmin(ns);
  });

  afterAll(async () => {
    if (ns) await deleteNamespaceAndWait(kc, ns);
  });

  it.each(['1e20', '1e9999', '65Ti', '70368744177665'])(
    'refuses spec.storage.size %s with the 64Ti bound',
    async (size) => {
      const { code, message } = await refusal(
        tenant,
        hub({ storage: { size, storageClassName: 'encrypted-eu' } }),
      );
      expect(code).toBe(422);
      expect(message).toContain('spec.storage.size must be a quantity of at most 64Ti');
    },
  );

  it.each([
    ['99999999999999999999h', 'spec.encryption.rotationInterval must be a duration such as 2160h or 1h30m'],
    ['2562048h', 'spec.encryption.rotationInterval must be a duration such as 2160h or 1h30m'],
    ['87601h', 'spec.encryption.rotationInterval must be at most 87600h (10 years)'],
    ['9999999m', 'spec.encryption.rotationInterval must be at most 87600h (10 years)'],
  ])(
    'refuses spec.encryption.rotationInterval %s naming the field, not a conversion',
    async (interval, says) => {
      const { code, message } = await refusal(tenant, hub({ encryption: { rotationInterval: interval } }));
      expect(code).toBe(422);
      expect(message).toContain(says);
      expect(message).not.toMatch(/protobuf|conversion/);
    },
  );

  it('says that transit settings need provider: transit', async () => {
    const transit = { address: 'https://openbao.example', authSecretRef: { name: 'bao', key: 'token' } };
    for (const encryption of [{ provider: 'builtin' as const, transit }, { transit }]) {
      const { code, message } = await refusal(tenant, hub({ encryption }));
      expect(code).toBe(422);
      expect(message).toContain('transit settings need provider: transit');
    }
  });

  it('still accepts the bounds themselves', async () => {
    const custom = tenant.makeApiClient(CustomObjectsApi);
    for (const spec of [
      { storage: { size: '64Ti', storageClassName: 'encrypted-eu' } },
      { encryption: { rotationInterval: '87600h' } },
      { encryption: { rotationInterval: '1h30m' } },
    ]) {
      await custom.createNamespacedCustomObject({
        ...HEALTH_DATA_HUB,
        namespace: ns,
        body: hub(spec),
        dryRun: 'All',
      });
    }
  });
});
