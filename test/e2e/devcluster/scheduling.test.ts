import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { testKubeConfig } from '../../support/cluster.js';
import { eventually } from '../../support/wait.js';

// The sample policy's constraints (config/samples), expressed as plain node affinity: the real
// kube-scheduler must place every replica on a certified EU node.
const EU_HDS_AFFINITY = {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        {
          matchExpressions: [
            {
              key: 'topology.kubernetes.io/region',
              operator: 'In',
              values: ['fr-par', 'eu-west-3', 'de-fra'],
            },
            { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
            { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
          ],
        },
      ],
    },
  },
};

describe('scheduling on the full local control plane', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const ns = `e2e-sched-${Date.now()}`;

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('runs every replica of a constrained Deployment on compliant kwok nodes only', async () => {
    const replicas = 6;
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'constrained' },
        spec: {
          replicas,
          selector: { matchLabels: { app: 'constrained' } },
          template: {
            metadata: { labels: { app: 'constrained' } },
            spec: {
              affinity: EU_HDS_AFFINITY,
              containers: [{ name: 'c', image: 'registry.example.eu/app:1' }],
            },
          },
        },
      },
    });
    const pods = await eventually(
      'all replicas Running',
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=constrained' });
        const running = list.items.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName);
        return running.length === replicas ? running : undefined;
      },
      60_000,
    );
    const nodes = await core.listNode();
    const byName = new Map(nodes.items.map((n) => [n.metadata!.name!, n.metadata!.labels ?? {}]));
    const used = new Set(pods.map((p) => p.spec!.nodeName!));
    for (const name of used) {
      const labels = byName.get(name)!;
      expect(labels['sovereign.node-restriction.kubernetes.io/jurisdiction']).toBe('EU');
      expect(labels['sovereign.node-restriction.kubernetes.io/hds']).toBe('true');
    }
    expect([...used].some((n) => n.startsWith('us-') || n.includes('uncertified'))).toBe(false);
    // Six replicas over three compliant nodes: the scheduler's default spreading uses more than one.
    expect(used.size).toBeGreaterThan(1);
  });

  it('leaves an unconstrained pod free to land anywhere (the constraint above is what decided)', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'pinned-us' },
        spec: {
          nodeSelector: { 'topology.kubernetes.io/region': 'us-east-1' },
          containers: [{ name: 'c', image: 'registry.example.eu/app:1' }],
        },
      },
    });
    const pod = await eventually('pod scheduled', async () => {
      const p = await core.readNamespacedPod({ name: 'pinned-us', namespace: ns });
      return p.spec?.nodeName ? p : undefined;
    });
    expect(pod.spec!.nodeName).toMatch(/^us-east-1/);
  });
});
