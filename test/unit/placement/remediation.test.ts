import type { V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { PlacementMetrics } from '../../../src/placement/metrics.js';
import {
  afterFailure,
  afterRemoval,
  afterSuccess,
  cappedGracePeriod,
  firstSeen,
  maxEvictionRequests,
  nextRemovalStep,
  RECURRENCE_BACKOFF_CAP_MS,
  RECURRENCE_WINDOW_MS,
  recurrenceDelay,
  recurrenceKey,
  remediationSettings,
  type RemediationSettings,
  type RemovalAttempts,
  type RemovalHistory,
} from '../../../src/placement/remediation.js';
import { type PodRemovalApi, Evictor } from '../../../src/placement/evictor.js';
import { KUBERNETES_NAMESPACES } from '../../../src/api/system-namespaces.js';
import { backoffDelay } from '../../../src/runtime/backoff.js';
import { random } from './pods.js';

const protectedNs = new Set([...KUBERNETES_NAMESPACES, 'hdh-system']);
const settings: RemediationSettings = { evictionTimeoutMs: 20_000, maxGracePeriodSeconds: 5 };

const pod = (over: { namespace?: string; grace?: number; deleting?: number } = {}): V1Pod => ({
  metadata: {
    name: 'p',
    namespace: over.namespace ?? 'research',
    uid: 'u',
    ...(over.deleting !== undefined
      ? { deletionTimestamp: new Date(0), deletionGracePeriodSeconds: over.deleting }
      : {}),
  },
  spec: {
    nodeName: 'us-1',
    containers: [],
    ...(over.grace !== undefined ? { terminationGracePeriodSeconds: over.grace } : {}),
  },
  status: { phase: 'Running' },
});

describe('remediation settings', () => {
  it('defaults to a 2m eviction timeout and a 30 s grace period', () => {
    expect(remediationSettings({})).toEqual({ evictionTimeoutMs: 120_000, maxGracePeriodSeconds: 30 });
    expect(
      remediationSettings({ remediation: { evictionTimeout: '1m30s', maxGracePeriodSeconds: 7 } }),
    ).toEqual({
      evictionTimeoutMs: 90_000,
      maxGracePeriodSeconds: 7,
    });
  });

  it('caps the grace period of a removal, never below 1 s (0 would not wait for the kubelet)', () => {
    expect(cappedGracePeriod(pod({ grace: 86_400 }), 30)).toBe(30);
    expect(cappedGracePeriod(pod({ grace: 10 }), 30)).toBe(10);
    expect(cappedGracePeriod(pod({ grace: 0 }), 30)).toBe(1);
    // The API server's default when the view lacks it.
    expect(cappedGracePeriod(pod(), 60)).toBe(30);
  });
});

describe('the next removal step', () => {
  it('evicts first, with the capped grace period', () => {
    expect(nextRemovalStep(pod({ grace: 86_400 }), undefined, settings, protectedNs, 0)).toEqual({
      action: 'evict',
      gracePeriodSeconds: 5,
    });
  });

  it('makes no request while backing off, and deletes once the eviction timeout has passed', () => {
    const refused = afterFailure(undefined, 1000, 4000);
    expect(nextRemovalStep(pod(), refused, settings, protectedNs, 2000)).toEqual({
      action: 'wait',
      afterMs: 3000,
    });
    expect(nextRemovalStep(pod(), refused, settings, protectedNs, 5000)).toMatchObject({ action: 'evict' });
    // The wait never runs past the deadline.
    const long = afterFailure(refused, 15_000, 60_000);
    expect(nextRemovalStep(pod(), long, settings, protectedNs, 16_000)).toEqual({
      action: 'wait',
      afterMs: 5000,
    });
    expect(nextRemovalStep(pod({ grace: 3 }), long, settings, protectedNs, 21_000)).toEqual({
      action: 'delete',
      gracePeriodSeconds: 3,
      reason: 'EvictionTimeout',
    });
    // A deletion that failed after the deadline backs off too.
    const failedDelete = afterFailure(long, 21_000, 2000);
    expect(nextRemovalStep(pod(), failedDelete, settings, protectedNs, 22_000)).toEqual({
      action: 'wait',
      afterMs: 1000,
    });
    expect(nextRemovalStep(pod(), failedDelete, settings, protectedNs, 23_000)).toMatchObject({
      action: 'delete',
    });
  });

  it('deletes at once with an eviction timeout of 0s', () => {
    expect(
      nextRemovalStep(pod(), undefined, { ...settings, evictionTimeoutMs: 0 }, protectedNs, 0),
    ).toMatchObject({
      action: 'delete',
      reason: 'EvictionTimeout',
    });
  });

  it('shortens a pending grace period longer than the cap, and otherwise lets a terminating pod go', () => {
    expect(nextRemovalStep(pod({ deleting: 86_400 }), undefined, settings, protectedNs, 0)).toEqual({
      action: 'delete',
      gracePeriodSeconds: 5,
      reason: 'GracePeriodCapped',
    });
    expect(nextRemovalStep(pod({ deleting: 5 }), undefined, settings, protectedNs, 0)).toEqual({
      action: 'wait',
    });
    const failed = afterFailure(undefined, 0, 1000);
    expect(nextRemovalStep(pod({ deleting: 86_400 }), failed, settings, protectedNs, 500)).toEqual({
      action: 'wait',
      afterMs: 500,
    });
  });

  it('removes a pod once, whatever a cache that lags behind still shows', () => {
    const removed = afterSuccess(afterFailure(undefined, 0, 1000), 30_000, 5);
    // Not terminating in the cache yet, even past the deadline: nothing more to do.
    expect(nextRemovalStep(pod(), removed, settings, protectedNs, 60_000)).toEqual({ action: 'wait' });
    // Terminating with the tenant's long grace period the removal shortened.
    expect(nextRemovalStep(pod({ deleting: 86_400 }), removed, settings, protectedNs, 60_000)).toEqual({
      action: 'wait',
    });
    // A cap lowered since: shortened again.
    expect(
      nextRemovalStep(
        pod({ deleting: 86_400 }),
        removed,
        { ...settings, maxGracePeriodSeconds: 2 },
        protectedNs,
        60_000,
      ),
    ).toMatchObject({ action: 'delete', gracePeriodSeconds: 2, reason: 'GracePeriodCapped' });
  });

  it('never evicts nor deletes in a system namespace or the operator namespace', () => {
    for (const namespace of protectedNs) {
      for (const p of [pod({ namespace }), pod({ namespace, deleting: 86_400 })]) {
        const late = afterFailure(undefined, 0, 1);
        for (const attempts of [undefined, late]) {
          expect(nextRemovalStep(p, attempts, settings, protectedNs, 10 * 60_000).action).toBe('spare');
        }
      }
    }
  });

  it('sends at most maxEvictionRequests evictions before the deletion, whatever the jitter', () => {
    expect(maxEvictionRequests(20_000)).toBe(6);
    expect(maxEvictionRequests(120_000)).toBe(9);
    expect(maxEvictionRequests(0)).toBe(0);
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = random(seed);
      const timeout = Math.floor(rnd() * 300_000);
      let attempts: RemovalAttempts | undefined;
      let evictions = 0;
      let now = 0;
      for (;;) {
        const step = nextRemovalStep(
          pod(),
          attempts,
          { ...settings, evictionTimeoutMs: timeout },
          protectedNs,
          now,
        );
        if (step.action === 'delete') break;
        if (step.action === 'wait') {
          // Woken early by unrelated events as often as not: that must not make a request.
          now += rnd() < 0.5 ? 1 : step.afterMs!;
          continue;
        }
        expect(step.action).toBe('evict');
        evictions++;
        attempts = afterFailure(attempts, now, backoffDelay(attempts?.failures ?? 0, 1000, 60_000, rnd));
      }
      expect(now).toBeGreaterThanOrEqual(timeout);
      expect(now).toBeLessThanOrEqual(timeout + 1);
      expect(evictions).toBeLessThanOrEqual(maxEvictionRequests(timeout));
      expect(evictions).toBeGreaterThanOrEqual(timeout > 0 ? 1 : 0);
    }
  });
});

