import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { join } from 'node:path';
import {
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  getCondition,
  type Condition,
  type HealthDataHub,
} from '../../src/api/index.js';
import { installCrds } from '../../src/api/install-crds.js';
import { eventually } from './wait.js';

/** CRDs installed, the sample policy present and a fresh namespace: the start of most cluster tests. */
export async function prepareHubNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  await installCrds(kc, join(process.cwd(), 'crds'));
  const custom = kc.makeApiClient(CustomObjectsApi);
  await custom
    .createClusterCustomObject({
      group: SOVEREIGNTY_POLICY.group,
      version: SOVEREIGNTY_POLICY.version,
      plural: SOVEREIGNTY_POLICY.plural,
      body: {
        apiVersion: SOVEREIGNTY_POLICY.apiVersion,
        kind: SOVEREIGNTY_POLICY.kind,
        metadata: { name: 'eu-hds' },
        spec: {
          regions: ['fr-par', 'eu-west-3', 'de-fra'],
          nodeSelectorRequirements: [
            { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
            { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
          ],
        },
      },
    })
    .catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  const core = kc.makeApiClient(CoreV1Api);
  // The operator's namespace: builtin key-encryption keys are kept there.
  await core.createNamespace({ body: { metadata: { name: 'hdh-system' } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  const ns = `${prefix}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  return ns;
}

export function hubManifest(name: string, namespace: string, policyName = 'eu-hds'): HealthDataHub {
  return {
    apiVersion: HEALTH_DATA_HUB.apiVersion,
    kind: HEALTH_DATA_HUB.kind,
    metadata: { name, namespace },
    spec: { policyName, storage: { size: '1Gi', storageClassName: 'encrypted-eu' } },
  } as HealthDataHub;
}

export async function createHub(kc: KubeConfig, hub: HealthDataHub): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: HEALTH_DATA_HUB.group,
    version: HEALTH_DATA_HUB.version,
    plural: HEALTH_DATA_HUB.plural,
    namespace: hub.metadata.namespace!,
    body: hub,
  });
}

export async function getHub(kc: KubeConfig, namespace: string, name: string): Promise<HealthDataHub> {
  return (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: HEALTH_DATA_HUB.group,
    version: HEALTH_DATA_HUB.version,
    plural: HEALTH_DATA_HUB.plural,
    namespace,
    name,
  })) as HealthDataHub;
}

export async function listHubs(kc: KubeConfig, namespace: string): Promise<HealthDataHub[]> {
  const list = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
    group: HEALTH_DATA_HUB.group,
    version: HEALTH_DATA_HUB.version,
    plural: HEALTH_DATA_HUB.plural,
    namespace,
  })) as { items: HealthDataHub[] };
  return list.items;
}

/** True once the operator has reported on the hub's current generation. */
export function reconciled(hub: HealthDataHub): boolean {
  return hub.status?.observedGeneration === hub.metadata.generation && !!hub.status?.conditions?.length;
}

/**
 * Deletes a test namespace and waits (up to 60 s) until no HealthDataHub is left in it: that is the
 * part that needs a running operator (the hubs' finalizer), so call this before stopping it. The
 * namespace itself is left to the namespace controller, which takes 5 s or more even for an empty
 * one; nothing later depends on it being gone (test namespaces have unique names).
 * Throws, naming the hubs, when some stay: a hub kept by its finalizer means the test stopped its
 * operator too early, and would otherwise leave the namespace Terminating unnoticed.
 */
export async function deleteNamespaceAndWait(kc: KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  const deadline = Date.now() + 60_000;
  let left: string[] = [];
  while (Date.now() < deadline) {
    left = (await listHubs(kc, namespace).catch(() => [])).map((h) => h.metadata.name ?? '?');
    if (left.length === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `namespace ${namespace} still holds hubs ${left.join(', ')} 60 s after its deletion: ` +
      'their finalizer needs a running operator (delete the namespace before stopping it)',
  );
}

/**
 * Deletes a hub and waits (up to 30 s) until it is gone — an operator must be running for its
 * finalizer to go, so call this before stopping it.
 */
export async function deleteHubAndWait(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  await kc
    .makeApiClient(CustomObjectsApi)
    .deleteNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace, name })
    .catch(() => undefined);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const exists = await getHub(kc, namespace, name).then(
      () => true,
      () => false,
    );
    if (!exists) return;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A condition of a hub as stored; undefined for a hub that is gone or does not report it. */
export function hubCondition(hub: HealthDataHub | undefined, type: string): Condition | undefined {
  return getCondition(hub?.status?.conditions, type);
}

/** Waits until the hub reports condition `type` with the status and reason given; returns the hub. */
export async function waitForHubCondition(
  kc: KubeConfig,
  namespace: string,
  name: string,
  type: string,
  want: { status?: string; reason?: string },
  timeoutMs = 60_000,
): Promise<HealthDataHub> {
  return eventually(
    `${namespace}/${name} ${type} ${want.status ?? ''} ${want.reason ?? ''}`,
    async () => {
      const hub = await getHub(kc, namespace, name);
      const c = hubCondition(hub, type);
      const ok =
        c &&
        (want.status === undefined || c.status === want.status) &&
        (want.reason === undefined || c.reason === want.reason);
      return ok ? hub : undefined;
    },
    timeoutMs,
    300,
  );
}

/** Merge-patches a hub (its metadata or spec), as `kubectl patch --type=merge` does. */
export async function patchHub(kc: KubeConfig, namespace: string, name: string, body: object): Promise<void> {
  await kc
    .makeApiClient(CustomObjectsApi)
    .patchNamespacedCustomObject(
      { ...HEALTH_DATA_HUB, namespace, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}
