// Placement fixtures for cluster tests: nodes relabelled out of a policy (and always put back),
// policies, the namespace label and admission that hold a namespace, and the Events on a hub.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { SOVEREIGNTY_POLICY } from '../../src/api/index.js';
import { policyNamespaceLabelKey } from '../../src/placement/admission.js';
import { eventually } from './wait.js';

export const REGION = 'topology.kubernetes.io/region';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Changes region labels of the shared test cluster's nodes and remembers the originals:
 * `restore()` puts every one back (call it in afterEach/afterAll, whatever happens).
 */
export class NodeRelabeller {
  private readonly core: CoreV1Api;
  /** Original region label of every node changed. */
  private readonly touched = new Map<string, string>();

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async setRegion(node: string, region: string): Promise<void> {
    if (!this.touched.has(node)) {
      const n = await this.core.readNode({ name: node });
      this.touched.set(node, n.metadata!.labels![REGION]!);
    }
    await this.core.patchNode(
      { name: node, body: { metadata: { labels: { [REGION]: region } } } },
      mergePatch,
    );
  }

  async restore(): Promise<void> {
    for (const [node, region] of this.touched) {
      await this.core.patchNode(
        { name: node, body: { metadata: { labels: { [REGION]: region } } } },
        mergePatch,
      );
    }
  }
}

export async function createPolicy(
  kc: KubeConfig,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: SOVEREIGNTY_POLICY.group,
    version: SOVEREIGNTY_POLICY.version,
    plural: SOVEREIGNTY_POLICY.plural,
    body: {
      apiVersion: SOVEREIGNTY_POLICY.apiVersion,
      kind: SOVEREIGNTY_POLICY.kind,
      metadata: { name },
      spec,
    },
  });
}

export async function patchPolicy(
  kc: KubeConfig,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).patchClusterCustomObject(
    {
      group: SOVEREIGNTY_POLICY.group,
      version: SOVEREIGNTY_POLICY.version,
      plural: SOVEREIGNTY_POLICY.plural,
      name,
      body: { spec },
    },
    mergePatch,
  );
}

export async function deletePolicy(kc: KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(CustomObjectsApi)
    .deleteClusterCustomObject({
      group: SOVEREIGNTY_POLICY.group,
      version: SOVEREIGNTY_POLICY.version,
      plural: SOVEREIGNTY_POLICY.plural,
      name,
    })
    .catch(() => undefined);
}

/**
 * Waits until the namespace is labelled for the policy and the API server applies the policy's
 * admission to it: a dry-run pod without constraints comes back with the policy's region injected.
 * (Pods created before that are admitted unchecked; the audit is what catches them.)
 */
export async function namespaceHeld(
  kc: KubeConfig,
  namespace: string,
  policy: string,
  regions: string[],
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await eventually(
    `namespace labelled for ${policy}`,
    async () =>
      (await core.readNamespace({ name: namespace })).metadata?.labels?.[policyNamespaceLabelKey(policy)] ===
      'true',
    30_000,
  );
  await eventually(
    `admission of ${policy} in force`,
    async () => {
      const p = await core.createNamespacedPod({
        namespace,
        dryRun: 'All',
        body: {
          metadata: { name: 'probe' },
          spec: { containers: [{ name: 'c', image: 'registry.example.eu/app:1' }] },
        },
      });
      const terms =
        p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ??
        [];
      return terms.some((t) =>
        (t.matchExpressions ?? []).some(
          (e) => e.key === REGION && JSON.stringify(e.values) === JSON.stringify(regions),
        ),
      );
    },
    30_000,
    200,
  );
}

/** The events.k8s.io Events regarding a hub. */
export async function hubEvents(kc: KubeConfig, namespace: string, hub: string) {
  const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.regarding?.kind === 'HealthDataHub' && e.regarding?.name === hub);
}

/**
 * Creates a Deployment of `replicas` pods labelled `app=<name>` in `namespace`, retried while the
 * admission objects are not enforced yet after the namespace was labelled. No node constraints:
 * the admission injects the policy's. `pod` adds to the pod spec (a spread, say).
 */
export async function createDeployment(
  kc: KubeConfig,
  namespace: string,
  name: string,
  replicas: number,
  pod: Partial<V1PodSpec> = {},
): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  await eventually(
    `deployment ${name} accepted`,
    async () =>
      !!(await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name },
          spec: {
            replicas,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name: 'c', image: 'registry.example.eu/app:1' }], ...pod },
            },
          },
        },
      })),
    30_000,
  );
}