describe('a pod the scheduler keeps putting back on a node outside the policy', () => {
  /** The replica of a StatefulSet: a stable name; each replacement has a new UID. */
  const replica = (uid: string, over: { namespace?: string; deleting?: number } = {}): V1Pod => {
    const p = pod(over);
    p.metadata = { ...p.metadata, name: 'db-0', uid };
    return p;
  };

  it('judges a return by the pod name on the node, for names that are reused only', () => {
    expect(recurrenceKey(replica('a'))).toBe('research/db-0@us-1');
    // A Deployment's or a Job's pods: generated names, never reused.
    const generated = replica('a');
    generated.metadata!.generateName = 'web-7c9f-';
    expect(recurrenceKey(generated)).toBeUndefined();
    const unbound = replica('a');
    delete unbound.spec!.nodeName;
    expect(recurrenceKey(unbound)).toBeUndefined();
  });

  it('waits 1 s, 2 s, 4 s … at most 5 min, and counts removals within the window only', () => {
    expect([1, 2, 3, 4, 9, 10, 1000].map(recurrenceDelay)).toEqual([
      1000,
      2000,
      4000,
      8000,
      256_000,
      RECURRENCE_BACKOFF_CAP_MS,
      RECURRENCE_BACKOFF_CAP_MS,
    ]);
    const first = afterRemoval(undefined, 'a', 0);
    expect(first).toEqual({ removals: 1, lastRemoval: 0, removedUid: 'a' });
    expect(afterRemoval(first, 'b', RECURRENCE_WINDOW_MS)).toEqual({
      removals: 2,
      lastRemoval: RECURRENCE_WINDOW_MS,
      removedUid: 'b',
    });
    expect(afterRemoval(first, 'b', RECURRENCE_WINDOW_MS + 1).removals).toBe(1);
  });

  it('removes a first violation at once, and a pod back after a removal once the delay has passed', () => {
    const removed: RemovalHistory = { removals: 1, lastRemoval: 10_000, removedUid: 'a' };
    // Never removed: as any violation.
    expect(nextRemovalStep(replica('a'), undefined, settings, protectedNs, 0)).toEqual({
      action: 'evict',
      gracePeriodSeconds: 5,
    });
    // The removed pod itself, still seen: not a return (its eviction names its UID anyway).
    expect(nextRemovalStep(replica('a'), undefined, settings, protectedNs, 10_100, removed)).toMatchObject({
      action: 'evict',
    });
    // Its replacement, back on the node: waits, and says why.
    expect(nextRemovalStep(replica('b'), undefined, settings, protectedNs, 10_100, removed)).toEqual({
      action: 'wait',
      afterMs: 900,
      repeated: { removals: 1 },
    });
    // Then it is removed as any other: its evictionTimeout counts from when it was first seen.
    expect(nextRemovalStep(replica('b'), undefined, settings, protectedNs, 11_000, removed)).toEqual({
      action: 'evict',
      gracePeriodSeconds: 5,
    });
    const thrice: RemovalHistory = { ...removed, removals: 3 };
    expect(nextRemovalStep(replica('b'), undefined, settings, protectedNs, 11_000, thrice)).toMatchObject({
      action: 'wait',
      afterMs: 3000,
    });
    // Once its own removal has begun (a budget refused), its own backoff and timeout decide.
    const refused = afterFailure(firstSeen(10_100), 11_000, 1000);
    expect(nextRemovalStep(replica('b'), refused, settings, protectedNs, 12_000, thrice)).toMatchObject({
      action: 'evict',
    });
    // Its deadline: 20 s after it was seen (10.1 s), not after its first attempt (11 s).
    expect(nextRemovalStep(replica('b'), refused, settings, protectedNs, 30_000, thrice)).toMatchObject({
      action: 'evict',
    });
    expect(nextRemovalStep(replica('b'), refused, settings, protectedNs, 30_100, thrice)).toMatchObject({
      action: 'delete',
      reason: 'EvictionTimeout',
    });
  });

  it('counts the wait of a returning pod inside its evictionTimeout', () => {
    // Removed 8 times: the next would wait 128 s, more than the 20 s timeout.
    const often: RemovalHistory = { removals: 8, lastRemoval: 0, removedUid: 'a' };
    const seen = firstSeen(500);
    expect(nextRemovalStep(replica('b'), seen, settings, protectedNs, 500, often)).toEqual({
      action: 'wait',
      afterMs: 20_000,
      repeated: { removals: 8 },
    });
    // At its deadline its whole timeout has passed since it was seen: deleted, budgets or not.
    expect(nextRemovalStep(replica('b'), seen, settings, protectedNs, 20_500, often)).toEqual({
      action: 'delete',
      gracePeriodSeconds: 5,
      reason: 'EvictionTimeout',
    });
    // A short wait leaves the rest of the timeout to the budgets.
    const once: RemovalHistory = { removals: 1, lastRemoval: 0, removedUid: 'a' };
    expect(nextRemovalStep(replica('b'), seen, settings, protectedNs, 1000, once)).toMatchObject({
      action: 'evict',
    });
  });

  it('removes a pod recreated under the same name behind a refusing budget within the stated bound', () => {
    // A tenant's bare pod with a day's grace period, a budget refusing every eviction, recreated a
    // second after each removal: every instance is gone within evictionTimeout + maxGracePeriodSeconds.
    for (const s of [remediationSettings({}), settings]) {
      const bound = s.evictionTimeoutMs + s.maxGracePeriodSeconds * 1000;
      let history: RemovalHistory | undefined;
      let now = 0;
      const lived: number[] = [];
      for (let cycle = 1; cycle <= 14; cycle++) {
        const p = replica(`uid-${cycle}`);
        p.spec!.terminationGracePeriodSeconds = 86_400;
        const created = now;
        let attempts: RemovalAttempts = firstSeen(now);
        for (;;) {
          const step = nextRemovalStep(p, attempts, s, protectedNs, now, history);
          if (step.action === 'wait') {
            now += step.afterMs!;
          } else if (step.action === 'evict') {
            attempts = afterFailure(attempts, now, backoffDelay(attempts.failures, 1000, 60_000));
          } else {
            expect(step).toMatchObject({ action: 'delete', reason: 'EvictionTimeout' });
            if (step.action !== 'delete') break;
            history = afterRemoval(history, p.metadata!.uid!, now);
            now += step.gracePeriodSeconds * 1000;
            lived.push(now - created);
            now += 1000;
            break;
          }
        }
      }
      expect(lived).toHaveLength(14);
      expect(Math.max(...lived)).toBeLessThanOrEqual(bound);
    }
  });

  it('never delays what applies to terminating pods nor spares more than before', () => {
    const removed: RemovalHistory = { removals: 8, lastRemoval: 0, removedUid: 'a' };
    expect(
      nextRemovalStep(replica('b', { deleting: 86_400 }), undefined, settings, protectedNs, 1, removed),
    ).toEqual({ action: 'delete', gracePeriodSeconds: 5, reason: 'GracePeriodCapped' });
    expect(
      nextRemovalStep(
        replica('b', { namespace: 'kube-system' }),
        undefined,
        settings,
        protectedNs,
        1,
        removed,
      ).action,
    ).toBe('spare');
  });

  it('bounds the removals of a pod put back at once, and the wait between two of them', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const rnd = random(seed);
      // The default policy (2 min) and the test's (20 s): the wait is capped by the timeout.
      const s = seed % 2 ? settings : remediationSettings({});
      const cap = Math.min(RECURRENCE_BACKOFF_CAP_MS, s.evictionTimeoutMs);
      let history: RemovalHistory | undefined;
      let uid = 0;
      let now = 0;
      let seen = firstSeen(now);
      const removals: number[] = [];
      while (now < 3 * 3600_000) {
        const step = nextRemovalStep(replica(`p${uid}`), seen, s, protectedNs, now, history);
        if (step.action === 'wait') {
          // Woken early by unrelated events as often as not: that must not make a request.
          now += rnd() < 0.5 ? 1 : step.afterMs!;
          continue;
        }
        // Evicted, or deleted when the wait reached its deadline.
        expect(['evict', 'delete']).toContain(step.action);
        removals.push(now);
        history = afterRemoval(history, `p${uid}`, now);
        // The scheduler puts the replacement back within half a second.
        uid++;
        now += Math.floor(rnd() * 500);
        seen = firstSeen(now);
      }
      // The first violation is removed at once.
      expect(removals[0]).toBe(0);
      // 1 + 1 s + 2 s + 4 s + 8 s (+ the replacements' own half seconds) in the first 30 s.
      expect(removals.filter((t) => t < 30_000).length).toBeLessThanOrEqual(5);
      // Never longer than the cap (and the replacement's binding) between two removals.
      const gaps = removals.slice(1).map((t, i) => t - removals[i]!);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(cap + 500);
      expect(Math.max(...gaps)).toBeGreaterThanOrEqual(cap);
    }
  });
});

