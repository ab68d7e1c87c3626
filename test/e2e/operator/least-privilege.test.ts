// The operator under the RBAC it ships with (config/rbac), not the admin identity the other tests
// use: its own service account and token, its ClusterRole and leader-election Role. A builtin hub
// must become Ready (policy, admission objects, namespace labels, finalizer, keys and their
// access objects, datastore, status, Events) and be deleted, with no request refused.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteHubAndWait,
  deleteNamespaceAndWait,
  getHub,
  hubCondition,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const suffix = Date.now().toString(36);
const operatorNs = `e2e-rbac-op-${suffix}`;
const clusterRole = `hdh-operator-${suffix}`;
const REFUSED = /forbidden|cannot (get|list|watch|create|update|patch|delete)/i;
/** The operator's log lines about refused requests: what the shipped RBAC lacks. */
const refusals = (output: string) =>
  output
    .split('\n')
    .filter((l) => REFUSED.test(l))
    .slice(0, 5);

/** The shipped RBAC objects, moved to this test's operator namespace and cluster-role name. */
function shippedRbac(): KubernetesObject[] {
  return ['service_account.yaml', 'role.yaml', 'role_binding.yaml'].flatMap((file) =>
    parseAllDocuments(readFileSync(join('config', 'rbac', file), 'utf8')).map((doc) => {
      const obj = doc.toJS() as KubernetesObject & {
        roleRef?: { kind: string; name: string };
        subjects?: { namespace?: string }[];
      };
      const md = obj.metadata!;
      if (md.namespace === 'hdh-system') md.namespace = operatorNs;
      if (obj.kind === 'ClusterRole' || obj.kind === 'ClusterRoleBinding') md.name = clusterRole;
      if (obj.roleRef?.kind === 'ClusterRole') obj.roleRef.name = clusterRole;
      for (const s of obj.subjects ?? []) if (s.namespace === 'hdh-system') s.namespace = operatorNs;
      return obj;
    }),
  );
}

describe('the operator with the RBAC it ships', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  let ns: string;
  let fixtures: StorageFixtures;
  let op: OperatorProcess | undefined;
  let work: string;

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: operatorNs } } });
    const rbac = shippedRbac();
    expect(rbac.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'RoleBinding',
      'ServiceAccount',
    ]);
    for (const obj of rbac) await objects.create(obj);
    const { status } = await core.createNamespacedServiceAccountToken({
      name: 'hdh-operator',
      namespace: operatorNs,
      body: { spec: { expirationSeconds: 3600, audiences: [] } },
    });
    // A kubeconfig with the service account's token: the operator sees only what RBAC grants it.
    const cluster = kc.getCurrentCluster()!;
    const ca = cluster.caData ?? Buffer.from(readFileSync(cluster.caFile!)).toString('base64');
    work = mkdtempSync(join(tmpdir(), 'e2e-rbac-'));
    writeFileSync(
      join(work, 'kubeconfig'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority-data': ca } }],
        users: [{ name: 'hdh-operator', user: { token: status!.token } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'hdh-operator' } }],
        'current-context': 'c',
      }),
      { mode: 0o600 },
    );
    fixtures = await createStorageFixtures(kc, { perNode: 1 });
    ns = await prepareHubNamespace(kc, 'e2e-rbac');
  });

  afterAll(async () => {
    if (ns) await deleteHubAndWait(kc, ns, 'ward');
    await op?.stop();
    if (ns) await deleteNamespaceAndWait(kc, ns);
    await fixtures?.cleanup();
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteClusterRoleBinding({ name: clusterRole }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: clusterRole }).catch(() => undefined);
    await core.deleteNamespace({ name: operatorNs }).catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('makes a builtin hub Ready and deletes it without a single refused request', async () => {
    op = await startOperatorProcess([
      `--kubeconfig=${join(work, 'kubeconfig')}`,
      `--namespace=${ns}`,
      `--operator-namespace=${operatorNs}`,
      '--leader-elect=true',
      '--log-level=debug',
    ]);
    const hub = hubManifest('ward', ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    await createHub(kc, hub);
    const ready = await waitForHubCondition(kc, ns, 'ward', 'Ready', { status: 'True' }, 90_000).catch(
      (e: Error) => {
        throw new Error(`${e.message}; refused requests:\n${refusals(op!.output()).join('\n')}`);
      },
    );
    expect(hubCondition(ready, 'KeysReady')?.reason).toBe('KeyAvailable');
    expect(ready.status?.encryption?.keyRef).toContain(`secret/${operatorNs}/`);

    await deleteHubAndWait(kc, ns, 'ward');
    await eventually('hub gone', async () =>
      getHub(kc, ns, 'ward').then(
        () => false,
        () => true,
      ),
    );
    expect(refusals(op.output())).toEqual([]);
  }, 180_000);
});
