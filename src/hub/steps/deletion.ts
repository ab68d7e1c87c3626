// The hub's deletion, run while its finalizer holds it: claims are kept (labelled retained-from,
// owner references removed) unless destruction is confirmed with the hub's own UID, then the keys
// get their say, then the finalizer goes. Decided on claims read from the API server, not the
// cache: what is kept or destroyed must not rest on a stale view. The finalizer stays until what
// became of the keys is in the durable history: a pass that stops in between (the operator
// restarted, the record could not be written) is followed by one that finds the keys kept or
// gone, says so again (keys/lifecycle/report.ts) and records it, once.
import { historyEntry, type HistoryEntry, type HistorySink } from '../../api/history.js';
import {
  FINALIZER,
  HEALTH_DATA_HUB,
  LABEL_RETAINED_FROM,
  Reason,
  type HealthDataHub,
  type PlannedEvent,
} from '../../api/index.js';
import type { Writer } from '../../runtime/apply.js';
import type { EventRecorder } from '../../runtime/events.js';
import { planDeletion, type StorageMetrics } from '../../storage/index.js';
import type { RetainedClaimRecords } from '../retained-claims.js';
import type { ClaimWriter } from './claim-writes.js';
import type { KeyGate } from './keys.js';

export interface DeletionDeps {
  writer: Writer;
  writes: ClaimWriter;
  events: EventRecorder;
  metrics: StorageMetrics;
  keys: KeyGate;
  /** Where the policy a retained claim holds its namespace to is recorded (not on the claim). */
  records: RetainedClaimRecords;
  /** The durable history: keys kept or crypto-shredded. */
  history?: HistorySink | undefined;
}

/** How soon a deletion whose keys' record could not be written tries again. */
const HISTORY_RETRY_MS = 10_000;

export type DeletionOutcome =
  | { done: true }
  /** The finalizer stays: `message` says why (DeletionBlocked), and the hub is looked at again. */
  | { done: false; message: string; requeueAfterMs?: number };

export async function finalizeHub(
  d: DeletionDeps,
  hub: HealthDataHub,
  signal?: AbortSignal,
): Promise<DeletionOutcome> {
  if (!hub.metadata.finalizers?.includes(FINALIZER)) return { done: true };
  const namespace = hub.metadata.namespace!;

  const claims = await d.writes.list(namespace);
  const plan = planDeletion(hub, claims);
  for (const action of plan.actions) {
    if (action.action === 'delete') {
      await d.writes.delete(namespace, action.claim, action.uid);
      d.metrics.claimOperations.inc({ op: 'delete' });
      continue;
    }
    // The record first: from the moment the claim is marked, the namespace is held by the record.
    const claim = claims.find((c) => c.metadata?.name === action.claim);
    if (claim) await d.records.record(hub, claim);
    if (action.patch) {
      await d.writes.patch(namespace, action.claim, action.patch);
      d.metrics.claimOperations.inc({ op: 'retain' });
    }
  }
  for (const e of plan.events) await d.events.record(hub, e.type, e.reason, e.note);

  const keys = await d.keys.release(hub, signal);
  for (const e of keys.events ?? []) await d.events.record(hub, e.type, e.reason, e.note);
  // Once done, and before the hub (and its status, which names the key) is gone.
  const kept = keysHistory(hub, keys.events ?? []);
  if (kept.length > 0 && d.history && !(await d.history.record(namespace, kept))) {
    return {
      done: false,
      message:
        `what became of the hub's keys (${kept.map((e) => e.type).join(', ')}) is not recorded yet in ` +
        'the durable history (see the operator log); the deletion finishes once it is',
      requeueAfterMs: HISTORY_RETRY_MS,
    };
  }
  if (!keys.released) {
    return {
      done: false,
      message: `the hub's keys are not released yet: ${keys.message ?? 'waiting for the key provider'}`,
      ...(keys.requeueAfterMs !== undefined ? { requeueAfterMs: keys.requeueAfterMs } : {}),
    };
  }
  await d.writer.removeFinalizer(HEALTH_DATA_HUB, hub, FINALIZER);
  return { done: true };
}

/**
 * What the keys' release did, for the durable history: keys kept (retained) or crypto-shredded,
 * with the KEK the hub's status records (adopted keys keep the KEK of the hub that made them).
 */
function keysHistory(hub: HealthDataHub, events: readonly PlannedEvent[]): HistoryEntry[] {
  const enc = hub.status?.encryption;
  const key = enc?.keyRef
    ? `key-encryption key ${enc.keyRef} (${enc.provider ?? 'provider unknown'}${enc.versions ? `, ${enc.versions} key version(s)` : ''})`
    : 'the hub has no key-encryption key on record';
  const kekRef = enc?.keyRef ? { kekRef: enc.keyRef } : {};
  const now = new Date();
  return events.flatMap((e): HistoryEntry[] => {
    if (e.reason === Reason.KeysRetained) {
      const message = `keys kept, labelled ${LABEL_RETAINED_FROM}=${hub.metadata.uid}: ${key}; ${e.note}`;
      return [
        historyEntry(hub, now, { type: 'KeysRetained', reason: Reason.KeysRetained, ...kekRef, message }),
      ];
    }
    if (e.reason === Reason.KeysDestroyed) {
      const message = `keys crypto-shredded: ${key}; ${e.note}`;
      return [
        historyEntry(hub, now, { type: 'KeysShredded', reason: Reason.KeysDestroyed, ...kekRef, message }),
      ];
    }
    return [];
  });
}
