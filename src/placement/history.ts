// The placement part of the durable history (src/api/history.ts): which pods appeared on, or
// left, nodes outside a policy. Decided against the full list of violations the audit found, not
// the one status holds (cut to MAX_LISTED_VIOLATIONS, by pod name): a cut list would call a pod
// resolved while it still runs there, and never name the violations past its end.
import { historyEntry, type HistoryEntry } from '../api/history.js';
import { Reason, type HealthDataHub } from '../api/index.js';

interface Violation {
  pod: string;
  node: string;
  reason: string;
}

export interface ViolationChange {
  found: Violation[];
  resolved: Violation[];
}

const keyOf = (v: Violation) => `${v.pod}\u0000${v.node}`;

/**
 * Per namespace and holder (a hub's UID, or '' for the namespace itself when it is held to a
 * policy by its label alone), the (pod, node) pairs last found outside the policy. Kept in
 * memory; a holder seen for the first time starts from what its status lists, and what that
 * misses after a restart is recorded again, which the history leaves out as already recorded
 * (an open Violation is not recorded twice).
 */
export class RecordedViolations {
  private readonly byNamespace = new Map<string, Map<string, Map<string, Violation>>>();

  /** What changed for `holder` since it was last asked (or since `seed`), and remembers `current`. */
  changes(
    namespace: string,
    holder: string,
    seed: readonly Violation[] | undefined,
    current: readonly Violation[],
  ): ViolationChange {
    const holders = this.byNamespace.get(namespace) ?? new Map<string, Map<string, Violation>>();
    this.byNamespace.set(namespace, holders);
    const before = holders.get(holder) ?? new Map((seed ?? []).map((v) => [keyOf(v), v]));
    const now = new Map(current.map((v) => [keyOf(v), v]));
    holders.set(holder, now);
    return {
      found: [...now].filter(([k]) => !before.has(k)).map(([, v]) => v),
      resolved: [...before].filter(([k]) => !now.has(k)).map(([, v]) => v),
    };
  }

  /** Forgets the holders of `namespace` not in `keep` (hubs gone). */
  forget(namespace: string, keep: ReadonlySet<string>): void {
    const holders = this.byNamespace.get(namespace);
    for (const holder of holders?.keys() ?? []) if (!keep.has(holder)) this.drop(namespace, holder);
  }

  /** Forgets one holder (a namespace no longer held to a policy by its label alone). */
  drop(namespace: string, holder: string): void {
    const holders = this.byNamespace.get(namespace);
    holders?.delete(holder);
    if (holders?.size === 0) this.byNamespace.delete(namespace);
  }
}

/**
 * A Violation entry per (pod, node) found, a ViolationResolved per one resolved; about `hub`, or
 * about the whole namespace without one. `policy` names the policy for the messages.
 */
export function violationHistory(
  hub: HealthDataHub | undefined,
  policy: string,
  change: ViolationChange,
  now: Date,
): HistoryEntry[] {
  const found = change.found.map((v) =>
    historyEntry(hub, now, {
      type: 'Violation',
      pod: v.pod,
      node: v.node,
      reason: Reason.PodsOutsidePolicy,
      message: `pod ${v.pod} runs on node ${v.node}, outside ${policy}: ${v.reason}`,
    }),
  );
  const resolved = change.resolved.map((v) =>
    historyEntry(hub, now, {
      type: 'ViolationResolved',
      pod: v.pod,
      node: v.node,
      reason: Reason.Compliant,
      message: `pod ${v.pod} is no longer found on node ${v.node} outside ${policy} (it was removed, or the node satisfies the policy again)`,
    }),
  );
  return [...found, ...resolved];
}
