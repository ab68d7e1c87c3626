// Remediation of placement violations. A pod outside its policy is evicted through the Eviction
// API, so PodDisruptionBudgets apply as for a node drain, but only for as long as the policy's
// evictionTimeout: then it is deleted, which budgets do not stop. Its grace period is capped by
// the policy's maxGracePeriodSeconds, so neither a budget nor a long grace period keeps it on a
// node outside the policy for longer than the policy states.
import type { V1Pod } from '@kubernetes/client-node';
import { Reason, type SovereigntyPolicySpec } from '../api/index.js';
import { parseDuration } from '../api/duration.js';
import { backoffDelay } from '../runtime/backoff.js';
import type { DeletionReason } from './metrics.js';

export const DEFAULT_EVICTION_TIMEOUT = '2m';
export const DEFAULT_MAX_GRACE_PERIOD_SECONDS = 30;
/** The API server's default terminationGracePeriodSeconds. */
const POD_DEFAULT_GRACE_SECONDS = 30;

/** Refused evictions are retried after 1 s, 2 s, 4 s … at most 60 s (each jittered down to half). */
export const EVICTION_BACKOFF_BASE_MS = 1000;
export const EVICTION_BACKOFF_CAP_MS = 60_000;

/**
 * The most eviction requests one pod can receive while budgets refuse them, before the timeout
 * turns them into one deletion: the backoff's shortest delays, added up until the timeout.
 */
export function maxEvictionRequests(
  evictionTimeoutMs: number,
  baseMs = EVICTION_BACKOFF_BASE_MS,
  capMs = EVICTION_BACKOFF_CAP_MS,
): number {
  let requests = 0;
  for (let t = 0; t < evictionTimeoutMs; t += backoffDelay(requests - 1, baseMs, capMs, () => 0)) requests++;
  return requests;
}

export interface RemediationSettings {
  evictionTimeoutMs: number;
  maxGracePeriodSeconds: number;
}

/** The policy's remediation bounds, with the CRD's defaults (a policy stored before they existed). */
export function remediationSettings(spec: Pick<SovereigntyPolicySpec, 'remediation'>): RemediationSettings {
  const r = spec.remediation ?? {};
  return {
    evictionTimeoutMs: parseDuration(r.evictionTimeout ?? DEFAULT_EVICTION_TIMEOUT),
    maxGracePeriodSeconds: r.maxGracePeriodSeconds ?? DEFAULT_MAX_GRACE_PERIOD_SECONDS,
  };
}

/** A pod's remembered removal attempts (by UID). */
export interface RemovalAttempts {
  /**
   * When the pod was first found outside the policy with a node to go to (its first removal
   * step): the evictionTimeout counts from here, whatever it waits for meanwhile.
   */
  since: number;
  /** When the latest attempt was made (`since` before the first). */
  last: number;
  /** Consecutive refused or failed requests, for the backoff. */
  failures: number;
  /** No request before this. */
  notBefore: number;
  /**
   * The grace period of the operator's removal of the pod that succeeded: the pod is on its way
   * out whatever a cache that lags behind still shows, so no other hub or policy holding the
   * namespace removes it again, nor says so again (see afterSuccess).
   */
  removedWithGrace?: number;
}

/**
 * The operator's successful removals of the pods that held one name on one node (see
 * `recurrenceKey`): a pod of that name back on that node, outside the policy again, was put back
 * there by the scheduler, which sees only labels.
 */
export interface RemovalHistory {
  /** Removals within RECURRENCE_WINDOW_MS of each other. */
  removals: number;
  /** When the latest one succeeded: the next removal waits `recurrenceDelay(removals)` from here. */
  lastRemoval: number;
  /** The pod removed then: the same pod still terminating is not a return. */
  removedUid: string;
}

/**
 * A pod back after a removal waits 1 s, 2 s, 4 s … at most 5 min before it is removed again, and
 * never past its own evictionTimeout (see nextRemovalStep).
 */
export const RECURRENCE_BACKOFF_BASE_MS = 1000;
export const RECURRENCE_BACKOFF_CAP_MS = 5 * 60_000;
/** Removals further apart than this start the count afresh; longer than the cap, so the count grows. */
export const RECURRENCE_WINDOW_MS = 10 * 60_000;

/** How long a pod back for the `removals + 1`th time waits before it is removed again (pure). */
export function recurrenceDelay(removals: number): number {
  return Math.min(
    RECURRENCE_BACKOFF_CAP_MS,
    RECURRENCE_BACKOFF_BASE_MS * 2 ** Math.min(Math.max(0, removals - 1), 40),
  );
}

/**
 * Whose removals a pod's return is judged by: its name on its node. Only a pod with a name of its
 * own (a StatefulSet replica, a bare pod): only one pod holds a name at a time, so another pod
 * under it was created after the removal. A generated name (Deployment, Job) is never reused.
 */
export function recurrenceKey(pod: V1Pod): string | undefined {
  const { namespace, name, generateName } = pod.metadata ?? {};
  const node = pod.spec?.nodeName;
  if (!namespace || !name || !node || generateName) return undefined;
  return `${namespace}/${name}@${node}`;
}

/** The history after one more removal that succeeded at `now` (pure). */
export function afterRemoval(before: RemovalHistory | undefined, uid: string, now: number): RemovalHistory {
  const recent = !!before && now - before.lastRemoval <= RECURRENCE_WINDOW_MS;
  return { removals: recent ? before.removals + 1 : 1, lastRemoval: now, removedUid: uid };
}

