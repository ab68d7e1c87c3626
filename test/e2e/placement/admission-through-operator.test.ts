import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { policyNamespaceLabelKey } from '../../../src/placement/admission.js';
import { testKubeConfig } from '../../support/cluster.js';
import { createHub, hubManifest, prepareHubNamespace } from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { eventually } from '../../support/wait.js';

const COMPLIANT = new Set(['eu-fr-par-1', 'eu-fr-par-2', 'eu-de-fra-1']);

describe('a hub namespace is sovereign territory for every pod in it', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  let ns: string;
  let op: OperatorProcess;

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'e2e-sovereign');
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    await createHub(kc, hubManifest('research', ns));
    await eventually(
      'namespace labelled for eu-hds',
      async () =>
        (await core.readNamespace({ name: ns })).metadata?.labels?.[policyNamespaceLabelKey('eu-hds')] ===
        'true',
      30_000,
    );
    // The API server picks up new admission policies asynchronously: wait until they refuse a
    // pod pinned to a non-EU node (server-side dry run, nothing is created).
    await eventually(
      'admission policies in force',
      async () =>
        core
          .createNamespacedPod({
            namespace: ns,
            dryRun: 'All',
            body: {
              metadata: { name: 'probe' },
              spec: {
                nodeName: 'us-east-1a',
                containers: [{ name: 'c', image: 'registry.example.eu/app:1' }],
              },
            },
          })
          .then(
            () => false,
            (e: { code?: number }) => e.code === 403,
          ),
      30_000,
    );
  });
  afterAll(async () => {
    await op.stop();
  });

  it('runs a user Deployment without any node constraints only on eligible nodes', async () => {
    const replicas = 6;
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'user-app' },
        spec: {
          replicas,
          selector: { matchLabels: { app: 'user-app' } },
          template: {
            metadata: { labels: { app: 'user-app' } },
            spec: { containers: [{ name: 'c', image: 'registry.example.eu/app:1' }] },
          },
        },
      },
    });
    const pods = await eventually(
      'all replicas running',
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=user-app' });
        const running = list.items.filter((p) => p.status?.phase === 'Running');
        return running.length === replicas ? running : undefined;
      },
      90_000,
      500,
    );
    const nodes = pods.map((p) => p.spec!.nodeName!);
    expect(nodes.filter((n) => !COMPLIANT.has(n))).toEqual([]);
    // Every term of the running pods carries the policy's constraints.
    for (const p of pods) {
      const terms =
        p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ??
        [];
      expect(terms.length).toBeGreaterThan(0);
      for (const t of terms) {
        expect(t.matchExpressions?.map((e) => e.key)).toEqual(
          expect.arrayContaining([
            'topology.kubernetes.io/region',
            'sovereign.node-restriction.kubernetes.io/jurisdiction',
            'sovereign.node-restriction.kubernetes.io/hds',
          ]),
        );
      }
    }
  }, 150_000);

  it('refuses a pod that names a non-EU node, saying which policy', async () => {
    const err = await core
      .createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: 'pinned' },
          spec: { nodeName: 'us-east-1a', containers: [{ name: 'c', image: 'registry.example.eu/app:1' }] },
        },
      })
      .then(
        () => undefined,
        (e: { code?: number; body?: string }) => e,
      );
    expect(err?.code).toBe(403); // admission policies deny with Forbidden
    expect(String(err?.body)).toContain('eu-hds');
  });
});
