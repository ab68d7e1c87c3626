// The placement controller against the fake cluster: audit, PlacementCompliant and
// status.placement, Events, removals, requeues and cancellation.
import { PLACEMENT_FIELD_MANAGER, type SovereigntyPolicy } from '../../../src/api/index.js';
import { FakeCluster, apiError } from '../../support/fake-cluster.js';
import {
  euNode,
  hub,
  namespace,
  node,
  placementController,
  placementOf,
  pod,
  policy,
  running,
  usNode,
  violationsGauge,
} from './fixtures.js';

/** One enforced policy, a node inside it and one outside, hub research/h and its namespace. */
function cluster(p: SovereigntyPolicy = policy()): FakeCluster {
  const c = new FakeCluster();
  c.policies.put(p);
  c.nodes.put(euNode());
  c.nodes.put(usNode());
  c.namespaces.put(namespace('research', [p.metadata.name!]));
  c.hubs.put(hub());
  return c;
}

const placementWrites = (c: FakeCluster) => c.status.writesOf(PLACEMENT_FIELD_MANAGER);

describe('PlacementReconciler', () => {
  it('writes PlacementCompliant True once for compliant pods, and nothing on the next reconcile', async () => {
    const c = cluster();
    c.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    c.pods.put(pod('web-1', 'research', 'eu-1'));
    // Not placed: nothing to judge.
    c.pods.put(pod('pending', 'research', undefined));
    c.pods.put(pod('done', 'research', 'us-1', { phase: 'Succeeded' }));
    const { reconciler, metrics } = placementController(c);

    expect(await reconciler.reconcile('research', running())).toBeUndefined();
    expect(c.namespaceLabels.synced).toEqual(['research']);
    expect(placementOf(c, 'research/h')).toMatchObject({
      status: 'True',
      reason: 'Compliant',
      observedGeneration: 1,
    });
    expect(c.hubs.get('research/h')?.status?.placement).toMatchObject({ eligibleNodes: 1 });
    expect(c.hubs.get('research/h')?.status?.placement?.violations).toBeUndefined();
    expect(placementWrites(c)).toHaveLength(1);
    // Only its own part of the status: nothing of Ready, storage, keys or the datastore.
    expect(placementWrites(c)[0]!.status).toEqual({
      conditions: [expect.objectContaining({ type: 'PlacementCompliant' })],
      placement: expect.any(Object),
    });
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'h' })).toBe(0);
    expect(c.events.events).toEqual([]);
    expect(c.podRemoval.requests).toEqual([]);

    // At rest: the same verdict is not written again.
    expect(await reconciler.reconcile('research', running())).toBeUndefined();
    expect(placementWrites(c)).toHaveLength(1);
    expect(c.events.events).toEqual([]);
  });

  it('reports a pod on a node outside the policy, says so in an Event, and evicts it', async () => {
    const c = cluster();
    c.pods.put(pod('db-0', 'research', 'eu-1', { hub: 'h' }));
    c.pods.put(pod('web-1', 'research', 'us-1', { grace: 120 }));
    const { reconciler, metrics } = placementController(c);

    await reconciler.reconcile('research', running());
    const placement = placementOf(c, 'research/h')!;
    expect(placement).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
    expect(placement.message).toContain('pod web-1 on node us-1');
    expect(placement.message).toContain('evicting them through the Eviction API');
    expect(c.hubs.get('research/h')?.status?.placement?.violations).toEqual([
      expect.objectContaining({ pod: 'web-1', node: 'us-1' }),
    ]);
    expect(c.events.withReason('PodsOutsidePolicy')).toEqual([
      expect.objectContaining({ regarding: 'HealthDataHub research/h', type: 'Warning' }),
    ]);
    // Evicted with the pod's UID as precondition and its grace period capped by the policy (30 s).
    expect(c.podRemoval.requests).toEqual([
      {
        action: 'evict',
        pod: 'research/web-1',
        uid: 'uid-research-web-1',
        gracePeriodSeconds: 30,
        code: 200,
      },
    ]);
    expect(c.events.withReason('PodEvicted')).toHaveLength(1);
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'h' })).toBe(1);

    // The pod is terminating (still on the node): reported, not removed again, not said again.
    expect(c.pods.get('research/web-1')?.metadata?.deletionTimestamp).toBeDefined();
    await reconciler.reconcile('research', running());
    expect(c.podRemoval.requests).toHaveLength(1);
    expect(c.events.withReason('PodsOutsidePolicy')).toHaveLength(1);
    expect(placementWrites(c)).toHaveLength(1);

    // Gone: compliant again, and said so.
    c.pods.remove('research/web-1');
    await reconciler.reconcile('research', running());
    expect(placementOf(c, 'research/h')).toMatchObject({ status: 'True', reason: 'Compliant' });
    expect(c.events.withReason('Compliant')).toEqual([expect.objectContaining({ type: 'Normal' })]);
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'h' })).toBe(0);
  });

  it.each([
    ['enforcement: Audit', { enforcement: 'Audit' as const }],
    ['onViolation: Report', { onViolation: 'Report' as const }],
  ])('reports pods outside a policy with %s, and removes none', async (said, spec) => {
    const c = cluster(policy('eu-hds', spec));
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { reconciler } = placementController(c);

    expect(await reconciler.reconcile('research', running())).toBeUndefined();
    const placement = placementOf(c, 'research/h')!;
    expect(placement).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });
    expect(placement.message).toContain(said);
    expect(placement.message).toContain('reported only');
    expect(c.events.withReason('PodsOutsidePolicy')).toHaveLength(1);
    expect(c.podRemoval.requests).toEqual([]);
  });

  it('writes a verdict its hub cache already shows, when the cache has not caught up with its own write since', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { reconciler } = placementController(c);
    await reconciler.reconcile('research', running());
    expect(placementOf(c, 'research/h')).toMatchObject({ status: 'False' });
    const showsViolation = c.hubs.get('research/h')!;

    // The pod goes: compliant again, written.
    c.pods.remove('research/web-1');
    await reconciler.reconcile('research', running());
    expect(placementOf(c, 'research/h')).toMatchObject({ status: 'True' });
    expect(placementWrites(c)).toHaveLength(2);

    // A replacement lands on the same node before the hub watch has delivered that write: the
    // cache still shows the violation it had, and the server's True must not stay.
    c.hubs.put(showsViolation);
    c.pods.put(pod('web-1', 'research', 'us-1'));
    await reconciler.reconcile('research', running());
    expect(placementWrites(c)).toHaveLength(3);
    expect(placementOf(c, 'research/h')).toMatchObject({ status: 'False', reason: 'PodsOutsidePolicy' });

    // Once the cache shows that write, nothing more is written.
    await reconciler.reconcile('research', running());
    expect(placementWrites(c)).toHaveLength(3);
  });

  it('reports NoEligibleNodes and removes nothing while no node could take the pods back', async () => {
    const c = cluster();
    // The only node inside the policy is not Ready.
    c.nodes.put(node('eu-1', euNode().metadata!.labels!, { ready: false }));
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { reconciler } = placementController(c);

    await reconciler.reconcile('research', running());
    const placement = placementOf(c, 'research/h')!;
    expect(placement).toMatchObject({ status: 'False', reason: 'NoEligibleNodes' });
    expect(placement.message).toContain('(reported, not evicted)');
    expect(c.hubs.get('research/h')?.status?.placement).toMatchObject({
      eligibleNodes: 0,
      violations: [expect.objectContaining({ pod: 'web-1' })],
    });
    expect(c.podRemoval.requests).toEqual([]);

    // A node inside the policy comes back: the pod is removed.
    c.nodes.put(euNode());
    await reconciler.reconcile('research', running());
    expect(placementOf(c, 'research/h')).toMatchObject({ reason: 'PodsOutsidePolicy' });
    expect(c.podRemoval.removed()).toEqual(['research/web-1']);
  });

  it('reports PolicyNotFound for a hub whose policy is missing, and removes nothing for it', async () => {
    const c = new FakeCluster();
    c.nodes.put(euNode());
    c.nodes.put(usNode());
    // The labeller labels the namespace for the hub's policy, which does not exist.
    c.namespaces.put(namespace('research', ['gone']));
    c.hubs.put(hub('h', 'research', { policyName: 'gone' }));
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { reconciler, metrics } = placementController(c);

    expect(await reconciler.reconcile('research', running())).toBeUndefined();
    const placement = placementOf(c, 'research/h')!;
    expect(placement).toMatchObject({ status: 'False', reason: 'PolicyNotFound' });
    expect(placement.message).toContain('SovereigntyPolicy "gone" does not exist');
    expect(c.hubs.get('research/h')?.status?.placement).toEqual({ eligibleNodes: 0 });
    expect(c.podRemoval.requests).toEqual([]);
    expect(c.events.withReason('PodsOutsidePolicy')).toEqual([]);
    // No verdict of its own: no violations series either.
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'h' })).toBeUndefined();
  });

  it('says once that an eviction was refused (429) and tries again after a backoff', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    c.podRemoval.refuseEvictions('web');
    const { reconciler } = placementController(c);

    const result = await reconciler.reconcile('research', running());
    expect(c.podRemoval.requests).toEqual([expect.objectContaining({ action: 'evict', code: 429 })]);
    const blocked = c.events.withReason('EvictionBlocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]!.note).toContain('The disruption budget web needs 1 healthy pods');
    expect(blocked[0]!.note).toContain('evictionTimeout 2m of SovereigntyPolicy eu-hds');
    // The first retry: 1 s, jittered down to at most half.
    expect(result).toEqual({ requeueAfterMs: expect.any(Number) });
    expect(result!.requeueAfterMs).toBeGreaterThan(0);
    expect(result!.requeueAfterMs).toBeLessThanOrEqual(1000);

    // Woken again before the backoff ran out: no request, no second Event, still a requeue.
    const again = await reconciler.reconcile('research', running());
    expect(c.podRemoval.requests).toHaveLength(1);
    expect(c.events.withReason('EvictionBlocked')).toHaveLength(1);
    expect(again).toEqual({ requeueAfterMs: expect.any(Number) });
    // The refusal leaves the verdict as it was.
    expect(placementOf(c, 'research/h')).toMatchObject({ reason: 'PodsOutsidePolicy' });
  });

  it('stops before the next removal once its signal is aborted', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    c.pods.put(pod('web-2', 'research', 'us-1'));
    const lease = new AbortController();
    // Leadership is lost while the first eviction is under way.
    c.podRemoval.beforeRequest = () => lease.abort(new Error('leadership lost'));
    const { reconciler } = placementController(c);

    await expect(reconciler.reconcile('research', lease.signal)).rejects.toThrow('leadership lost');
    expect(c.podRemoval.requests.map((r) => r.pod)).toEqual(['research/web-1']);
  });

  it('does nothing at all once aborted before it starts on a hub', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { reconciler } = placementController(c);
    const lease = new AbortController();
    lease.abort(new Error('shutting down'));

    await expect(reconciler.reconcile('research', lease.signal)).rejects.toThrow('shutting down');
    expect(placementWrites(c)).toEqual([]);
    expect(c.podRemoval.requests).toEqual([]);
  });

  it('removes the violations series of a hub that is gone', async () => {
    const c = cluster();
    c.hubs.put(hub('g'));
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { reconciler, metrics } = placementController(c);
    await reconciler.reconcile('research', running());
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'h' })).toBe(1);
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'g' })).toBe(1);

    c.hubs.remove('research/g');
    await reconciler.reconcile('research', running());
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'g' })).toBeUndefined();
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'h' })).toBe(1);

    // The last hub goes, and with it the namespace's policy label (no claim was retained).
    c.hubs.remove('research/h');
    c.namespaces.put(namespace('research'));
    await reconciler.reconcile('research', running());
    expect(await violationsGauge(metrics, { namespace: 'research', hub: 'h' })).toBeUndefined();
    expect(await violationsGauge(metrics, { namespace: 'research', hub: '' })).toBeUndefined();
  });

  it('removes a pod once when two hubs of the namespace hold it to the same policy', async () => {
    const c = cluster();
    c.hubs.put(hub('g'));
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { reconciler } = placementController(c);

    await reconciler.reconcile('research', running());
    expect(c.podRemoval.requests).toHaveLength(1);
    expect(c.events.withReason('PodEvicted')).toHaveLength(1);
    // Each hub reports the violation in its own status.
    expect(placementOf(c, 'research/h')).toMatchObject({ reason: 'PodsOutsidePolicy' });
    expect(placementOf(c, 'research/g')).toMatchObject({ reason: 'PodsOutsidePolicy' });
  });

  it('holds a namespace to a policy by its label alone, reporting on the Namespace', async () => {
    const c = cluster();
    // The hub was deleted with its claims retained: the label stays.
    c.hubs.remove('research/h');
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { reconciler, metrics } = placementController(c);

    await reconciler.reconcile('research', running());
    const said = c.events.withReason('PodsOutsidePolicy');
    expect(said).toEqual([expect.objectContaining({ regarding: 'Namespace research', type: 'Warning' })]);
    expect(said[0]!.note).toContain('held to SovereigntyPolicy eu-hds by claims retained from a deleted hub');
    expect(c.podRemoval.removed()).toEqual(['research/web-1']);
    expect(await violationsGauge(metrics, { namespace: 'research', hub: '' })).toBe(1);
    expect(placementWrites(c)).toEqual([]);
  });

  it('does not act on a verdict the API server\u2019s Node does not confirm, and looks again soon', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    // The cache is behind: the node was relabelled into the policy meanwhile.
    const relabelled = node('us-1', euNode().metadata!.labels!);
    const { reconciler } = placementController(c, { liveNode: () => Promise.resolve(relabelled) });

    expect(await reconciler.reconcile('research', running())).toEqual({ requeueAfterMs: 1000 });
    expect(c.podRemoval.requests).toEqual([]);
  });

  it('audits nothing in a system namespace, whatever it holds', async () => {
    const c = cluster();
    c.namespaces.put(namespace('kube-system'));
    c.hubs.put(hub('h', 'kube-system'));
    c.pods.put(pod('web-1', 'kube-system', 'us-1'));
    const { reconciler } = placementController(c);

    expect(await reconciler.reconcile('kube-system', running())).toBeUndefined();
    expect(placementWrites(c)).toEqual([]);
    expect(c.podRemoval.requests).toEqual([]);
    expect(c.events.events).toEqual([]);
  });

  it('fails on a status write the API server refuses, and ignores one to a hub deleted meanwhile', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const gone = placementController(c, {
      status: { applyStatus: () => Promise.reject(apiError(404, 'healthdatahubs "h" not found')) },
    });
    await expect(gone.reconciler.reconcile('research', running())).resolves.toBeUndefined();
    // The removal does not depend on the status write.
    expect(c.podRemoval.removed()).toEqual(['research/web-1']);

    const failing = placementController(cluster(), {
      status: { applyStatus: () => Promise.reject(apiError(500, 'etcdserver: request timed out')) },
    });
    await expect(failing.reconciler.reconcile('research', running())).rejects.toMatchObject({ code: 500 });
  });

  it('fails before auditing when the namespace labels cannot be synced', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    c.namespaceLabels.failure = apiError(500, 'internal error');
    const { reconciler } = placementController(c);

    await expect(reconciler.reconcile('research', running())).rejects.toMatchObject({ code: 500 });
    expect(placementWrites(c)).toEqual([]);
    expect(c.podRemoval.requests).toEqual([]);
  });
});
