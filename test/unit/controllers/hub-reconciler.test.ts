// The hub controller against the fake cluster, with the placement and keys controllers beside it:
// each owns its part of the hub's status. The hub controller reads KeysReady as the keys
// controller wrote it, and a fault of the keys leaves placement enforcement and storage running.
import type { V1PersistentVolume, V1StatefulSet, V1StorageClass } from '@kubernetes/client-node';
import {
  ConditionType,
  FIELD_MANAGER,
  FINALIZER,
  HEALTH_DATA_HUB,
  KEYS_FIELD_MANAGER,
  PLACEMENT_FIELD_MANAGER,
  Reason,
  type ConditionUpdate,
  type HealthDataHub,
} from '../../../src/api/index.js';
import { HubReconciler, type HubReconcilerDeps } from '../../../src/controllers/hub/reconciler.js';
import { hubWatches, type HubSources } from '../../../src/controllers/hub/watches.js';
import { keysWatches, type KeysSources } from '../../../src/controllers/keys/watches.js';
import { placementWatches } from '../../../src/controllers/placement/watches.js';
import type { DatastoreStep } from '../../../src/hub/steps/datastore.js';
import type { DeletionDeps } from '../../../src/hub/steps/deletion.js';
import type { StorageStep } from '../../../src/hub/steps/storage.js';
import { ANNOTATION_KEY_VERSION, type DekDelivery } from '../../../src/keys/delivery.js';
import { connect } from '../../../src/runtime/watches.js';
import { FakeCache, FakeCluster } from '../../support/fake-cluster.js';
import {
  conditionOf,
  ENCRYPTION,
  euNode,
  hub,
  keysController,
  keysOf,
  namespace,
  OPERATOR_NAMESPACE,
  placementController,
  placementOf,
  pod,
  policy,
  quiet,
  recordingGate,
  reportKeys,
  running,
  usNode,
} from './fixtures.js';

/** The steps the hub controller drives, reduced to what it calls, each call recorded. */
function steps() {
  const calls: string[] = [];
  const deliveries: DekDelivery[] = [];
  const state = { readyReplicas: 1, onDropLegacyLabels: () => {} };
  const live = (h: HealthDataHub): V1StatefulSet => ({
    metadata: { name: h.metadata.name, namespace: h.metadata.namespace, generation: 1 },
    spec: { replicas: 1, selector: {}, serviceName: h.metadata.name!, template: {} },
    status: { replicas: 1, readyReplicas: state.readyReplicas, observedGeneration: 1 },
  });
  const storage = {
    checkClass: () => ({ ok: true }),
    audit: (h: HealthDataHub) => ({
      claims: [{ name: `data-${h.metadata.name}-0`, volumeName: 'pv-0', region: 'fr-par' }],
      violations: [],
      foreignClass: [],
      pending: [],
      unobserved: [],
      missing: 0,
    }),
    adopt: () => Promise.resolve({ plan: { adopt: [], conflicts: [] } }),
    grow: () => Promise.resolve({ plan: { grow: [], blocked: [] } }),
    dropLegacyLabels: (h: HealthDataHub) => {
      calls.push(`storage ${h.metadata.namespace}/${h.metadata.name}`);
      state.onDropLegacyLabels();
      return Promise.resolve({});
    },
    forget: (ns: string, name: string) => calls.push(`forget ${ns}/${name}`),
  } as unknown as StorageStep;
  const datastore = {
    get readyReplicas() {
      return state.readyReplicas;
    },
    set readyReplicas(n: number) {
      state.readyReplicas = n;
    },
    live,
    apply: (h: HealthDataHub, _policy: unknown, delivery: DekDelivery) => {
      calls.push(`datastore ${h.metadata.namespace}/${h.metadata.name}`);
      deliveries.push(delivery);
      return Promise.resolve({ ok: true, live: live(h) });
    },
  } as unknown as DatastoreStep & { readyReplicas: number };
  return { calls, deliveries, state, storage, datastore };
}

function hubController(c: FakeCluster, s = steps(), over: Partial<HubReconcilerDeps> = {}) {
  return new HubReconciler({
    hubs: c.hubs,
    policies: c.policies,
    nodes: c.nodes,
    writer: c.status.writer(FIELD_MANAGER),
    events: c.events,
    namespaces: c.namespaceLabels,
    storage: s.storage,
    datastore: s.datastore,
    delivery: { image: 'hdh-operator:test', operatorNamespace: OPERATOR_NAMESPACE },
    // Only a hub being deleted reaches it.
    deletion: {} as DeletionDeps,
    log: quiet,
    operatorNamespace: OPERATOR_NAMESPACE,
    ...over,
  });
}

