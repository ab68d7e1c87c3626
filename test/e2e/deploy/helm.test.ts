// The chart as a platform team installs it: `helm install` into the cluster, the operator's
// Deployment becomes Available (kwok runs its pods without pulling the image), and `helm
// uninstall` leaves none of the chart's objects behind, cluster-scoped RBAC included. Its own
// namespace and release name: the operator namespace of the other tests is never touched.
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import { CHART_DIR, helm, helmOk } from '../../support/helm.js';
import { kubectl } from '../../support/kubectl.js';
import { eventually } from '../../support/wait.js';

const suffix = Date.now().toString(36);
const namespace = `e2e-helm-${suffix}`;
const release = `e2e-${suffix}`;
const fullname = `${release}-hdh-operator`;
const byRelease = `app.kubernetes.io/instance=${release},app.kubernetes.io/managed-by=Helm`;
const NAMESPACED =
  'deployments,replicasets,pods,services,serviceaccounts,roles,rolebindings,poddisruptionbudgets,networkpolicies';
const CLUSTER_SCOPED = 'clusterroles,clusterrolebindings';

/** What carries the release's labels, as kind/name, sorted. */
async function releaseObjects(): Promise<string[]> {
  const out = await Promise.all([
    kubectl(['get', NAMESPACED, '-n', namespace, '-l', byRelease, '-o', 'name']),
    kubectl(['get', CLUSTER_SCOPED, '-l', byRelease, '-o', 'name']),
  ]);
  return out.join('\n').split('\n').filter(Boolean).sort();
}

describe('helm install and uninstall', () => {
  const kc = testKubeConfig();
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const kubeconfig = ['--kubeconfig', testCluster().kubeconfig];

  afterAll(async () => {
    await helm(['uninstall', release, '-n', namespace, ...kubeconfig]);
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('installs the operator, whose Deployment becomes Available, and uninstalls every object it created', async () => {
    // The NetworkPolicy is on so that the API server validates it too (no plugin enforces it here).
    const notes = await helmOk([
      'install',
      release,
      CHART_DIR,
      '-n',
      namespace,
      '--create-namespace',
      ...kubeconfig,
      '--set',
      'networkPolicy.enabled=true',
    ]);

    // NOTES.txt: what was installed and how to check it.
    expect(notes).toContain(`Deployment ${fullname} (2 replicas, one leader)`);
    expect(notes).toContain(`kubectl -n ${namespace} rollout status deployment/${fullname}`);

    const deployment = await eventually(
      'the Deployment Available with both replicas ready',
      async () => {
        const d = await apps.readNamespacedDeployment({ name: fullname, namespace });
        const available = d.status?.conditions?.find((c) => c.type === 'Available')?.status === 'True';
        return available && d.status?.readyReplicas === 2 ? d : undefined;
      },
      30_000,
    );
    expect(deployment.spec?.template.spec?.containers[0]?.image).toMatch(/^hdh-operator:\d+\.\d+\.\d+/);

    const installed = await releaseObjects();
    expect(installed).toEqual(
      expect.arrayContaining([
        `clusterrole.rbac.authorization.k8s.io/${fullname}`,
        `clusterrolebinding.rbac.authorization.k8s.io/${fullname}`,
        `deployment.apps/${fullname}`,
        `networkpolicy.networking.k8s.io/${fullname}`,
        `poddisruptionbudget.policy/${fullname}`,
        `role.rbac.authorization.k8s.io/${fullname}-leader-election`,
        `role.rbac.authorization.k8s.io/${fullname}-key-access`,
        `role.rbac.authorization.k8s.io/${fullname}-retained-claims`,
        `rolebinding.rbac.authorization.k8s.io/${fullname}-leader-election`,
        `rolebinding.rbac.authorization.k8s.io/${fullname}-key-access`,
        `rolebinding.rbac.authorization.k8s.io/${fullname}-retained-claims`,
        `service/${fullname}-metrics`,
        `serviceaccount/${fullname}`,
      ]),
    );
    expect(installed.filter((o) => o.startsWith('pod/'))).toHaveLength(2);

    await helmOk(['uninstall', release, '-n', namespace, '--wait', '--timeout', '30s', ...kubeconfig]);
    // Pods and ReplicaSets go with the garbage collector, shortly after their Deployment.
    await eventually(
      'no object of the release left',
      async () => (await releaseObjects()).length === 0 || undefined,
      20_000,
    );

    // Helm keeps the CRDs of crds/ on uninstall on purpose (deleting them would delete every
    // hub and policy): they are removed by hand, after the hubs (docs/operations.md).
    const crds = await kubectl([
      'get',
      'crd',
      'healthdatahubs.hdh.sovereign.eu',
      'sovereigntypolicies.hdh.sovereign.eu',
      '-o',
      'name',
    ]);
    expect(crds.split('\n').filter(Boolean)).toHaveLength(2);
  });
});
