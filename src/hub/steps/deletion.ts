// The hub's deletion, run while its finalizer holds it: claims are kept (labelled retained-from,
// owner references removed) unless destruction is confirmed with the hub's own UID, then the keys
// get their say, then the finalizer goes. Decided on claims read from the API server, not the
// cache: what is kept or destroyed must not rest on a stale view.
import { FINALIZER, HEALTH_DATA_HUB, type HealthDataHub } from '../../api/index.js';
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
}

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