/**
 * Policy eu-hds, a node inside it and one outside, hub research/h with its finalizer and, unless
 * told otherwise, its keys reported ready by the keys controller.
 */
async function cluster({ keys = true } = {}): Promise<FakeCluster> {
  const c = new FakeCluster();
  c.policies.put(policy());
  c.nodes.put(euNode());
  c.nodes.put(usNode());
  c.namespaces.put(namespace('research', ['eu-hds']));
  c.hubs.put(hub('h', 'research', {}, { finalizers: [FINALIZER] }));
  if (keys) await reportKeys(c, 'research/h');
  return c;
}

const ready = (c: FakeCluster) => conditionOf(c, 'research/h', ConditionType.Ready);
const keysFalse = (reason: string, message: string): ConditionUpdate => ({
  type: ConditionType.KeysReady,
  status: 'False',
  reason,
  message,
  observedGeneration: 1,
});

describe('HubReconciler', () => {
  it('goes on with storage and reports while the keys controller fails on a key-provider outage, and placement still evicts', async () => {
    const c = await cluster();
    c.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const gate = recordingGate(() =>
      Promise.reject(new Error('transit: connect ECONNREFUSED 10.0.0.7:8200')),
    );
    const keys = keysController(c, gate);
    const s = steps();
    const hubs = hubController(c, s);
    const { reconciler: placement } = placementController(c);
    const keysWritesBefore = c.status.writesOf(KEYS_FIELD_MANAGER).length;

    // The keys controller fails alone: its error goes to its queue's backoff, nothing is written.
    await expect(keys.reconcile('research/h', running())).rejects.toThrow('ECONNREFUSED');
    expect(c.status.writesOf(KEYS_FIELD_MANAGER)).toHaveLength(keysWritesBefore);
    expect(gate.calls).toEqual(['ensure research/h']);

    // Placement is enforced regardless.
    await placement.reconcile('research', running());
    expect(c.podRemoval.removed()).toEqual(['research/web-1']);
    expect(placementOf(c, 'research/h')).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
    expect(c.events.withReason('PodEvicted')).toHaveLength(1);

    // The hub controller reconciles storage and the datastore on the keys last reported, and says
    // what holds Ready.
    await hubs.reconcile('research/h', running());
    expect(s.calls).toEqual(['storage research/h', 'datastore research/h']);
    expect(conditionOf(c, 'research/h', ConditionType.StorageReady)).toMatchObject({ status: 'True' });
    expect(conditionOf(c, 'research/h', ConditionType.DatastoreReady)).toMatchObject({ status: 'True' });
    expect(ready(c)).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
    // Neither the placement nor the hub controller asked anything of the keys.
    expect(gate.calls).toEqual(['ensure research/h']);
  });

  it('reports storage and waits for KeysReady before creating the datastore; the report wakes it', async () => {
    const c = await cluster({ keys: false });
    c.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    const s = steps();
    const hubs = hubController(c, s);
    await placementController(c).reconciler.reconcile('research', running());
    const hubQueue: string[] = [];
    connect((k) => hubQueue.push(k), hubWatches(hubSources(c)));

    await hubs.reconcile('research/h', running());
    expect(s.calls).toEqual(['storage research/h']);
    expect(conditionOf(c, 'research/h', ConditionType.StorageReady)).toMatchObject({ status: 'True' });
    expect(ready(c)).toMatchObject({ status: 'Unknown', message: 'KeysReady is not reported yet' });
    expect(conditionOf(c, 'research/h', ConditionType.Reconciling)).toMatchObject({ status: 'True' });
    expect(conditionOf(c, 'research/h', ConditionType.Stalled)).toBeUndefined();

    // The keys controller reports them: that wakes the hub controller, which creates the
    // datastore with the reported key version in its pod template.
    hubQueue.length = 0;
    await keysController(c).reconcile('research/h', running());
    expect(hubQueue).toEqual(['research/h']);
    await hubs.reconcile('research/h', running());
    expect(s.calls).toEqual(['storage research/h', 'storage research/h', 'datastore research/h']);
    expect(s.deliveries[0]?.podAnnotations).toEqual({ [ANNOTATION_KEY_VERSION]: '1' });
    expect(ready(c)).toMatchObject({ status: 'True', reason: 'AllReady' });

    // A rotation reported by the keys controller rolls the pods to the new version.
    hubQueue.length = 0;
    await reportKeys(c, 'research/h', undefined, { ...ENCRYPTION, activeVersion: 2, versions: 2 });
    expect(hubQueue).toEqual(['research/h']);
    await hubs.reconcile('research/h', running());
    expect(s.deliveries[1]?.podAnnotations).toEqual({ [ANNOTATION_KEY_VERSION]: '2' });
  });

  it('derives Ready from what the placement and keys controllers wrote, and pods never wake the keys', async () => {
    const c = await cluster();
    c.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    const s = steps();
    const hubs = hubController(c, s);
    const { reconciler: placement } = placementController(c);
    // What wakes whom, as operator.ts connects them.
    const hubQueue: string[] = [];
    const placementQueue: string[] = [];
    const keysQueue: string[] = [];
    connect((k) => hubQueue.push(k), hubWatches(hubSources(c)));
    connect((k) => placementQueue.push(k), placementWatches(placementSources(c)));
    connect((k) => keysQueue.push(k), keysWatches(keysSources(c)));

    // Before any audit: every other component is ready, placement is not reported yet.
    await hubs.reconcile('research/h', running());
    expect(ready(c)).toMatchObject({ status: 'Unknown' });
    expect(ready(c)!.message).toContain('PlacementCompliant');
    expect(conditionOf(c, 'research/h', ConditionType.Reconciling)).toMatchObject({ status: 'True' });

    // The audit's write wakes the hub controller, which reads it.
    hubQueue.length = 0;
    await placement.reconcile('research', running());
    expect(hubQueue).toEqual(['research/h']);
    await hubs.reconcile('research/h', running());
    expect(ready(c)).toMatchObject({ status: 'True', reason: 'AllReady' });
    expect(conditionOf(c, 'research/h', ConditionType.Reconciling)).toMatchObject({
      status: 'False',
      reason: 'AllReady',
    });
    expect(c.events.withReason('AllReady')).toEqual([expect.objectContaining({ type: 'Normal' })]);

    // A pod on a node outside the policy: the pod wakes placement only, whose verdict wakes the hub.
    hubQueue.length = 0;
    placementQueue.length = 0;
    c.pods.put(pod('web-1', 'research', 'us-1'));
    expect(placementQueue).toEqual(['research']);
    expect(hubQueue).toEqual([]);
    await placement.reconcile('research', running());
    expect(hubQueue).toEqual(['research/h']);
    await hubs.reconcile('research/h', running());
    expect(ready(c)).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
    // Being evicted: work in progress.
    expect(conditionOf(c, 'research/h', ConditionType.Reconciling)).toMatchObject({ status: 'True' });
    // One Event names the pods (the placement controller's); the hub controller adds none.
    expect(c.events.withReason('PodsOutsidePolicy')).toHaveLength(1);

    // Gone: compliant again, Ready again.
    c.pods.remove('research/web-1');
    await placement.reconcile('research', running());
    await hubs.reconcile('research/h', running());
    expect(ready(c)).toMatchObject({ status: 'True', reason: 'AllReady' });
    // Neither the pods nor the other controllers' status writes woke the keys.
    expect(keysQueue).toEqual([]);
  });

  it('never writes PlacementCompliant, KeysReady, status.placement or status.encryption, and keeps them when it writes', async () => {
    const c = await cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const hubs = hubController(c);
    const keys = keysController(c);
    const { reconciler: placement } = placementController(c);

    await placement.reconcile('research', running());
    await keys.reconcile('research/h', running());
    await hubs.reconcile('research/h', running());
    // A spec change: all three look again.
    const changed = c.hubs.get('research/h')!;
    c.hubs.put({ ...changed, metadata: { ...changed.metadata, generation: 2 } });
    await placement.reconcile('research', running());
    await keys.reconcile('research/h', running());
    await hubs.reconcile('research/h', running());

    const writes = c.status.writesOf(FIELD_MANAGER);
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) {
      expect(w.status.placement).toBeUndefined();
      expect(w.status.encryption).toBeUndefined();
      const types = (w.status.conditions as { type: string }[]).map((x) => x.type);
      expect(types).not.toContain(ConditionType.PlacementCompliant);
      expect(types).not.toContain(ConditionType.KeysReady);
    }
    const owners = c.status.ownersOf(HEALTH_DATA_HUB.plural, c.hubs.get('research/h')!);
    expect(owners['conditions[PlacementCompliant]']).toEqual([PLACEMENT_FIELD_MANAGER]);
    expect(owners.placement).toEqual([PLACEMENT_FIELD_MANAGER]);
    expect(owners['conditions[KeysReady]']).toEqual([KEYS_FIELD_MANAGER]);
    expect(owners.encryption).toEqual([KEYS_FIELD_MANAGER]);
    expect(owners['conditions[Ready]']).toEqual([FIELD_MANAGER]);
    expect(placementOf(c, 'research/h')).toMatchObject({
      reason: 'PodsOutsidePolicy',
      observedGeneration: 2,
    });
    expect(keysOf(c, 'research/h')).toMatchObject({ status: 'True', observedGeneration: 2 });
    expect(c.hubs.get('research/h')?.status?.encryption).toEqual(ENCRYPTION);
    expect(ready(c)).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy', observedGeneration: 2 });
  });

  it('adds its finalizer before anything of the hub exists, and creates no datastore without keys', async () => {
    const c = await cluster({ keys: false });
    c.hubs.put(hub());
    const s = steps();
    await hubController(c, s).reconcile('research/h', running());
    expect(c.hubs.get('research/h')?.metadata.finalizers).toEqual([FINALIZER]);
    expect(c.status.finalizerPatches).toHaveLength(1);
    expect(s.calls).toEqual(['storage research/h']);
  });

  it('stalls a hub in a system namespace, once, and leaves its namespace unaudited', async () => {
    const c = await cluster();
    c.namespaces.put(namespace('kube-system'));
    c.hubs.put(hub('h', 'kube-system'));
    c.pods.put(pod('web-1', 'kube-system', 'us-1'));
    const s = steps();
    const hubs = hubController(c, s);
    const { reconciler: placement } = placementController(c);

    expect(await hubs.reconcile('kube-system/h', running())).toBeUndefined();
    const conditions = c.hubs.get('kube-system/h')?.status?.conditions ?? [];
    expect(conditions.map((x) => [x.type, x.status, x.reason]).sort()).toEqual([
      ['Ready', 'False', 'SystemNamespace'],
      ['Reconciling', 'False', 'SystemNamespace'],
      ['Stalled', 'True', 'SystemNamespace'],
    ]);
    expect(c.events.withReason('SystemNamespace')).toHaveLength(1);
    expect(s.calls).toEqual([]);

    // Said once: the next reconcile writes nothing and says nothing.
    await hubs.reconcile('kube-system/h', running());
    expect(c.status.writesOf(FIELD_MANAGER)).toHaveLength(1);
    expect(c.events.withReason('SystemNamespace')).toHaveLength(1);
    await placement.reconcile('kube-system', running());
    expect(c.podRemoval.requests).toEqual([]);
    expect(c.status.writesOf(PLACEMENT_FIELD_MANAGER)).toEqual([]);
  });

  it('forgets the storage series of a hub that is gone', async () => {
    const c = await cluster();
    const writes = c.status.writes.length;
    const s = steps();
    c.hubs.remove('research/h');
    expect(await hubController(c, s).reconcile('research/h', running())).toBeUndefined();
    expect(s.calls).toEqual(['forget research/h']);
    expect(c.status.writes).toHaveLength(writes);
  });

  it.each<[string, string]>([
    [Reason.KeyMissing, 'the keys Secret h-keys is gone while data exists'],
    [Reason.KeyOfAnotherHub, 'the keys name a KEK of hub other/h'],
    [Reason.ApiServerRefused, 'the API server refused Role hdh-system/hdh-research-h (422): invalid'],
  ])(
    'stalls a hub on keys only a person can unblock (%s), and creates no datastore',
    async (reason, message) => {
      const c = await cluster({ keys: false });
      await reportKeys(c, 'research/h', keysFalse(reason, message), undefined);
      const s = steps();
      await hubController(c, s).reconcile('research/h', running());
      expect(conditionOf(c, 'research/h', ConditionType.Stalled)).toMatchObject({ status: 'True', reason });
      expect(conditionOf(c, 'research/h', ConditionType.Reconciling)).toMatchObject({ status: 'False' });
      expect(ready(c)).toMatchObject({ status: 'False', reason, message });
      // Storage is still reconciled; no datastore without keys.
      expect(s.calls).toEqual(['storage research/h']);
      expect(conditionOf(c, 'research/h', ConditionType.StorageReady)).toMatchObject({ status: 'True' });
    },
  );

  it('waits, not stalls, on keys the operator is still working on (an unreachable provider)', async () => {
    const c = await cluster({ keys: false });
    const message = 'transit: connect ECONNREFUSED 10.0.0.7:8200; retried';
    await reportKeys(c, 'research/h', keysFalse(Reason.KeyProviderUnavailable, message), undefined);
    const s = steps();
    await hubController(c, s).reconcile('research/h', running());
    expect(conditionOf(c, 'research/h', ConditionType.Stalled)).toBeUndefined();
    expect(conditionOf(c, 'research/h', ConditionType.Reconciling)).toMatchObject({ status: 'True' });
    expect(ready(c)).toMatchObject({ status: 'False', reason: Reason.KeyProviderUnavailable });
    expect(s.calls).toEqual(['storage research/h']);
  });

  it('aborts between its steps once its signal is aborted', async () => {
    const c = await cluster();
    const lease = new AbortController();
    const s = steps();
    s.state.onDropLegacyLabels = () => lease.abort(new Error('leadership lost'));
    const writes = c.status.writes.length;
    await expect(hubController(c, s).reconcile('research/h', lease.signal)).rejects.toThrow(
      'leadership lost',
    );
    // Nothing after the storage step: no datastore, no status.
    expect(s.calls).toEqual(['storage research/h']);
    expect(c.status.writes).toHaveLength(writes);
  });

  // An earlier version applied the whole status, PlacementCompliant, KeysReady, status.placement
  // and status.encryption included, with the one field manager that is now the hub controller's.
  // The placement and keys controllers apply their parts once under their own managers even
  // though the values are already right, so the hub controller's next change of its own part
  // does not drop them.
  it('keeps PlacementCompliant and KeysReady through an upgrade from a single field manager', async () => {
    // The status this version converges to, applied whole by the earlier version's one manager.
    const converged = await cluster({ keys: false });
    converged.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    await placementController(converged).reconciler.reconcile('research', running());
    await keysController(converged).reconcile('research/h', running());
    await hubController(converged).reconcile('research/h', running());
    const c = await cluster({ keys: false });
    c.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    const status = converged.hubs.get('research/h')!.status;
    await c.status.writer(FIELD_MANAGER).applyStatus(HEALTH_DATA_HUB, 'h', 'research', status);
    expect(ready(c)).toMatchObject({ status: 'True' });

    // This version starts; everything is listed, so each controller gets every key once.
    const s = steps();
    const hubs = hubController(c, s);
    const keys = keysController(c);
    const { reconciler: placement } = placementController(c);
    const hubQueue = new Set<string>(['research/h']);
    const keysQueue = new Set<string>(['research/h']);
    const placementQueue = new Set<string>(['research']);
    connect((k) => hubQueue.add(k), hubWatches(hubSources(c)));
    connect((k) => keysQueue.add(k), keysWatches(keysSources(c)));
    connect((k) => placementQueue.add(k), placementWatches(placementSources(c)));
    const drain = async () => {
      for (let round = 0; round < 5 && (hubQueue.size || keysQueue.size || placementQueue.size); round++) {
        for (const ns of [...placementQueue]) {
          placementQueue.delete(ns);
          await placement.reconcile(ns, running());
        }
        for (const key of [...keysQueue]) {
          keysQueue.delete(key);
          await keys.reconcile(key, running());
        }
        for (const key of [...hubQueue]) {
          hubQueue.delete(key);
          await hubs.reconcile(key, running());
        }
      }
    };
    await drain();
    // The datastore's replica restarts (its StatefulSet's watch wakes the hub), then is ready again.
    for (const readyReplicas of [0, 1]) {
      s.datastore.readyReplicas = readyReplicas;
      hubQueue.add('research/h');
      await drain();
    }
    expect(placementOf(c, 'research/h')).toMatchObject({ status: 'True', reason: 'Compliant' });
    expect(c.hubs.get('research/h')?.status?.placement).toMatchObject({ eligibleNodes: 1 });
    expect(keysOf(c, 'research/h')).toMatchObject({ status: 'True', reason: Reason.KeyAvailable });
    expect(c.hubs.get('research/h')?.status?.encryption).toEqual(ENCRYPTION);
    expect(ready(c)).toMatchObject({ status: 'True' });
  });

  // The same upgrade when the hub controller is the first to write: until the placement and keys
  // controllers' managers own anything of the status, it sends their parts as they are, so its
  // change of its own part keeps them; once they do, it stops sending them and they stay theirs.
  it('keeps the placement and keys parts when the hub controller writes first after an upgrade', async () => {
    const converged = await cluster({ keys: false });
    converged.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    await placementController(converged).reconciler.reconcile('research', running());
    await keysController(converged).reconcile('research/h', running());
    await hubController(converged).reconcile('research/h', running());
    const c = await cluster({ keys: false });
    c.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    await c.status
      .writer(FIELD_MANAGER)
      .applyStatus(HEALTH_DATA_HUB, 'h', 'research', converged.hubs.get('research/h')!.status);
    const owners = () => c.status.ownersOf(HEALTH_DATA_HUB.plural, c.hubs.get('research/h')!);
    expect(owners()['conditions[KeysReady]']).toEqual([FIELD_MANAGER]);
    const othersParts = () => {
      const h = c.hubs.get('research/h')!;
      return {
        placementCompliant: placementOf(c, 'research/h'),
        placement: h.status?.placement,
        keysReady: keysOf(c, 'research/h'),
        encryption: h.status?.encryption,
      };
    };
    const before = othersParts();
    expect(before.placementCompliant).toMatchObject({ status: 'True', reason: 'Compliant' });
    expect(before.placement).toMatchObject({ eligibleNodes: 1 });
    expect(before.keysReady).toMatchObject({ status: 'True', reason: Reason.KeyAvailable });
    expect(before.encryption).toEqual(ENCRYPTION);

    const s = steps();
    const hubs = hubController(c, s);
    // The hub controller first, with a change of its own part: the datastore's replica restarts.
    s.datastore.readyReplicas = 0;
    await hubs.reconcile('research/h', running());
    expect(conditionOf(c, 'research/h', ConditionType.DatastoreReady)).toMatchObject({ status: 'False' });
    expect(c.status.writesOf(FIELD_MANAGER)).toHaveLength(2);
    expect(othersParts()).toEqual(before);
    expect(owners()).toMatchObject({
      'conditions[PlacementCompliant]': [FIELD_MANAGER],
      placement: [FIELD_MANAGER],
      'conditions[KeysReady]': [FIELD_MANAGER],
      encryption: [FIELD_MANAGER],
    });

    // Then the placement and keys controllers take their parts over.
    await placementController(c).reconciler.reconcile('research', running());
    await keysController(c).reconcile('research/h', running());
    expect(c.status.writesOf(PLACEMENT_FIELD_MANAGER)).toHaveLength(1);
    expect(c.status.writesOf(KEYS_FIELD_MANAGER)).toHaveLength(1);

    // The hub controller changes its part again: it no longer sends theirs, and they stay, theirs.
    s.datastore.readyReplicas = 1;
    await hubs.reconcile('research/h', running());
    expect(conditionOf(c, 'research/h', ConditionType.DatastoreReady)).toMatchObject({ status: 'True' });
    const last = c.status.writesOf(FIELD_MANAGER).at(-1)!;
    expect(c.status.writesOf(FIELD_MANAGER)).toHaveLength(3);
    expect(last.status.placement).toBeUndefined();
    expect(last.status.encryption).toBeUndefined();
    const sentTypes = (last.status.conditions as { type: string }[]).map((x) => x.type);
    expect(sentTypes).not.toContain(ConditionType.PlacementCompliant);
    expect(sentTypes).not.toContain(ConditionType.KeysReady);
    expect(othersParts()).toEqual(before);
    expect(owners()).toMatchObject({
      'conditions[PlacementCompliant]': [PLACEMENT_FIELD_MANAGER],
      placement: [PLACEMENT_FIELD_MANAGER],
      'conditions[KeysReady]': [KEYS_FIELD_MANAGER],
      encryption: [KEYS_FIELD_MANAGER],
      'conditions[Ready]': [FIELD_MANAGER],
    });
    expect(ready(c)).toMatchObject({ status: 'True' });
  });

  // KeysReady of an older generation is pending: the new generation's key settings (another
  // token, another Transit address) are checked before the datastore's pods are rolled to them.
  it('applies no datastore while KeysReady is of an older generation, and does once the keys controller re-reports', async () => {
    const c = await cluster();
    const s = steps();
    const hubs = hubController(c, s);
    await hubs.reconcile('research/h', running());
    expect(s.calls).toEqual(['storage research/h', 'datastore research/h']);

    const h = c.hubs.get('research/h')!;
    c.hubs.put({ ...h, metadata: { ...h.metadata, generation: 2 } });
    s.calls.length = 0;
    await hubs.reconcile('research/h', running());
    expect(s.calls).toEqual(['storage research/h']);
    expect(keysOf(c, 'research/h')).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(ready(c)).not.toMatchObject({ status: 'True' });
    expect(conditionOf(c, 'research/h', ConditionType.Stalled)).toBeUndefined();

    await keysController(c).reconcile('research/h', running());
    expect(keysOf(c, 'research/h')).toMatchObject({ status: 'True', observedGeneration: 2 });
    s.calls.length = 0;
    await hubs.reconcile('research/h', running());
    expect(s.calls).toEqual(['storage research/h', 'datastore research/h']);
  });

  it('does not stall a hub on a blocked KeysReady of an older generation', async () => {
    const c = await cluster({ keys: false });
    await reportKeys(
      c,
      'research/h',
      keysFalse(Reason.KeyMissing, 'the keys Secret h-keys is gone'),
      undefined,
    );
    const h = c.hubs.get('research/h')!;
    c.hubs.put({ ...h, metadata: { ...h.metadata, generation: 2 } });
    const s = steps();
    await hubController(c, s).reconcile('research/h', running());
    expect(conditionOf(c, 'research/h', ConditionType.Stalled)).toBeUndefined();
    expect(conditionOf(c, 'research/h', ConditionType.Reconciling)).toMatchObject({ status: 'True' });
    expect(s.calls).toEqual(['storage research/h']);
  });

  // Leadership lost or shutdown midway through a deletion is not a blocked deletion: the next
  // leader goes on, and nothing says DeletionBlocked meanwhile.
  it('rejects a deletion stopped by its signal, writing and saying nothing', async () => {
    const c = await cluster();
    const h = c.hubs.get('research/h')!;
    c.hubs.put({ ...h, metadata: { ...h.metadata, deletionTimestamp: new Date('2026-01-01T00:00:00Z') } });
    const lease = new AbortController();
    const deletion = {
      writes: {
        list: () => {
          lease.abort(new Error('leadership lost'));
          return Promise.reject(lease.signal.reason as Error);
        },
      },
    } as unknown as DeletionDeps;
    const writes = c.status.writes.length;
    await expect(
      hubController(c, steps(), { deletion }).reconcile('research/h', lease.signal),
    ).rejects.toThrow('leadership lost');
    expect(c.status.writes).toHaveLength(writes);
    expect(c.events.events).toEqual([]);

    // The same failure while running is a blocked deletion, said and retried.
    const failing = {
      writes: { list: () => Promise.reject(new Error('connect ECONNREFUSED')) },
    } as unknown as DeletionDeps;
    expect(await hubController(c, steps(), { deletion: failing }).reconcile('research/h', running())).toEqual(
      {
        requeueAfterMs: 10_000,
      },
    );
    expect(ready(c)).toMatchObject({ status: 'False', reason: Reason.DeletionBlocked });
    expect(c.events.withReason(Reason.DeletionBlocked)).toHaveLength(1);
  });
});

/** The hub controller's watch sources on the fake cluster (objects it applied: none here). */
function hubSources(c: FakeCluster): HubSources {
  return {
    hubs: c.hubs,
    policies: c.policies,
    namespaces: c.namespaces,
    claims: c.claims,
    volumes: new FakeCache<V1PersistentVolume>(),
    storageClasses: new FakeCache<V1StorageClass>(),
    owned: [],
    drifted: () => false,
  };
}

/** The keys controller's watch sources on the fake cluster (key-access objects: none here). */
function keysSources(c: FakeCluster): KeysSources {
  return {
    hubs: c.hubs,
    policies: c.policies,
    namespaces: c.namespaces,
    claims: c.claims,
    storageClasses: new FakeCache<V1StorageClass>(),
    access: [],
    drifted: () => false,
  };
}

function placementSources(c: FakeCluster) {
  return {
    hubs: c.hubs,
    policies: c.policies,
    nodes: c.nodes,
    pods: c.pods,
    namespaces: c.namespaces,
    claims: c.claims,
  };
}
