// Pure helpers for status conditions with metav1.Condition semantics. The clock is a parameter
// so that callers and tests decide what "now" is.
import { Reason } from './reasons.js';
import type { Condition } from './types.generated.js';

/** Condition types. Ready summarises the four component conditions. */
export const ConditionType = {
  Ready: 'Ready',
  PlacementCompliant: 'PlacementCompliant',
  StorageReady: 'StorageReady',
  KeysReady: 'KeysReady',
  DatastoreReady: 'DatastoreReady',
  /** kstatus: True while the operator is working towards the desired state. */
  Reconciling: 'Reconciling',
  /** kstatus: True when progress needs a change of input (spec, policy, Secrets…). */
  Stalled: 'Stalled',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const ConditionStatus = { True: 'True', False: 'False', Unknown: 'Unknown' } as const;
export type ConditionStatus = Condition['status'];

/**
 * The conditions Ready is computed from, in the order their failures are reported: keys come
 * before storage because the datastore (and so its claims) waits for its keys — a pending claim is
 * then a consequence, the keys the cause.
 */
export const READY_COMPONENTS = [
  ConditionType.PlacementCompliant,
  ConditionType.KeysReady,
  ConditionType.StorageReady,
  ConditionType.DatastoreReady,
] as const;

/** What a controller decides about a condition; setCondition adds the transition time. */
export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  /** The metadata.generation of the object the condition was computed from. */
  observedGeneration: number;
}

/** Kubernetes timestamps have second precision (RFC 3339, UTC). */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === ConditionStatus.True;
}

export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === ConditionStatus.False;
}

/**
 * Returns the conditions with `update` applied, leaving the input untouched. lastTransitionTime
 * moves to `now` only when the status changes (or the condition is new), so it tells how long a
 * condition has held; reason, message and observedGeneration always follow the update. Order
 * is kept, and a new condition goes last.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === update.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    observedGeneration: update.observedGeneration,
    lastTransitionTime:
      previous && previous.status === update.status ? previous.lastTransitionTime : formatTime(now),
    reason: update.reason,
    message: update.message,
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/** Returns the conditions without the one of the given type. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}

/** True when both lists hold the same conditions, in any order (to skip no-op status writes). */
export function sameConditions(
  a: readonly Condition[] | undefined,
  b: readonly Condition[] | undefined,
): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((condition) => {
    const other = getCondition(right, condition.type);
    return (
      other !== undefined &&
      other.status === condition.status &&
      other.reason === condition.reason &&
      other.message === condition.message &&
      other.observedGeneration === condition.observedGeneration &&
      other.lastTransitionTime === condition.lastTransitionTime
    );
  });
}

/**
 * Computes Ready from PlacementCompliant, KeysReady, StorageReady and DatastoreReady (in that
 * order): the first False makes Ready False with its reason and message; otherwise any missing,
 * Unknown or stale one (computed for an older generation than `generation`) makes Ready Unknown;
 * Ready is True only when all four are True for the current generation.
 */
export function summarizeReady(
  conditions: readonly Condition[] | undefined,
  generation: number,
): ConditionUpdate {
  const ready = (status: ConditionStatus, reason: string, message: string): ConditionUpdate => ({
    type: ConditionType.Ready,
    status,
    reason,
    message,
    observedGeneration: generation,
  });

  let pending: ConditionUpdate | undefined;
  for (const type of READY_COMPONENTS) {
    const condition = getCondition(conditions, type);
    const stale = condition?.observedGeneration !== undefined && condition.observedGeneration < generation;
    if (condition && !stale && condition.status === ConditionStatus.False) {
      return ready(ConditionStatus.False, condition.reason, condition.message);
    }
    if (pending) continue;
    if (!condition) {
      pending = ready(ConditionStatus.Unknown, Reason.Reconciling, `${type} is not reported yet`);
    } else if (stale) {
      pending = ready(
        ConditionStatus.Unknown,
        Reason.Reconciling,
        `${type} was computed for generation ${condition.observedGeneration}, not ${generation} yet`,
      );
    } else if (condition.status !== ConditionStatus.True) {
      pending = ready(ConditionStatus.Unknown, condition.reason, condition.message);
    }
  }
  return (
    pending ??
    ready(ConditionStatus.True, Reason.AllReady, 'Placement, storage, keys and datastore are ready')
  );
}

/**
 * Applies `updates` to the previous conditions and drops every other type, so conditions that no
 * longer apply disappear while unchanged ones keep their lastTransitionTime.
 */
export function mergeConditions(
  previous: Condition[] | undefined,
  updates: ConditionUpdate[],
  now: Date,
): Condition[] {
  let list = (previous ?? []).filter((c) => updates.some((u) => u.type === c.type));
  for (const u of updates) list = setCondition(list, u, now);
  return list;
}
