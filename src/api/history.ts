// The durable history of a namespace holding hubs: what was found outside a policy, what was
// evicted or deleted, which keys were rotated, kept or crypto-shredded. Events expire after an
// hour; an auditor needs the record for longer. One ConfigMap per namespace, kept in the
// operator's own namespace (tenants cannot write there), bounded per kind of entry and in bytes.
//
// Pure: the names, the entry type, and the parse/append/render functions. The recorder that
// writes the ConfigMap is src/hub/history-recorder.ts; readers (reports) only parse.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { formatTime } from './conditions.js';
import { boundHistory, fitEntry, sortByTime, type HistoryBounds } from './history-bounds.js';
import { API_GROUP, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from './index.js';

export {
  HISTORY_CAPS,
  MAX_ENTRY_BYTES,
  MAX_HISTORY_BYTES,
  type HistoryBounds,
  type HistoryGroup,
} from './history-bounds.js';

export const HISTORY_TYPES = [
  'Violation',
  'ViolationResolved',
  'Eviction',
  'PodDeleted',
  'KeyRotated',
  'KeysRetained',
  'KeysShredded',
] as const;
export type HistoryType = (typeof HISTORY_TYPES)[number];

export interface HistoryEntry {
  /** RFC 3339, seconds. */
  time: string;
  type: HistoryType;
  /** The hub's name; absent for an entry about the whole namespace. */
  hub?: string;
  hubUID?: string;
  pod?: string;
  node?: string;
  /**
   * KeyRotated, KeysRetained, KeysShredded: the reference of the key-encryption key the entry is
   * about (status.encryption.keyRef). Adopted keys keep their KEK, so this, not the hub's UID,
   * tells which keys a later shred destroyed.
   */
  kekRef?: string;
  /** KeyRotated: the key version the rotation added (and made active). */
  keyVersion?: number;
  /** A Reason of the operator's catalogue (src/api/reasons.ts). */
  reason: string;
  /** Human readable; never key material, PINs or tokens. */
  message: string;
}

/**
 * An element of the stored array as it is kept: an entry, or one of a type this version does
 * not know (written by a newer version during a rolling update), kept as it was.
 */
export type StoredEntry = HistoryEntry | ForeignEntry;
export interface ForeignEntry {
  readonly time: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

/** What the ConfigMap holds: its elements, or why it cannot be read (it is then never replaced). */
export type StoredHistory = { entries: StoredEntry[] } | { unparsable: string };

/** Label on each history ConfigMap; its value is the namespace the history is of. */
export const HISTORY_LABEL = `${API_GROUP}/history-of`;
/** The data key holding the entries, a JSON array, oldest first. */
export const HISTORY_DATA_KEY = 'entries';
/** Longer messages are cut (and any message that would take an entry past MAX_ENTRY_BYTES). */
export const MAX_HISTORY_MESSAGE = 1024;
const MAX_FIELD = 253;

/** `hdh-history.<namespace>`: a namespace name is a DNS label, so the name is always valid. */
export function historyConfigMapName(namespace: string): string {
  return `hdh-history.${namespace}`;
}

const TYPES: ReadonlySet<string> = new Set(HISTORY_TYPES);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const validTime = (t: unknown): t is string =>
  typeof t === 'string' && RFC3339.test(t) && !Number.isNaN(Date.parse(t));

/** Whether a stored element is an entry of a type this version knows. */
export function isHistoryEntry(e: StoredEntry): e is HistoryEntry {
  return TYPES.has(e.type);
}

/** One element as stored, or undefined when it is not one (wrong type, missing field). */
function readElement(value: unknown): StoredEntry | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const { time, type, reason, message } = v;
  if (!validTime(time) || typeof type !== 'string') return undefined;
  if (!TYPES.has(type)) return fitEntry(v as ForeignEntry);
  if (typeof reason !== 'string' || typeof message !== 'string') return undefined;
  const entry: HistoryEntry = { time, type: type as HistoryType, reason, message };
  for (const key of ['hub', 'hubUID', 'pod', 'node', 'kekRef'] as const) {
    const field = v[key];
    if (field === undefined) continue;
    if (typeof field !== 'string') return undefined;
    entry[key] = field;
  }
  const version = v.keyVersion;
  if (version !== undefined) {
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return undefined;
    entry.keyVersion = version;
  }
  return normalizeEntry(entry);
}

/** An entry with its fields cut to their bounds, in a fixed key order, within MAX_ENTRY_BYTES. */
function normalizeEntry(e: HistoryEntry): HistoryEntry | undefined {
  const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
  const optional = (k: 'hub' | 'hubUID' | 'pod' | 'node' | 'kekRef') =>
    e[k] !== undefined ? { [k]: cut(e[k], MAX_FIELD) } : {};
  return fitEntry({
    time: e.time,
    type: e.type,
    ...optional('hub'),
    ...optional('hubUID'),
    ...optional('pod'),
    ...optional('node'),
    ...optional('kekRef'),
    ...(e.keyVersion !== undefined ? { keyVersion: e.keyVersion } : {}),
    reason: cut(e.reason, MAX_FIELD),
    message: cut(e.message, MAX_HISTORY_MESSAGE),
  });
}

/**
 * The elements of a history ConfigMap, oldest first and within the bounds; or, when its
 * `entries` is not a JSON array (or the ConfigMap holds other data only), why it cannot be read:
 * such a record is someone else's or damaged, and is never replaced. An absent ConfigMap, or
 * one without data, is an empty history. Elements that are not entries are left out; entries
 * of unknown types are kept as they are. Never throws.
 */
export function readStoredHistory(cm: V1ConfigMap | undefined): StoredHistory {
  const data = cm?.data ?? {};
  const text = data[HISTORY_DATA_KEY];
  if (text === undefined) {
    return Object.keys(data).length === 0 && !cm?.binaryData
      ? { entries: [] }
      : { unparsable: `it has no "${HISTORY_DATA_KEY}" key but other data` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { unparsable: `"${HISTORY_DATA_KEY}" is not JSON (${(e as Error).message})` };
  }
  if (!Array.isArray(parsed)) return { unparsable: `"${HISTORY_DATA_KEY}" is not a JSON array` };
  const entries = parsed.map(readElement).filter((e): e is StoredEntry => e !== undefined);
  return { entries: boundHistory(sortByTime(entries)) };
}

/**
 * The entries of a history ConfigMap this version knows, oldest first. Tolerant: anything that
 * cannot be read yields [], and nothing ever throws.
 */
export function parseHistory(cm: V1ConfigMap | undefined): HistoryEntry[] {
  const stored = readStoredHistory(cm);
  return 'entries' in stored ? stored.entries.filter(isHistoryEntry) : [];
}

/**
 * `stored` followed by `added`, oldest first (a stable sort by time: entries of the same second
 * keep the order they were recorded in), within the bounds (history-bounds.ts). An added entry
 * already on record is left out (alreadyRecorded): evidence derived again after a restart is
 * recorded once.
 */
export function appendHistory(
  stored: readonly StoredEntry[],
  added: readonly HistoryEntry[],
  bounds: Partial<HistoryBounds> = {},
): StoredEntry[] {
  const all = sortByTime([...stored]);
  for (const entry of added) {
    const e = normalizeEntry(entry);
    if (e && !alreadyRecorded(all, e)) all.push(e);
  }
  return boundHistory(sortByTime(all), bounds);
}

/**
 * Whether `e` says nothing that `entries` does not: the same keys (same type, hub UID and KEK,
 * and for a rotation the same version) kept or destroyed, or a violation of the same hub, pod and
 * node whose latest record is already a Violation (or already resolved, for a ViolationResolved).
 * Entries of other types, and violations naming no pod, are never left out.
 */
function alreadyRecorded(entries: readonly StoredEntry[], e: HistoryEntry): boolean {
  const known = entries.filter(isHistoryEntry);
  const sameHub = (x: HistoryEntry) => x.hubUID === e.hubUID && x.hub === e.hub;
  switch (e.type) {
    case 'KeysRetained':
    case 'KeysShredded':
      return known.some((x) => x.type === e.type && sameHub(x) && x.kekRef === e.kekRef);
    case 'KeyRotated':
      return (
        e.keyVersion !== undefined &&
        known.some(
          (x) => x.type === e.type && sameHub(x) && x.kekRef === e.kekRef && x.keyVersion === e.keyVersion,
        )
      );
    case 'Violation':
    case 'ViolationResolved': {
      if (e.pod === undefined) return false;
      const last = known
        .filter(
          (x) =>
            (x.type === 'Violation' || x.type === 'ViolationResolved') &&
            sameHub(x) &&
            x.pod === e.pod &&
            x.node === e.node,
        )
        .at(-1);
      return last?.type === e.type;
    }
    default:
      return false;
  }
}

/** The history ConfigMap of `namespace`, kept in the operator's namespace. */
export function renderHistoryConfigMap(
  namespace: string,
  operatorNamespace: string,
  entries: readonly StoredEntry[],
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: historyConfigMapName(namespace),
      namespace: operatorNamespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [HISTORY_LABEL]: namespace },
    },
    data: { [HISTORY_DATA_KEY]: JSON.stringify(entries) },
  };
}

/** An entry about `hub` (its name and UID; none for a namespace-wide entry) at `time`. */
export function historyEntry(
  hub: { metadata?: { name?: string; uid?: string } } | undefined,
  time: Date,
  fields: Omit<HistoryEntry, 'time' | 'hub' | 'hubUID'>,
): HistoryEntry {
  const entry: HistoryEntry = {
    time: formatTime(time),
    ...(hub?.metadata?.name ? { hub: hub.metadata.name } : {}),
    ...(hub?.metadata?.uid ? { hubUID: hub.metadata.uid } : {}),
    ...fields,
  };
  return normalizeEntry(entry) ?? entry;
}

/**
 * Where the controllers record history. Never rejects and never delays the action recorded: an
 * entry that cannot be written is logged and dropped. The promise settles once the entries are
 * written (true; also when every one was on record already) or given up (false): evictions do
 * not wait for it; a hub's deletion keeps its finalizer until its keys' record is written.
 */
export interface HistorySink {
  record(namespace: string, entries: readonly HistoryEntry[]): Promise<boolean>;
}
