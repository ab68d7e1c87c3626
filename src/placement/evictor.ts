// The Evictor: carries out the removal steps src/placement/remediation.ts decides, remembering
// each pod's attempts, so hubs and namespaces sharing a pod share its backoff and timeout.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { Reason } from '../api/index.js';
import { KUBERNETES_NAMESPACES } from '../api/system-namespaces.js';
import { backoffDelay } from '../runtime/backoff.js';
import { describeError, statusCode } from '../runtime/errors.js';
import type { EvictionResult, PlacementMetrics } from './metrics.js';
import {
  afterFailure,
  afterRemoval,
  afterSuccess,
  EVICTION_BACKOFF_BASE_MS,
  EVICTION_BACKOFF_CAP_MS,
  firstSeen,
  nextRemovalStep,
  recurrenceKey,
  RECURRENCE_WINDOW_MS,
  type RemediationSettings,
  type RemovalAttempts,
  type RemovalHistory,
  type RemovalStep,
} from './remediation.js';

export interface RemovalOutcome {
  /** `taken`: another hub sharing the namespace removed the pod, or is removing it: no request. */
  result: EvictionResult | 'deleted' | 'taken';
  /** Why it did not happen (blocked, error): the API server's words. */
  message?: string;
  /** The first refusal or failure for this pod: say so once, then only count. */
  firstFailure?: boolean;
  /** When blocked or failed: the next step is due after this long. */
  retryAfterMs?: number;
  /** When the pod was first seen outside the policy (for messages: how long it stayed). */
  since?: number;
}

export interface EvictorOptions {
  /** The operator's own namespace: its pods are never evicted or deleted either. */
  operatorNamespace?: string;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** How long a pod's attempts are remembered once nobody acts on it (a missed forget). */
const FORGET_AFTER_MS = 15 * 60_000;

/**
 * Carries out removal steps and remembers, per pod UID, the attempts the steps are decided on. One
 * instance serves every hub, so hubs sharing a namespace share a pod's backoff and timeout, and
 * remove it once.
 */
/** The two removals the Evictor makes: the API server's, or the unit tests' fake cluster. */
export type PodRemovalApi = Pick<CoreV1Api, 'createNamespacedPodEviction' | 'deleteNamespacedPod'>;

export class Evictor {
  private readonly attempts = new Map<string, RemovalAttempts & { namespace: string }>();
  /** Pods (by key of attempts) whose eviction or deletion request is under way. */
  private readonly inFlight = new Set<string>();
  /** By recurrenceKey; `said`: the Event was recorded, `counted`: the pod last counted in the metric. */
  private readonly history = new Map<string, RemovalHistory & { said: boolean; counted?: string }>();
  readonly protectedNamespaces: ReadonlySet<string>;

  constructor(
    private readonly core: PodRemovalApi,
    private readonly metrics: PlacementMetrics,
    private readonly opts: EvictorOptions = {},
  ) {
    // Hubs there are refused already (system-namespaces.ts); this holds whatever else happens.
    this.protectedNamespaces = new Set([
      ...KUBERNETES_NAMESPACES,
      ...(opts.operatorNamespace ? [opts.operatorNamespace] : []),
    ]);
  }

  /**
   * The next step for `pod` (which the audit found outside a policy with these settings). The
   * first call for a pod starts its evictionTimeout (firstSeen).
   */
  plan(pod: V1Pod, settings: RemediationSettings, now = Date.now()): RemovalStep {
    const uid = pod.metadata?.uid;
    const key = recurrenceKey(pod);
    const namespace = pod.metadata?.namespace ?? '';
    if (uid && !this.attempts.has(uid) && !this.protectedNamespaces.has(namespace)) {
      this.attempts.set(uid, { ...firstSeen(now), namespace });
    }
    return nextRemovalStep(
      pod,
      uid ? this.attempts.get(uid) : undefined,
      settings,
      this.protectedNamespaces,
      now,
      key ? this.history.get(key) : undefined,
    );
  }

  /**
   * Notes that `pod`'s removal waits because it is back where one of its name was removed from
   * (a `repeated` wait step): counted once per pod, and true once per name and node (while the
   * history is kept), when the Event is to be recorded.
   */
  noteRepeated(pod: V1Pod): boolean {
    const key = recurrenceKey(pod);
    const h = key ? this.history.get(key) : undefined;
    const uid = pod.metadata?.uid;
    if (!h || !uid) return false;
    // One pod holds the name at a time: the last one counted is the only one to remember.
    if (h.counted !== uid) {
      h.counted = uid;
      this.metrics.repeatedViolations.inc();
    }
    if (h.said) return false;
    h.said = true;
    return true;
  }

