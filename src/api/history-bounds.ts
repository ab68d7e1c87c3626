// The bounds of the durable history (history.ts), so that no kind of entry can push out another
// and the ConfigMap stays far below its 1 MiB:
//  - per kind: KeysRetained and KeysShredded 256 each, KeyRotated 32, and the placement entries
//    (Violation, ViolationResolved, Eviction, PodDeleted) with any of a type this version does
//    not know 256 together. Beyond its cap a kind loses its own oldest entries, never another's:
//    a tenant who rotates keys, or makes pods violate, at will churns only that kind.
//  - per entry: MAX_ENTRY_BYTES of rendered JSON (UTF-8), the message cut to fit.
//  - in all: MAX_HISTORY_BYTES of rendered JSON. Key evidence and rotations at their caps, every
//    entry at its largest, take less than that; the placement entries share what is left, the
//    oldest going first. Should the record still not fit (only bounds smaller than these do
//    that), rotations go next, and the oldest key evidence last.
export type HistoryGroup = 'KeysRetained' | 'KeysShredded' | 'KeyRotated' | 'others';

export const HISTORY_CAPS: Readonly<Record<HistoryGroup, number>> = {
  KeysRetained: 256,
  KeysShredded: 256,
  KeyRotated: 32,
  others: 256,
};
/** The largest entry, as rendered JSON in UTF-8. */
export const MAX_ENTRY_BYTES = 1536;
/** The largest `entries` value, as rendered JSON in UTF-8 (a ConfigMap holds at most 1 MiB). */
export const MAX_HISTORY_BYTES = 900 * 1024;

export interface HistoryBounds {
  caps: Partial<Record<HistoryGroup, number>>;
  bytes: number;
}

/** Which kinds go first when the record is over its byte budget. */
const EVICTION_ORDER: readonly (readonly HistoryGroup[])[] = [
  ['others'],
  ['KeyRotated'],
  ['KeysRetained', 'KeysShredded'],
];

const OWN_CAPS: ReadonlySet<string> = new Set(['KeysRetained', 'KeysShredded', 'KeyRotated']);
const groupOf = (type: string): HistoryGroup => (OWN_CAPS.has(type) ? (type as HistoryGroup) : 'others');

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** Oldest first, by time; entries of the same time keep their order. */
export function sortByTime<T extends { time: string }>(entries: readonly T[]): T[] {
  const at = (e: T) => Date.parse(e.time);
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => at(a.e) - at(b.e) || a.i - b.i)
    .map(({ e }) => e);
}

/** `entries` (oldest first) without what the caps and the byte budget leave out. */
export function boundHistory<T extends { type: string }>(
  entries: readonly T[],
  bounds: Partial<HistoryBounds> = {},
): T[] {
  const caps = { ...HISTORY_CAPS, ...bounds.caps };
  const budget = bounds.bytes ?? MAX_HISTORY_BYTES;
  const counted = new Map<HistoryGroup, number>();
  const kept: T[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const group = groupOf(entries[i]!.type);
    const n = counted.get(group) ?? 0;
    if (n >= Math.max(0, caps[group])) continue;
    counted.set(group, n + 1);
    kept.unshift(entries[i]!);
  }
  const sizes = kept.map(bytesOf);
  // `[`, `]` and a comma between entries.
  let size = 2 + sizes.reduce((a, b) => a + b, 0) + Math.max(0, kept.length - 1);
  for (const groups of EVICTION_ORDER) {
    while (size > budget) {
      const oldest = kept.findIndex((e) => groups.includes(groupOf(e.type)));
      if (oldest < 0) break;
      size -= sizes[oldest]! + (kept.length > 1 ? 1 : 0);
      kept.splice(oldest, 1);
      sizes.splice(oldest, 1);
    }
  }
  return kept;
}

/**
 * `e` within MAX_ENTRY_BYTES: as it is when it fits; else with its message cut (by whole
 * characters, marked `…`); else, names too long to leave room for any message, with every text
 * field but time and type cut short too. Undefined when even that does not fit.
 */
export function fitEntry<T extends object>(e: T): T | undefined {
  if (bytesOf(e) <= MAX_ENTRY_BYTES) return e;
  const record = e as Record<string, unknown>;
  const withMessage = fitMessage(record);
  if (withMessage) return withMessage as T;
  const short = Object.fromEntries(
    Object.entries(record).map(([k, v]) => [
      k,
      k !== 'time' && k !== 'type' && k !== 'message' && typeof v === 'string' && v.length > 64
        ? `${v.slice(0, 63)}…`
        : v,
    ]),
  );
  const fitted = fitMessage(short) ?? (bytesOf(short) <= MAX_ENTRY_BYTES ? short : undefined);
  return fitted as T | undefined;
}

/** `e` with the longest start of its message that fits, or undefined when none does. */
function fitMessage(e: Record<string, unknown>): Record<string, unknown> | undefined {
  if (typeof e.message !== 'string') return undefined;
  const chars = Array.from(e.message);
  const withFirst = (n: number) => ({
    ...e,
    message: n >= chars.length ? e.message : `${chars.slice(0, n).join('')}…`,
  });
  if (bytesOf(withFirst(chars.length)) <= MAX_ENTRY_BYTES) return withFirst(chars.length);
  // The most characters that fit: fits(0) may fail (names too long), fits(length) does not.
  let lo = -1;
  let hi = chars.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (bytesOf(withFirst(mid)) <= MAX_ENTRY_BYTES) lo = mid;
    else hi = mid;
  }
  return lo < 0 ? undefined : withFirst(lo);
}
