// The durable history in the report: each hub's entries, the rest of its namespace's, and the
// keys retained or crypto-shredded at hub deletions. Events expire within hours; this record is
// the operator's own, kept in its namespace, so it is what a period is reported from.
import type { HealthDataHub } from '../../api/index.js';
import { uidInKeyRef } from '../../keys/identity.js';
import { canonicalJson } from './canonical-json.js';
import type { ComplianceSnapshot, HistoryEntry, ReportHistoryEntry, ReportKeyRecord } from './model.js';
import { compareText } from './order.js';

export interface ReportHistory {
  byHub: Map<string, ReportHistoryEntry[]>;
  namespaceHistory: (ReportHistoryEntry & { namespace: string })[];
  retainedKeys: ReportKeyRecord[];
  shreddedKeys: ReportKeyRecord[];
}

/** `since` as milliseconds; a time that does not parse is refused rather than ignored. */
export function sinceMs(since: string | undefined): number | undefined {
  if (since === undefined) return undefined;
  const ms = Date.parse(since);
  if (Number.isNaN(ms)) throw new Error(`since ${JSON.stringify(since)} is not an RFC 3339 time`);
  return ms;
}

/** Only the fields the report shows, in a fixed shape, whatever else the record held. */
function entryOf(e: HistoryEntry): ReportHistoryEntry {
  const optional = (k: 'hub' | 'hubUID' | 'pod' | 'node' | 'kekRef') =>
    typeof e[k] === 'string' ? { [k]: e[k] } : {};
  return {
    time: String(e.time),
    type: e.type,
    reason: String(e.reason ?? ''),
    message: String(e.message ?? ''),
    ...optional('hub'),
    ...optional('hubUID'),
    ...optional('pod'),
    ...optional('node'),
    ...optional('kekRef'),
    ...(Number.isSafeInteger(e.keyVersion) ? { keyVersion: e.keyVersion } : {}),
  };
}

/** Time order; entries of the same time by their content, so input order never shows. */
function byTime(a: ReportHistoryEntry, b: ReportHistoryEntry): number {
  const ta = Date.parse(a.time);
  const tb = Date.parse(b.time);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return compareText(a.time, b.time) || compareText(canonicalJson(a), canonicalJson(b));
}

const hubKey = (namespace: string, name: string) => `${namespace}\u0000${name}`;

/**
 * Splits the history of the namespaces in scope: an entry belongs to a hub of the report when it
 * names the hub and, when it carries a UID, the same UID (an earlier hub of the same name is
 * another hub); every other entry is the namespace's. Retained keys are those of a KeysRetained
 * entry not followed by a KeysShredded one for the same keys (keysOf: the KEK, since a later hub
 * may adopt the keys and shred them); they are the state of the keys, so `since` does not hide
 * them. Everything else is limited to entries at or after `since`.
 */
