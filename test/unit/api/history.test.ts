// The durable history's pure parts: names, parsing (tolerant of anything found in the ConfigMap),
// appending (ordered, bounded per type and in bytes, idempotent for evidence derived again) and
// rendering.
import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  HISTORY_CAPS,
  HISTORY_LABEL,
  MAX_ENTRY_BYTES,
  MAX_HISTORY_BYTES,
  MAX_HISTORY_MESSAGE,
  appendHistory,
  historyConfigMapName,
  historyEntry,
  parseHistory,
  readStoredHistory,
  renderHistoryConfigMap,
  type HistoryEntry,
  type StoredEntry,
} from '../../../src/api/history.js';

const at = (second: number) =>
  new Date(Date.UTC(2026, 2, 1, 10, 0, second)).toISOString().replace('.000', '');

const entry = (second: number, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  time: at(second),
  type: 'Violation',
  hub: 'oncology',
  hubUID: 'uid-1',
  pod: `db-${second}`,
  node: 'us-1',
  reason: 'PodsOutsidePolicy',
  message: `entry ${second}`,
  ...over,
});

const configMap = (entries: unknown): V1ConfigMap => ({
  metadata: { name: 'hdh-history.research', namespace: 'hdh-system' },
  data: { entries: typeof entries === 'string' ? entries : JSON.stringify(entries) },
});

describe('historyConfigMapName and the label', () => {
  it('name the ConfigMap after the namespace it records', () => {
    expect(historyConfigMapName('research')).toBe('hdh-history.research');
    expect(HISTORY_LABEL).toBe('hdh.sovereign.eu/history-of');
  });
});

describe('renderHistoryConfigMap', () => {
  it('renders the entries as a JSON array in the operator namespace, labelled', () => {
    const cm = renderHistoryConfigMap('research', 'hdh-system', [entry(1)]);
    expect(cm).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'hdh-history.research',
        namespace: 'hdh-system',
        labels: { 'app.kubernetes.io/managed-by': 'hdh-operator', 'hdh.sovereign.eu/history-of': 'research' },
      },
      data: { entries: JSON.stringify([entry(1)]) },
    });
    expect(parseHistory(cm)).toEqual([entry(1)]);
  });
});

describe('parseHistory', () => {
  it.each([
    ['no ConfigMap', undefined],
    ['no data', { metadata: {} }],
    ['no entries key', { data: { other: '[]' } }],
    ['not JSON', configMap('[{')],
    ['an object', configMap({ entries: [] })],
    ['a string', configMap('"Violation"')],
    ['null', configMap('null')],
  ])('yields [] for %s, without throwing', (_what, cm) => {
    expect(parseHistory(cm as V1ConfigMap | undefined)).toEqual([]);
  });

  it('leaves out elements that are not entries, keeping the others', () => {
    const good = entry(5);
    const list = [
      good,
      null,
      'text',
      [entry(6)],
      { ...entry(7), type: 'Unknown' },
      { ...entry(8), time: 'yesterday' },
      { ...entry(9), message: 42 },
      { ...entry(10), pod: { name: 'x' } },
      { time: at(11), type: 'KeyRotated', reason: 'KeyRotated' },
    ];
    expect(parseHistory(configMap(list))).toEqual([good]);
  });

  it('puts the entries in time order, oldest first, and keeps the latest 256 of a longer list', () => {
    const stored = Array.from({ length: 300 }, (_, i) => entry(i % 60, { message: `m${i}` })).reverse();
    const parsed = parseHistory(configMap(stored));
    expect(parsed).toHaveLength(HISTORY_CAPS.others);
    const times = parsed.map((e) => e.time);
    expect([...times].sort()).toEqual(times);
  });

  it('cuts an overlong message', () => {
    const [e] = parseHistory(configMap([entry(1, { message: 'x'.repeat(5000) })]));
    expect(e!.message).toHaveLength(MAX_HISTORY_MESSAGE);
  });

  it('reads the key reference and version of key entries, and refuses ones of the wrong kind', () => {
    const rotated = entry(1, { type: 'KeyRotated', kekRef: 'secret/hdh-system/k', keyVersion: 3 });
    const list = [
      rotated,
      { ...rotated, keyVersion: '3' },
      { ...rotated, kekRef: 7 },
      { ...rotated, keyVersion: 1.5 },
    ];
    expect(parseHistory(configMap(list))).toEqual([rotated]);
  });
});

