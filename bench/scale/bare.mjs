// The bare bound: a minimal client doing, for the same hubs at the same concurrency, the writes a
// hub needs and nothing else — the finalizer, the key Secrets, the key-access objects, the
// datastore's Service and StatefulSet (rendered by the operator's own pure functions), a status
// write once they are applied and one once the datastore is ready. What is left is the cluster's
// own pace (scheduling, volume binding, the StatefulSet controller): the operator's time over
// this one says what the operator itself costs.
import { randomBytes } from 'node:crypto';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { FIELD_MANAGER, FINALIZER, HEALTH_DATA_HUB } from '../../dist/src/api/index.js';
import { dekDelivery } from '../../dist/src/keys/delivery.js';
import { dekSecretName } from '../../dist/src/keys/dek.js';
import { hubRefOf, keyIdentity } from '../../dist/src/keys/identity.js';
import { kekAccessList, renderKekAccess } from '../../dist/src/keys/kek-access.js';
import { hubNamespaceLabels } from '../../dist/src/placement/admission.js';
import { renderDatastore } from '../../dist/src/storage/datastore.js';
import { createHub, OPERATOR_NAMESPACE } from './fixtures.mjs';
import { WorkQueue } from './work-queue.mjs';
import { inPool, timeoutAfter } from './pool.mjs';
import { watchReady } from './readiness.mjs';

const IMAGE = 'hdh-operator:bench';

const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export async function runBare({ cluster, run, policy, opts, log }) {
  const kc = cluster.kc;
  const api = {
    objects: KubernetesObjectApi.makeApiClient(kc),
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
  const apply = (obj) =>
    api.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  const queue = new WorkQueue(opts.concurrency);
  const ready = watchReady(kc, run.namespace, run.hubNames.length);
  await ready.started;
  const statefulSets = watchStatefulSets(kc, run.namespace, (name) =>
    queue.push(() => writeStatus(api, run.namespace, name, readyStatus())),
  );
  await statefulSets.started;

  const firstCreate = Date.now();
  await apply({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: run.namespace, labels: hubNamespaceLabels(policy.metadata.name) },
  });
  log(`bare run: creating ${run.hubNames.length} hubs`);
  await inPool(run.hubNames, opts.concurrency, async (name) => {
    const hub = await createHub(kc, run, name);
    queue.push(() => applyHub(api, apply, hub, policy));
  });
  const progress = setInterval(() => log(`  ${ready.count()}/${run.hubNames.length} Ready`), 10_000);
  try {
    const lastReady = await Promise.race([
      ready.all,
      queue.failed,
      timeoutAfter(opts.convergenceTimeoutMs, 'all hubs Ready'),
    ]);
    await queue.drain();
    log(`bare run: all Ready after ${((lastReady - firstCreate) / 1000).toFixed(1)} s`);
    return { convergenceMs: lastReady - firstCreate };
  } finally {
    clearInterval(progress);
    ready.stop();
    statefulSets.stop();
  }
}

async function applyHub(api, apply, hub, policy) {
  const { namespace, name } = hub.metadata;
  await api.custom.patchNamespacedCustomObject(
    {
      ...HEALTH_DATA_HUB,
      namespace,
      name,
      body: [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }],
    },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  const ref = hubRefOf(hub);
  const kek = keyIdentity(ref);
  await api.core.createNamespacedSecret({
    namespace: OPERATOR_NAMESPACE,
    body: { metadata: { name: kek.name.slice(0, 253) }, data: { kek: randomBytes(32).toString('base64') } },
  });
  await api.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: dekSecretName(name) }, data: { 'dek-v1': randomBytes(60).toString('base64') } },
  });
  const encryption = { provider: 'builtin', keyRef: kek.name, activeVersion: 1 };
  await writeStatus(api, namespace, name, {
    conditions: [condition('KeysReady', 'True', 'KeysAvailable')],
    encryption,
  });
  const delivery = dekDelivery(hub, {
    image: IMAGE,
    operatorNamespace: OPERATOR_NAMESPACE,
    activeVersion: 1,
  });
  for (const obj of kekAccessList(renderKekAccess(ref, delivery.kekAccess))) await apply(obj);
  const render = renderDatastore(hub, policy.spec, { keyDelivery: delivery });
  if (!render.ok) throw new Error(`${namespace}/${name}: ${render.message}`);
  await apply(render.objects.service);
  await apply(render.objects.statefulSet);
  await writeStatus(api, namespace, name, {
    conditions: [
      condition('Ready', 'False', 'Progressing'),
      condition('DatastoreReady', 'False', 'Progressing'),
    ],
  });
}

const condition = (type, status, reason) => ({
  type,
  status,
  reason,
  message: `${type} ${status}`,
  lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  observedGeneration: 1,
});

const readyStatus = () => ({
  observedGeneration: 1,
  conditions: ['Ready', 'PlacementCompliant', 'KeysReady', 'StorageReady', 'DatastoreReady'].map((t) =>
    condition(t, 'True', t === 'Ready' ? 'AllReady' : 'Ok'),
  ),
});

function writeStatus(api, namespace, name, status) {
  return api.custom.patchNamespacedCustomObjectStatus(
    {
      ...HEALTH_DATA_HUB,
      namespace,
      name,
      fieldManager: FIELD_MANAGER,
      force: true,
      body: {
        apiVersion: HEALTH_DATA_HUB.apiVersion,
        kind: HEALTH_DATA_HUB.kind,
        metadata: { name, namespace },
        status,
      },
    },
    ssa,
  );
}

/** Calls `onReady(name)` once per StatefulSet of the namespace that reports a ready replica. */
function watchStatefulSets(kc, namespace, onReady) {
  const seen = new Set();
  let controller;
  let stopped = false;
  let resourceVersion;
  const start = async () => {
    controller = await new Watch(kc).watch(
      `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
      { allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) },
      (_phase, sts) => {
        resourceVersion = sts?.metadata?.resourceVersion ?? resourceVersion;
        const name = sts?.metadata?.name;
        if (!name || seen.has(name) || !(sts.status?.readyReplicas >= 1)) return;
        seen.add(name);
        onReady(name);
      },
      () => {
        if (!stopped) setTimeout(() => void start().catch(() => setTimeout(start, 1000)), 200);
      },
    );
  };
  return {
    started: start(),
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
