// The hubs an experiment works on: the CRDs, the sample policy and the operator's namespace, hub
// namespaces of at most `perNamespace` hubs, an encrypted class with one static volume per hub on
// the nodes the policy allows (the real scheduler and PV controller bind them), and the hubs.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionType, getCondition, type HealthDataHub } from '../../src/api/index.js';
import { createHub, hubManifest, listHubs, prepareHubNamespace } from '../../test/support/hubs.js';
import { createStorageFixtures, type StorageFixtures } from '../../test/support/storage.js';

export const OPERATOR_NAMESPACE = 'hdh-system';

export interface HubId {
  namespace: string;
  name: string;
}

export interface Fleet {
  namespaces: string[];
  hubs: HubId[];
  storage: StorageFixtures;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function inPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export const hubName = (i: number) => `hub-${String(i).padStart(4, '0')}`;

/** Namespaces and volumes for `count` hubs (created later, by `createHubs`). */
export async function prepareFleet(
  kc: KubeConfig,
  count: number,
  { prefix = 'chaos', perNamespace = 50 } = {},
): Promise<Fleet> {
  const first = await prepareHubNamespace(kc, prefix);
  const namespaces = [first];
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 1; i < Math.ceil(count / perNamespace); i++) {
    await core.createNamespace({ body: { metadata: { name: `${first}-${i}` } } });
    namespaces.push(`${first}-${i}`);
  }
  // One volume per hub and node, plus slack: a claim bound on one node leaves the others' free.
  const storage = await createStorageFixtures(kc, { perNode: Math.ceil(count / 3) + 1, capacity: '1Gi' });
  const hubs = Array.from({ length: count }, (_, i) => ({
    namespace: namespaces[Math.floor(i / perNamespace)]!,
    name: hubName(i),
  }));
  return { namespaces, hubs, storage };
}

/** A minimal hub of the fleet: the sample policy, builtin keys, the fleet's encrypted class. */
export function fleetHub(fleet: Fleet, id: HubId): HealthDataHub {
  const hub = hubManifest(id.name, id.namespace);
  hub.spec.storage.storageClassName = fleet.storage.encryptedClass;
  return hub;
}

export async function createHubs(kc: KubeConfig, fleet: Fleet, ids: readonly HubId[], concurrency = 8) {
  await inPool(ids, concurrency, (id) => createHub(kc, fleetHub(fleet, id)));
}

/** Every hub of the fleet's namespaces, as stored now. */
export async function fleetHubs(kc: KubeConfig, fleet: Fleet): Promise<HealthDataHub[]> {
  return (await Promise.all(fleet.namespaces.map((ns) => listHubs(kc, ns)))).flat();
}

/** Ready=True for the hub's current generation. */
export function isReady(hub: HealthDataHub): boolean {
  const c = getCondition(hub.status?.conditions, ConditionType.Ready);
  return c?.status === 'True' && c.observedGeneration === hub.metadata.generation;
}

/** The hub's Ready condition, for messages: `status/reason`. */
export function readiness(hub: HealthDataHub | undefined): string {
  const c = getCondition(hub?.status?.conditions, ConditionType.Ready);
  return c ? `${c.status}/${c.reason}` : 'no Ready condition';
}

/** Waits until every hub of `ids` is Ready; throws naming those that are not. Returns the ms waited. */
export async function waitReady(
  kc: KubeConfig,
  fleet: Fleet,
  timeoutMs: number,
  ids: readonly HubId[] = fleet.hubs,
): Promise<number> {
  const t0 = Date.now();
  const key = (h: HubId) => `${h.namespace}/${h.name}`;
  for (;;) {
    const byKey = new Map(
      (await fleetHubs(kc, fleet).catch(() => [])).map((h) => [key(h.metadata as HubId), h]),
    );
    const notReady = ids.filter((id) => {
      const h = byKey.get(key(id));
      return !h || !isReady(h);
    });
    if (notReady.length === 0) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) {
      const sample = notReady.slice(0, 5).map((id) => `${key(id)} (${readiness(byKey.get(key(id)))})`);
      throw new Error(
        `${notReady.length} of ${ids.length} hubs not Ready after ${Math.round(timeoutMs / 1000)} s: ${sample.join(', ')}`,
      );
    }
    await sleep(500);
  }
}