describe('the evictor shared by every hub', () => {
  /** An API server that records eviction and deletion requests, and refuses evictions while `refuse`. */
  const fakeClients = (refuse = false) => {
    const calls: string[] = [];
    const core = {
      createNamespacedPodEviction: async ({ name }: { name: string }) => {
        calls.push(`evict ${name}`);
        if (refuse) throw Object.assign(new Error('refused'), { code: 429, body: { message: 'budget' } });
        return {};
      },
      deleteNamespacedPod: async ({ name }: { name: string }) => {
        calls.push(`delete ${name}`);
        return {};
      },
    };
    return { calls, clients: core as unknown as PodRemovalApi };
  };
  /** The value of one series of a placement counter. */
  const count = async (
    counter: { get(): Promise<{ values: { labels: object; value: number }[] }> },
    label: string,
  ) => (await counter.get()).values.find((v) => Object.values(v.labels).includes(label))?.value;

  it('removes a pod of a namespace two hubs hold once, and counts it once', async () => {
    const { calls, clients } = fakeClients();
    const metrics = new PlacementMetrics(new Registry());
    const evictor = new Evictor(clients, metrics, { operatorNamespace: 'hdh-system' });
    // Both hubs reconcile on the same node change, before the pod watch shows the eviction.
    const stale = pod();
    const outcomes = [];
    for (const _hub of ['a', 'b']) {
      const step = evictor.plan(stale, settings);
      if (step.action === 'evict' || step.action === 'delete')
        outcomes.push(await evictor.carryOut(stale, step));
    }
    expect(outcomes.map((o) => o.result)).toEqual(['evicted']);
    expect(calls).toEqual(['evict p']);
    expect(await count(metrics.evictions, 'evicted')).toBe(1);
    // Once the pod is gone from the violations, a pod of that UID would start afresh.
    evictor.forgetExcept('research', []);
    expect(evictor.plan(stale, settings)).toMatchObject({ action: 'evict' });
  });

  it('sends one request when two hubs reconciled side by side remove the same pod', async () => {
    const { calls, clients } = fakeClients();
    const metrics = new PlacementMetrics(new Registry());
    const evictor = new Evictor(clients, metrics);
    // Both planned before either request was sent (the Node is read in between).
    const steps = ['a', 'b'].map(() => evictor.plan(pod(), settings));
    const outcomes = await Promise.all(
      steps.map((step) =>
        step.action === 'evict' || step.action === 'delete' ? evictor.carryOut(pod(), step) : undefined,
      ),
    );
    expect(outcomes.map((o) => o?.result).sort()).toEqual(['evicted', 'taken']);
    expect(calls).toEqual(['evict p']);
    expect(await count(metrics.evictions, 'evicted')).toBe(1);
  });

  it('forgets pods nobody acted on for long, in namespaces no longer audited too', () => {
    const evictor = new Evictor(fakeClients().clients, new PlacementMetrics(new Registry()));
    expect(evictor.plan(pod(), settings, 0)).toMatchObject({ action: 'evict' });
    // Still remembered: the timeout counts from the first sight.
    expect(evictor.plan(pod(), settings, settings.evictionTimeoutMs)).toMatchObject({ action: 'delete' });
    // Another namespace's audit, long after.
    evictor.forgetExcept('elsewhere', []);
    expect(evictor.plan(pod(), settings, settings.evictionTimeoutMs)).toMatchObject({ action: 'evict' });
  });

  it('shortens a tenant grace period once for two hubs', async () => {
    const { calls, clients } = fakeClients();
    const metrics = new PlacementMetrics(new Registry());
    const evictor = new Evictor(clients, metrics);
    const terminating = pod({ deleting: 86_400 });
    for (const _hub of ['a', 'b']) {
      const step = evictor.plan(terminating, settings);
      if (step.action === 'evict' || step.action === 'delete') await evictor.carryOut(terminating, step);
    }
    expect(calls).toEqual(['delete p']);
    expect(await count(metrics.deletions, 'GracePeriodCapped')).toBe(1);
  });

  it('backs off refused evictions for both hubs together', async () => {
    const { calls, clients } = fakeClients(true);
    const metrics = new PlacementMetrics(new Registry());
    const evictor = new Evictor(clients, metrics);
    for (const _hub of ['a', 'b']) {
      const step = evictor.plan(pod(), settings);
      if (step.action === 'evict' || step.action === 'delete') await evictor.carryOut(pod(), step);
    }
    expect(calls).toEqual(['evict p']);
    expect(await count(metrics.evictions, 'blocked')).toBe(1);
  });
});