  /**
   * Carries out an evict or delete step. Both name the pod's UID as a precondition, so a pod
   * recreated under the same name (a StatefulSet replica on a compliant node) is spared and counts
   * as gone.
   */
  async carryOut(
    pod: V1Pod,
    step: Extract<RemovalStep, { action: 'evict' | 'delete' }>,
  ): Promise<RemovalOutcome> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid;
    // Whatever decided otherwise, the system's own pods are never touched.
    if (this.protectedNamespaces.has(namespace)) {
      return { result: 'error', message: `namespace ${namespace} is a system namespace: never evicted` };
    }
    const key = uid ?? `${namespace}/${name}`;
    // Hubs sharing a namespace are reconciled side by side, each planning from a cache that may
    // not show the other's removal yet: one request per pod, one Event, one count.
    const done = this.attempts.get(key)?.removedWithGrace;
    if (this.inFlight.has(key) || (done !== undefined && done <= step.gracePeriodSeconds)) {
      return { result: 'taken' };
    }
    this.inFlight.add(key);
    try {
      return await this.request(pod, key, step);
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async request(
    pod: V1Pod,
    key: string,
    step: Extract<RemovalStep, { action: 'evict' | 'delete' }>,
  ): Promise<RemovalOutcome> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid;
    const now = Date.now();
    const before = this.attempts.get(key);
    const deleteOptions = {
      gracePeriodSeconds: step.gracePeriodSeconds,
      ...(uid ? { preconditions: { uid } } : {}),
    };
    const outcome = await removal(step.action === 'evict' ? 'evicted' : 'deleted', () =>
      step.action === 'evict'
        ? this.core.createNamespacedPodEviction({
            name,
            namespace,
            body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace }, deleteOptions },
          })
        : this.core.deleteNamespacedPod({ name, namespace, body: deleteOptions }),
    );
    if (step.action === 'evict') this.metrics.evictions.inc({ result: outcome.result as EvictionResult });
    else if (outcome.result === 'deleted') this.metrics.deletions.inc({ reason: step.reason });
    if (outcome.result === 'gone') {
      this.attempts.delete(key);
      return { ...outcome, ...(before ? { since: before.since } : {}) };
    }
    if (outcome.result === 'evicted' || outcome.result === 'deleted') {
      // Kept until the pod is gone (forgetExcept), so that it is not removed again (carryOut).
      this.attempts.set(key, { ...afterSuccess(before, now, step.gracePeriodSeconds), namespace });
      // Removals the operator began (not a terminating pod's shortened grace period): one of the
      // same name back on the node waits before the next.
      if (uid && (step.action === 'evict' || step.reason === Reason.EvictionTimeout))
        this.remember(pod, uid, now);
      return { ...outcome, ...(before ? { since: before.since } : {}) };
    }
    const failures = before?.failures ?? 0;
    const retryAfterMs = backoffDelay(
      failures,
      this.opts.baseDelayMs ?? EVICTION_BACKOFF_BASE_MS,
      this.opts.maxDelayMs ?? EVICTION_BACKOFF_CAP_MS,
    );
    const next = afterFailure(before, now, retryAfterMs);
    this.attempts.set(key, { ...next, namespace });
    return { ...outcome, firstFailure: failures === 0, retryAfterMs, since: next.since };
  }

  /**
   * Forgets the attempts on pods of `namespace` that are no longer outside any policy: a pod
   * that leaves and re-enters violation starts a new timeout. Whatever nobody acted on for long
   * (a namespace no longer audited) goes too, so what is kept is bounded by the pods outside a
   * policy now.
   */
  forgetExcept(namespace: string, uids: Iterable<string | undefined>): void {
    const keep = new Set(uids);
    for (const [k, v] of this.attempts)
      if (v.namespace === namespace && !keep.has(k)) this.attempts.delete(k);
    this.prune(Date.now());
  }

  private prune(now: number): void {
    for (const [k, v] of this.attempts) if (now - v.last > FORGET_AFTER_MS) this.attempts.delete(k);
    for (const [k, v] of this.history) if (now - v.lastRemoval > RECURRENCE_WINDOW_MS) this.history.delete(k);
  }

  private remember(pod: V1Pod, uid: string, now: number): void {
    const key = recurrenceKey(pod);
    if (!key) return;
    this.prune(now);
    const before = this.history.get(key);
    // The Event is said again for a loop that starts afresh after the window.
    this.history.set(key, {
      ...afterRemoval(before, uid, now),
      said: before?.said ?? false,
    });
  }
}

/** One eviction or deletion request, its answer read as a removal outcome. */
async function removal(
  success: 'evicted' | 'deleted',
  send: () => Promise<unknown>,
): Promise<RemovalOutcome> {
  try {
    await send();
    return { result: success };
  } catch (e) {
    const code = statusCode(e);
    // 404: already gone; 409: the UID precondition failed, the name is another pod's now.
    if (code === 404 || code === 409) return { result: 'gone' };
    // 429 to an eviction: a PodDisruptionBudget does not allow it now.
    if (code === 429 && success === 'evicted') return { result: 'blocked', message: blockedMessage(e) };
    return { result: 'error', message: describeError(e) };
  }
}

/** The refusal and its causes, which name the disruption budget ("The disruption budget x needs…"). */
function blockedMessage(e: unknown): string {
  const body = (e as { body?: unknown }).body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as {
      message?: string;
      details?: { causes?: { message?: string }[] };
    };
    const causes = (status.details?.causes ?? []).map((c) => c.message).filter(Boolean);
    return [status.message, ...causes].filter(Boolean).join(' ') || describeError(e);
  } catch {
    return describeError(e);
  }
}