describe('readStoredHistory', () => {
  it('says a record it cannot read is unparsable, rather than calling it empty', () => {
    for (const text of ['[{', '{"entries":[]}', '"Violation"', 'null']) {
      expect(readStoredHistory(configMap(text))).toEqual({ unparsable: expect.any(String) });
    }
    // Someone else's data under that name is not ours to replace either.
    expect(readStoredHistory({ data: { other: 'x' } })).toEqual({ unparsable: expect.any(String) });
    expect(readStoredHistory(undefined)).toEqual({ entries: [] });
    expect(readStoredHistory({ metadata: {} })).toEqual({ entries: [] });
  });

  it('keeps entries of types it does not know (a newer version wrote them), as they were', () => {
    const foreign = {
      time: at(2),
      type: 'KeysEscrowed',
      hub: 'oncology',
      escrow: { where: 'vault' },
      message: 'm',
    };
    const stored = readStoredHistory(configMap([entry(1), foreign]));
    expect(stored).toEqual({ entries: [entry(1), foreign] });
    // Readers see the entries they know.
    expect(parseHistory(configMap([entry(1), foreign]))).toEqual([entry(1)]);
  });
});

describe('appendHistory', () => {
  it('appends, oldest first, keeping the order of entries of the same second', () => {
    const a = entry(1, { message: 'a' });
    const b = entry(3, { message: 'b' });
    const c = entry(2, { message: 'c', type: 'Eviction' });
    const d = entry(3, { message: 'd', type: 'Eviction' });
    expect(appendHistory([a, b], [c, d]).map((e) => e.message)).toEqual(['a', 'c', 'b', 'd']);
  });

  it('drops the oldest entries beyond the bound', () => {
    const old = Array.from({ length: HISTORY_CAPS.others }, (_, i) =>
      entry(0, { message: `old ${i}`, pod: `p${i}` }),
    );
    const added = [entry(1, { message: 'new 1' }), entry(2, { message: 'new 2' })];
    const all = appendHistory(old, added);
    expect(all).toHaveLength(HISTORY_CAPS.others);
    expect(all[0]!.message).toBe('old 2');
    expect(all.slice(-2).map((e) => e.message)).toEqual(['new 1', 'new 2']);
    expect(appendHistory([entry(1)], [entry(2)], { caps: { others: 1 } })).toEqual([entry(2)]);
  });

  it('cannot be emptied of key evidence, violations and removals by rotating keys', () => {
    const evidence = [
      entry(1, { type: 'KeysShredded', hub: 'old', hubUID: 'uid-0', kekRef: 'k0', reason: 'KeysDestroyed' }),
      entry(2, { type: 'KeysRetained', hub: 'kept', hubUID: 'uid-9', kekRef: 'k9', reason: 'KeysRetained' }),
      entry(3),
      entry(4, { type: 'Eviction', reason: 'PodEvicted' }),
    ];
    let all: StoredEntry[] = evidence;
    // 256 rotate-key annotations, one at a time as the keys controller records them.
    for (let v = 2; v <= 257; v++) {
      const rotated = entry(10, { type: 'KeyRotated', kekRef: 'k1', keyVersion: v, reason: 'KeyRotated' });
      all = appendHistory(all, [
        { ...rotated, time: new Date(Date.UTC(2026, 2, 2, 0, 0, v)).toISOString().replace('.000', '') },
      ]);
    }
    expect(all.slice(0, 4)).toEqual(evidence);
    const rotations = all.filter((e) => e.type === 'KeyRotated') as HistoryEntry[];
    expect(rotations).toHaveLength(HISTORY_CAPS.KeyRotated);
    expect(rotations.map((e) => e.keyVersion)).toEqual(Array.from({ length: 32 }, (_, i) => 226 + i));
  });

  it('keeps each kind of key evidence apart: other types never push it out, only its own kind beyond 256', () => {
    const shredded = (i: number) =>
      entry(0, { type: 'KeysShredded', hubUID: `uid-${i}`, kekRef: `k${i}`, message: `s${i}` });
    const violations = Array.from({ length: 600 }, (_, i) => entry(1, { pod: `p${i}` }));
    let all = appendHistory([shredded(0)], violations);
    expect(all.filter((e) => e.type === 'KeysShredded')).toHaveLength(1);
    expect(all.filter((e) => e.type === 'Violation')).toHaveLength(HISTORY_CAPS.others);
    all = appendHistory(
      all,
      Array.from({ length: 300 }, (_, i) => shredded(i + 1)),
    );
    const kept = all.filter((e) => e.type === 'KeysShredded');
    expect(kept).toHaveLength(HISTORY_CAPS.KeysShredded);
    expect(kept[0]!.message).toBe('s45');
    expect(all.filter((e) => e.type === 'Violation')).toHaveLength(HISTORY_CAPS.others);
  });

  it('measures the rendered UTF-8 size: each entry and the whole record stay within their bytes', () => {
    // Three bytes a character: 1024 of them are 3 KiB, not 1 KiB.
    const wide = '€'.repeat(MAX_HISTORY_MESSAGE);
    const one = appendHistory([], [entry(1, { message: wide })])[0]!;
    expect(Buffer.byteLength(JSON.stringify(one))).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    expect(String(one.message).endsWith('…')).toBe(true);
    // Every kind at its bound, each entry as large as allowed: still under the budget.
    const big = (type: HistoryEntry['type'], i: number) =>
      entry(i % 60, {
        type,
        pod: `p${i}`,
        hubUID: `uid-${i}`,
        kekRef: `k${i}`,
        keyVersion: i,
        message: wide,
      });
    const full = appendHistory(
      [],
      (['KeysRetained', 'KeysShredded', 'KeyRotated', 'Violation', 'Eviction'] as const).flatMap((type) =>
        Array.from({ length: 300 }, (_, i) => big(type, i)),
      ),
    );
    const cm = renderHistoryConfigMap('research', 'hdh-system', full);
    expect(Buffer.byteLength(cm.data!.entries!)).toBeLessThanOrEqual(MAX_HISTORY_BYTES);
    const count = (type: string) => full.filter((e) => e.type === type).length;
    expect([count('KeysRetained'), count('KeysShredded'), count('KeyRotated')]).toEqual([256, 256, 32]);
    // What the budget leaves of the rest goes to the placement entries, the oldest dropped first.
    expect(count('Violation') + count('Eviction')).toBeGreaterThan(40);
  });

  it('drops the oldest placement entries first when over the byte budget, then rotations, key evidence last', () => {
    const e = (second: number, type: HistoryEntry['type']) =>
      entry(second, { type, pod: `p${second}`, keyVersion: type === 'KeyRotated' ? second : undefined });
    const list = [
      e(1, 'KeysRetained'),
      e(2, 'Violation'),
      e(3, 'KeyRotated'),
      e(4, 'Violation'),
      e(5, 'KeyRotated'),
    ];
    const size = (xs: readonly StoredEntry[]) => Buffer.byteLength(JSON.stringify(xs));
    // A budget of exactly the size of what should be left.
    const left = (...seconds: number[]) => {
      const bytes = size(list.filter((x) => seconds.includes(Number(x.time.slice(17, 19)))));
      return appendHistory([], list, { bytes }).map((x) => x.time);
    };
    expect(left(1, 3, 4, 5)).toEqual([at(1), at(3), at(4), at(5)]);
    expect(left(1, 3, 5)).toEqual([at(1), at(3), at(5)]);
    expect(left(1, 5)).toEqual([at(1), at(5)]);
    expect(left(1)).toEqual([at(1)]);
  });

  it('keeps entries of unknown types, counted with the placement entries', () => {
    const foreign = { time: at(0), type: 'KeysEscrowed', message: 'from a newer version' };
    expect(appendHistory([foreign, entry(1)], [entry(2)])).toEqual([foreign, entry(1), entry(2)]);
  });

  it('records key evidence derived again (after a restart) only once', () => {
    const shred = entry(1, { type: 'KeysShredded', hubUID: 'uid-1', kekRef: 'k1', message: 'destroyed' });
    const again = { ...shred, time: at(9), message: 'found destroyed on a later pass' };
    expect(appendHistory([shred], [again])).toEqual([shred]);
    // Another KEK, or another hub: recorded.
    expect(appendHistory([shred], [{ ...again, kekRef: 'k2' }])).toHaveLength(2);
    expect(appendHistory([shred], [{ ...again, type: 'KeysRetained' }])).toHaveLength(2);
    const rotated = entry(1, { type: 'KeyRotated', hubUID: 'uid-1', kekRef: 'k1', keyVersion: 2 });
    expect(appendHistory([rotated], [{ ...rotated, time: at(5) }])).toEqual([rotated]);
    expect(appendHistory([rotated], [{ ...rotated, time: at(5), keyVersion: 3 }])).toHaveLength(2);
  });

  it('records a violation still open only once, and again once it was resolved', () => {
    const found = entry(1, { pod: 'db-0' });
    const resolved = entry(2, { pod: 'db-0', type: 'ViolationResolved', reason: 'Compliant' });
    expect(appendHistory([found], [entry(3, { pod: 'db-0' })])).toEqual([found]);
    expect(appendHistory([found, resolved], [entry(3, { pod: 'db-0' })])).toHaveLength(3);
    // Another hub (by UID), or another node: another violation.
    expect(appendHistory([found], [entry(3, { pod: 'db-0', hubUID: 'uid-2' })])).toHaveLength(2);
    expect(appendHistory([found], [entry(3, { pod: 'db-0', node: 'us-2' })])).toHaveLength(2);
    // A second resolution of the same violation says nothing new.
    expect(appendHistory([found, resolved], [{ ...resolved, time: at(4) }])).toEqual([found, resolved]);
  });

  it('does not change the lists it is given', () => {
    const before = [entry(2)];
    appendHistory(before, [entry(1)]);
    expect(before).toEqual([entry(2)]);
  });
});

describe('historyEntry', () => {
  it('names the hub by name and UID, at the time given in seconds', () => {
    const hub = { metadata: { name: 'oncology', uid: 'uid-1' } };
    expect(
      historyEntry(hub, new Date('2026-03-01T10:00:05.678Z'), {
        type: 'Eviction',
        pod: 'db-0',
        node: 'us-1',
        reason: 'PodEvicted',
        message: 'evicted',
      }),
    ).toEqual({
      time: '2026-03-01T10:00:05Z',
      type: 'Eviction',
      hub: 'oncology',
      hubUID: 'uid-1',
      pod: 'db-0',
      node: 'us-1',
      reason: 'PodEvicted',
      message: 'evicted',
    });
  });

  it('has no hub for a namespace-wide entry', () => {
    const e = historyEntry(undefined, new Date(0), { type: 'Eviction', reason: 'PodEvicted', message: 'm' });
    expect(e).toEqual({ time: '1970-01-01T00:00:00Z', type: 'Eviction', reason: 'PodEvicted', message: 'm' });
  });
});
