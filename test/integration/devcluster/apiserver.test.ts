import { CoreV1Api } from '@kubernetes/client-node';
import { testKubeConfig } from '../../support/cluster.js';

describe('the test control plane', () => {
  const core = testKubeConfig().makeApiClient(CoreV1Api);
  const ns = `it-apiserver-${Date.now()}`;

  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('stores and reads objects through a real kube-apiserver and etcd', async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'probe' }, data: { jurisdiction: 'EU' } },
    });
    const read = await core.readNamespacedConfigMap({ name: 'probe', namespace: ns });
    expect(read.data).toEqual({ jurisdiction: 'EU' });
    expect(read.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(read.metadata?.resourceVersion)).toBeGreaterThan(0);
  });

  it('enforces RBAC: an unknown user is forbidden', async () => {
    const kc = testKubeConfig();
    const user = kc.getCurrentUser()!;
    // Impersonation of a user without bindings must be refused by the authorizer.
    kc.users = [{ ...user, impersonateUser: 'nobody@example.eu' } as typeof user];
    const anon = kc.makeApiClient(CoreV1Api);
    await expect(anon.listNamespacedConfigMap({ namespace: ns })).rejects.toMatchObject({ code: 403 });
  });
});