export function reportHistory(
  snapshot: ComplianceSnapshot,
  hubs: readonly HealthDataHub[],
  inScope: (namespace: string) => boolean,
  since: number | undefined,
): ReportHistory {
  const out: ReportHistory = { byHub: new Map(), namespaceHistory: [], retainedKeys: [], shreddedKeys: [] };
  const uids = new Map(
    hubs.map((h) => [hubKey(h.metadata.namespace ?? '', h.metadata.name ?? ''), h.metadata.uid]),
  );
  const inPeriod = (e: ReportHistoryEntry) => since === undefined || Date.parse(e.time) >= since;
  const retained = new Map<string, ReportKeyRecord>();
  // Taken in time order, whatever order the record was read in: retention then shredding of the
  // same keys leaves none retained, never the other way round.
  const byNamespace = new Map<string, ReportHistoryEntry[]>();
  for (const { namespace, entries } of snapshot.histories) {
    if (!inScope(namespace)) continue;
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), ...entries.map(entryOf)]);
  }
  for (const [namespace, entries] of byNamespace) {
    for (const e of entries.sort(byTime)) {
      const record = (): ReportKeyRecord => ({
        namespace,
        ...(e.hub !== undefined ? { hub: e.hub } : {}),
        ...(e.hubUID !== undefined ? { uid: e.hubUID } : {}),
        ...(e.kekRef !== undefined ? { kekRef: e.kekRef } : {}),
        time: e.time,
        message: e.message,
      });
      if (e.type === 'KeysRetained') retained.set(keysOf(namespace, e), record());
      if (e.type === 'KeysShredded') {
        for (const [key, kept] of retained) if (sameKeys(kept, namespace, e)) retained.delete(key);
        if (inPeriod(e)) out.shreddedKeys.push(record());
      }
      if (!inPeriod(e)) continue;
      const key = e.hub !== undefined ? hubKey(namespace, e.hub) : undefined;
      const uid = key !== undefined ? uids.get(key) : undefined;
      if (key !== undefined && uids.has(key) && (e.hubUID === undefined || e.hubUID === uid)) {
        const list = out.byHub.get(key) ?? [];
        out.byHub.set(key, [...list, e]);
      } else {
        out.namespaceHistory.push({ namespace, ...e });
      }
    }
  }
  for (const list of out.byHub.values()) list.sort(byTime);
  out.namespaceHistory.sort((a, b) => compareText(a.namespace, b.namespace) || byTime(a, b));
  out.retainedKeys = [...retained.values()].map((k) => {
    const by = adopter(hubs, k);
    return by ? { ...k, adoptedBy: by } : k;
  });
  const byRecord = (a: ReportKeyRecord, b: ReportKeyRecord) =>
    compareText(a.namespace, b.namespace) ||
    compareText(a.time, b.time) ||
    compareText(canonicalJson(a), canonicalJson(b));
  out.retainedKeys.sort(byRecord);
  out.shreddedKeys.sort(byRecord);
  return out;
}

/** Which keys a KeysRetained entry is about: its KEK; for an entry recorded without one, its hub. */
function keysOf(namespace: string, e: ReportHistoryEntry): string {
  return e.kekRef !== undefined
    ? `${namespace}\u0000kek\u0000${e.kekRef}`
    : `${namespace}\u0000hub\u0000${e.hubUID ?? e.hub ?? ''}`;
}

/**
 * Whether a shred entry destroyed the retained keys `kept`: the same KEK; for a record without
 * one (written before entries named their KEK), the same hub UID, or a UID the shredded KEK's
 * reference names (the keys were adopted, then shredded by the adopter).
 */
function sameKeys(kept: ReportKeyRecord, namespace: string, shred: ReportHistoryEntry): boolean {
  if (kept.namespace !== namespace) return false;
  if (kept.kekRef !== undefined) return shred.kekRef === kept.kekRef;
  if (shred.kekRef === undefined || kept.uid === undefined) {
    return (kept.uid ?? kept.hub) === (shred.hubUID ?? shred.hub);
  }
  if (kept.uid === shred.hubUID) return true;
  try {
    return uidInKeyRef(shred.kekRef, { namespace, name: kept.hub ?? '' }) === kept.uid;
  } catch {
    return false;
  }
}

/**
 * The UID of the hub whose key reference names the retained keys: the hub adopted them
 * (hdh.sovereign.eu/adopt-keys) and they protect its data again. Matched on the KEK the record
 * names; for a record without one, on the UID the reference of the hub of the same name names.
 */
function adopter(hubs: readonly HealthDataHub[], k: ReportKeyRecord): string | undefined {
  if (k.kekRef !== undefined) {
    const by = hubs.find(
      (h) =>
        h.metadata.namespace === k.namespace &&
        h.metadata.uid !== k.uid &&
        h.status?.encryption?.keyRef === k.kekRef,
    );
    return by?.metadata.uid;
  }
  if (!k.uid || !k.hub) return undefined;
  const hub = hubs.find((h) => h.metadata.namespace === k.namespace && h.metadata.name === k.hub);
  const ref = hub?.status?.encryption?.keyRef;
  if (!ref || hub.metadata.uid === k.uid) return undefined;
  try {
    return uidInKeyRef(ref, { namespace: k.namespace, name: k.hub }) === k.uid ? hub.metadata.uid : undefined;
  } catch {
    return undefined;
  }
}

export function historyOf(history: ReportHistory, hub: HealthDataHub): ReportHistoryEntry[] {
  return history.byHub.get(hubKey(hub.metadata.namespace ?? '', hub.metadata.name ?? '')) ?? [];
}
