// Removal of the pods a policy asks to evict, for the placement controller.
import type { KubernetesObject, V1Node, V1Pod } from '@kubernetes/client-node';
import { historyEntry, type HistoryEntry } from '../../api/history.js';
import { HEALTH_DATA_HUB, Reason } from '../../api/index.js';
import { auditPods, evictionCandidates, nodeFacts, type EligibleNodes } from '../../placement/audit.js';
import type { HeldPolicy, PodViolation } from '../../placement/audit.js';
import {
  DEFAULT_EVICTION_TIMEOUT,
  RECURRENCE_BACKOFF_BASE_MS,
  RECURRENCE_BACKOFF_CAP_MS,
  remediationSettings,
} from '../../placement/remediation.js';
import { type Evictor } from '../../placement/evictor.js';
import type { Cache } from '../../runtime/cache.js';
import type { ReconcileResult } from '../../runtime/controller.js';
import type { EventSink } from '../../runtime/events.js';
import type { Logger } from '../../runtime/logging.js';

/** After a cached verdict the API server did not confirm, look again this soon. */
const RECHECK_MS = 1000;

/** `20s`, `2m5s`: how long, for a message. */
function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}` : `${s}s`;
}

export interface RemediationDeps {
  pods: Cache<V1Pod>;
  evictor: Evictor;
  events: EventSink;
  log: Logger;
  /** The Node as the API server has it now (undefined: gone). */
  liveNode: (name: string) => Promise<V1Node | undefined>;
  /**
   * Where each removal the API server carried out is added, for the durable history: the caller
   * records them once every removal of the reconcile was made.
   */
  recorded?: HistoryEntry[] | undefined;
}

/**
 * Removes the pods `self`'s policy asks to evict, reporting on `subject` (the hub, or the
 * namespace for a policy it is held to by its label alone). Nothing is removed while no node could
 * take them back (NoEligibleNodes), nor on a verdict the API server's current Node does not
 * confirm. A PodDisruptionBudget that refuses is waited out with a growing delay, for at most the
 * policy's evictionTimeout; then the pod is deleted. Steps not due yet make no request, however
 * often the namespace is reconciled.
 */
export async function remediate(
  d: RemediationDeps,
  subject: KubernetesObject,
  namespace: string,
  self: HeldPolicy,
  held: readonly HeldPolicy[],
  violations: readonly PodViolation[],
  eligible: EligibleNodes,
  signal?: AbortSignal,
): Promise<ReconcileResult | void> {
  const candidates = evictionCandidates(violations, self, eligible);
  if (candidates.length === 0) return;
  const settings = remediationSettings(self.spec);
  const policy = `SovereigntyPolicy ${self.policyName}`;
  const timeout = `evictionTimeout ${self.spec.remediation?.evictionTimeout ?? DEFAULT_EVICTION_TIMEOUT} of ${policy}`;
  let retry: number | undefined;
  const later = (ms: number | undefined) => {
    if (ms !== undefined) retry = Math.min(retry ?? ms, ms);
  };
  const live = new Map<string, Promise<V1Node | undefined>>();
  for (const v of candidates) {
    signal?.throwIfAborted();
    const pod = d.pods.get(`${namespace}/${v.pod}`);
    // Gone pod: nothing to do.
    if (!pod) continue;
    const what = `pod ${v.pod} on node ${v.node}`;
    const step = d.evictor.plan(pod, settings);
    if (step.action === 'spare') {
      await d.events.record(
        subject,
        'Warning',
        Reason.PodNotEvicted,
        `${what} is outside the policy but is never evicted or deleted: ${step.why}; move it yourself`,
      );
      continue;
    }
    if (step.action === 'wait') {
      later(step.afterMs);
      if (step.repeated && d.evictor.noteRepeated(pod)) {
        d.log.warn('pod back on a node outside its policy, removal deferred', {
          pod: `${namespace}/${v.pod}`,
          node: v.node,
          removals: step.repeated.removals,
        });
        await d.events.record(
          subject,
          'Warning',
          Reason.RepeatedViolation,
          `${what} is outside the policy again (${v.reason}) after ${step.repeated.removals} removal(s) of a pod ` +
            `of that name from that node: the scheduler keeps placing it there, most likely because the node's ` +
            `labels satisfy the policy while its spec.providerID contradicts them, or a local volume pins the pod ` +
            `to it. Removals now wait ${seconds(RECURRENCE_BACKOFF_BASE_MS)}, doubling up to ` +
            `${seconds(RECURRENCE_BACKOFF_CAP_MS)}, never past the ${timeout}; the violation stays reported meanwhile. Fix or cordon the ` +
            `node, or move the volume`,
        );
      }
      continue;
    }
    if (!live.has(v.node)) live.set(v.node, d.liveNode(v.node));
    const node = await live.get(v.node)!;
    // Gone node: the pod garbage collector deletes its pods.
    if (!node) continue;
    // Decide on what the API server says now, not on a cache that may lag behind.
    if (auditPods(held, [pod], new Map([[v.node, nodeFacts(node)]])).length === 0) {
      later(RECHECK_MS);
      continue;
    }
    const outcome = await d.evictor.carryOut(pod, step);
    const grace = `grace period ${step.gracePeriodSeconds}s`;
    const record = (fields: Omit<HistoryEntry, 'time' | 'hub' | 'hubUID' | 'pod' | 'node'>) =>
      d.recorded?.push(
        historyEntry(subject.kind === HEALTH_DATA_HUB.kind ? subject : undefined, new Date(), {
          ...fields,
          pod: v.pod,
          node: v.node,
        }),
      );
    if (outcome.result === 'evicted') {
      d.log.info('evicted pod outside its policy', {
        hub: `${namespace}/${self.hub}`,
        pod: v.pod,
        node: v.node,
      });
      const note = `evicted ${what} (${v.reason}); ${grace}`;
      record({ type: 'Eviction', reason: Reason.PodEvicted, message: `${note}, for ${policy}` });
      await d.events.record(subject, 'Warning', Reason.PodEvicted, note);
    } else if (outcome.result === 'deleted' && step.action === 'delete') {
      const note =
        step.reason === Reason.EvictionTimeout
          ? `deleted ${what} (${v.reason}): still there ${seconds(Date.now() - (outcome.since ?? Date.now()))} after it was ` +
            `found outside the policy, beyond the ${timeout}; ` +
            `PodDisruptionBudgets do not stop a deletion; ${grace}`
          : `${what} was terminating with a grace period of ${pod.metadata?.deletionGracePeriodSeconds}s; deleted again ` +
            `with ${step.gracePeriodSeconds}s, the maxGracePeriodSeconds of ${policy}, which shortens it`;
      record({
        type: 'PodDeleted',
        reason: step.reason === Reason.EvictionTimeout ? Reason.PodDeleted : Reason.GracePeriodShortened,
        message: note,
      });
      d.log.info('deleted pod outside its policy', {
        hub: `${namespace}/${self.hub}`,
        pod: v.pod,
        node: v.node,
        reason: step.reason,
      });
      await d.events.record(
        subject,
        'Warning',
        step.reason === Reason.EvictionTimeout ? Reason.PodDeleted : Reason.GracePeriodShortened,
        note,
      );
    } else if (outcome.result === 'blocked' || outcome.result === 'error') {
      // A refusal is counted (hdh_placement_evictions_total) and said once per pod, not once per
      // attempt; other errors are logged at each attempt, which the backoff spaces out.
      if (outcome.firstFailure || outcome.result === 'error') {
        d.log.warn(
          outcome.result === 'blocked' ? 'eviction refused, will retry' : 'removal failed, will retry',
          {
            pod: `${namespace}/${v.pod}`,
            error: outcome.message,
            retryInMs: outcome.retryAfterMs,
          },
        );
      }
      if (outcome.firstFailure) {
        await d.events.record(
          subject,
          'Warning',
          Reason.EvictionBlocked,
          step.action === 'evict'
            ? `could not evict ${what}: ${outcome.message ?? 'refused'}; retrying with backoff, and deleting it if ` +
                `still refused after the ${timeout}`
            : `could not delete ${what}: ${outcome.message ?? 'refused'}; retrying with backoff`,
        );
      }
    }
    const next = d.evictor.plan(pod, settings);
    if (next.action === 'wait') later(next.afterMs);
  }
  return retry === undefined ? undefined : { requeueAfterMs: retry };
}