export type RemovalStep =
  /** Ask the Eviction API, which honours PodDisruptionBudgets. */
  | { action: 'evict'; gracePeriodSeconds: number }
  /** DELETE, which budgets do not stop: the timeout passed, or a grace period is to be shortened. */
  | { action: 'delete'; gracePeriodSeconds: number; reason: DeletionReason }
  /**
   * Nothing now: backing off (look again after `afterMs`), or the pod is leaving in time.
   * `repeated`: the pod is back where it was removed from, `removals` times already.
   */
  | { action: 'wait'; afterMs?: number; repeated?: { removals: number } }
  /** Never: a system namespace. */
  | { action: 'spare'; why: string };

/** The grace period a removal gives: the pod's own, at most the cap, at least 1 s (0 would skip the kubelet). */
export function cappedGracePeriod(pod: V1Pod, maxGracePeriodSeconds: number): number {
  const own = pod.spec?.terminationGracePeriodSeconds ?? POD_DEFAULT_GRACE_SECONDS;
  return Math.max(1, Math.min(own, maxGracePeriodSeconds));
}

/** A pod just found outside its policy: no attempt yet, its evictionTimeout counts from `now`. */
export function firstSeen(now: number): RemovalAttempts {
  return { since: now, last: now, failures: 0, notBefore: now };
}

/**
 * What to do next about a pod found outside its policy (pure). A terminating pod is left to
 * finish unless its grace period is longer than the cap; a running one is evicted, with backoff
 * between refusals, until the evictionTimeout has passed since it was first seen (`attempts.since`,
 * see firstSeen), then deleted. A pod the scheduler put back where an earlier one of its name was
 * removed from (`history`) waits `recurrenceDelay` after that removal before its own first
 * attempt, but never past its deadline: the wait is part of its evictionTimeout, so every pod
 * leaves within evictionTimeout + maxGracePeriodSeconds of being seen; nothing else waits. A pod
 * removed already (`attempts.removedWithGrace`) is waited for, as the terminating pod it is.
 */
export function nextRemovalStep(
  pod: V1Pod,
  attempts: RemovalAttempts | undefined,
  settings: RemediationSettings,
  protectedNamespaces: ReadonlySet<string>,
  now: number,
  history?: RemovalHistory,
): RemovalStep {
  const namespace = pod.metadata?.namespace ?? '';
  if (protectedNamespaces.has(namespace)) {
    return { action: 'spare', why: `namespace ${namespace} is a system namespace` };
  }
  const backoff = (until: number) => ({ action: 'wait' as const, afterMs: Math.max(1, until - now) });
  const deadline = (attempts?.since ?? now) + settings.evictionTimeoutMs;
  // Only before this pod's first attempt: once begun, its removal runs as any other's.
  const uid = pod.metadata?.uid;
  const begun = !!attempts && attempts.failures > 0;
  if (history && !begun && uid && uid !== history.removedUid && !pod.metadata?.deletionTimestamp) {
    const due = Math.min(history.lastRemoval + recurrenceDelay(history.removals), deadline);
    if (now < due) return { ...backoff(due), repeated: { removals: history.removals } };
  }
  const backingOff = !!attempts && now < attempts.notBefore;
  const removedWithGrace = attempts?.removedWithGrace;
  if (pod.metadata?.deletionTimestamp) {
    if (backingOff) return backoff(attempts.notBefore);
    // The API server lets a DELETE only shorten a pending grace period, from when it started.
    const seen = pod.metadata.deletionGracePeriodSeconds;
    const pending =
      removedWithGrace === undefined || seen === undefined ? seen : Math.min(seen, removedWithGrace);
    return pending !== undefined && pending > settings.maxGracePeriodSeconds
      ? {
          action: 'delete',
          gracePeriodSeconds: settings.maxGracePeriodSeconds,
          reason: Reason.GracePeriodCapped,
        }
      : { action: 'wait' };
  }
  // Removed already; its deletion is not in the cache yet.
  if (removedWithGrace !== undefined) return { action: 'wait' };
  const gracePeriodSeconds = cappedGracePeriod(pod, settings.maxGracePeriodSeconds);
  if (now >= deadline) {
    // A deletion that failed after the deadline backs off too.
    if (backingOff && attempts.last >= deadline) return backoff(attempts.notBefore);
    return { action: 'delete', gracePeriodSeconds, reason: Reason.EvictionTimeout };
  }
  if (backingOff) return backoff(Math.min(attempts.notBefore, deadline));
  return { action: 'evict', gracePeriodSeconds };
}

/** The attempts after one more refused or failed request at `now`, to retry after `retryAfterMs`. */
export function afterFailure(
  before: RemovalAttempts | undefined,
  now: number,
  retryAfterMs: number,
): RemovalAttempts {
  return {
    since: before?.since ?? now,
    last: now,
    failures: (before?.failures ?? 0) + 1,
    notBefore: now + retryAfterMs,
  };
}

/** The attempts once a removal with `gracePeriodSeconds` succeeded at `now`. */
export function afterSuccess(
  before: RemovalAttempts | undefined,
  now: number,
  gracePeriodSeconds: number,
): RemovalAttempts {
  return {
    since: before?.since ?? now,
    last: now,
    failures: 0,
    notBefore: now,
    removedWithGrace: gracePeriodSeconds,
  };
}
