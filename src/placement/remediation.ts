// Remediation of placement violations: pods are evicted through the Eviction API, never deleted,
// so PodDisruptionBudgets and graceful termination apply exactly as for a node drain.
import { CoreV1Api } from '@kubernetes/client-node';
import { backoffDelay } from '../runtime/backoff.js';
import type { ApiClients } from '../runtime/client.js';
import { describeError, statusCode } from '../runtime/errors.js';
import type { EvictionResult } from './metrics.js';
import type { PlacementMetrics } from './metrics.js';

export interface EvictionOutcome {
  result: EvictionResult;
  /** Why it did not happen (blocked, error): the API server's words. */
  message?: string;
  /** When blocked or failed: try again after this long (grows per pod). */
  retryAfterMs?: number;
}

export interface EvictionRetryOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** How long a pod's failed attempts are remembered once nobody retries them. */
const FORGET_AFTER_MS = 15 * 60_000;

export class Evictor {
  private readonly core: CoreV1Api;
  /** pod UID → consecutive failed attempts, for the backoff. */
  private readonly attempts = new Map<string, { n: number; last: number }>();

  constructor(
    clients: ApiClients,
    private readonly metrics: PlacementMetrics,
    private readonly retry: EvictionRetryOptions = {},
  ) {
    this.core = clients.make(CoreV1Api);
  }

  /**
   * Evicts one pod. The UID precondition makes the API server refuse if the name now belongs to
   * another pod (a StatefulSet replica recreated on a compliant node), which counts as gone.
   */
  async evict(namespace: string, name: string, uid: string | undefined): Promise<EvictionOutcome> {
    const outcome = await this.request(namespace, name, uid);
    this.metrics.evictions.inc({ result: outcome.result });
    const key = uid ?? `${namespace}/${name}`;
    if (outcome.result === 'evicted' || outcome.result === 'gone') {
      this.attempts.delete(key);
      return outcome;
    }
    const now = Date.now();
    this.prune(now);
    const n = this.attempts.get(key)?.n ?? 0;
    this.attempts.set(key, { n: n + 1, last: now });
    return {
      ...outcome,
      retryAfterMs: backoffDelay(n, this.retry.baseDelayMs ?? 1000, this.retry.maxDelayMs ?? 60_000),
    };
  }

  private async request(namespace: string, name: string, uid: string | undefined): Promise<EvictionOutcome> {
    try {
      await this.core.createNamespacedPodEviction({
        name,
        namespace,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name, namespace },
          ...(uid ? { deleteOptions: { preconditions: { uid } } } : {}),
        },
      });
      return { result: 'evicted' };
    } catch (e) {
      const code = statusCode(e);
      // 404: already gone; 409: the UID precondition failed, the name is another pod's now.
      if (code === 404 || code === 409) return { result: 'gone' };
      // 429: a PodDisruptionBudget does not allow it now.
      if (code === 429) return { result: 'blocked', message: blockedMessage(e) };
      return { result: 'error', message: describeError(e) };
    }
  }

  private prune(now: number): void {
    for (const [k, v] of this.attempts) if (now - v.last > FORGET_AFTER_MS) this.attempts.delete(k);
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
