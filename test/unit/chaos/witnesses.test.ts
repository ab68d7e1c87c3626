// The chaos experiments' witnesses are pure: a witness that cannot fail proves nothing, so each is
// shown here to catch what it is for.
import { parseChaosArgs } from '../../../chaos/args.js';
import {
  operatorIdentity,
  unexplainedManagedWrites,
  writerSpans,
  type AuditEvent,
} from '../../../chaos/harness/audit.js';
import { KeyLedger, type KeyLook, type StoredKeys } from '../../../chaos/harness/keys.js';
import { crashLines } from '../../../chaos/harness/operators.js';

const keys = (versions: Record<number, string>, uid = 'u1'): StoredKeys => ({
  secret: `ns/hub-keys`,
  hubUid: uid,
  versions: new Map(Object.entries(versions).map(([v, w]) => [Number(v), w])),
  activeVersion: Object.keys(versions).length,
});
const look = (
  k: StoredKeys[],
  keks: Record<string, { name: string; uid: string; data: string }[]> = {},
): KeyLook => ({
  keys: new Map(k.map((x) => [x.hubUid, x])),
  keks: new Map(Object.entries(keks)),
});
const kek = (uid = 'k1', data = 'a') => ({ name: `kek-${uid}`, uid, data });

describe('KeyLedger', () => {
  it('accepts versions only added, one key-encryption key kept', () => {
    const l = new KeyLedger();
    expect(l.record(look([keys({ 1: 'a' })], { u1: [kek()] }))).toEqual([]);
    expect(l.record(look([keys({ 1: 'a', 2: 'b' })], { u1: [kek()] }))).toEqual([]);
    expect(l.versionCount('u1')).toBe(2);
  });

  it.each([
    ['a version changed', [keys({ 1: 'x', 2: 'b' })], { u1: [kek()] }, /version 1 changed/],
    ['a version lost', [keys({ 2: 'b' })], { u1: [kek()] }, /version 1 lost/],
    ['a gap', [keys({ 1: 'a', 2: 'b', 4: 'd' })], { u1: [kek()] }, /gap/],
    ['the keys gone', [], { u1: [kek()] }, /are gone/],
    [
      'a second key-encryption key',
      [keys({ 1: 'a', 2: 'b' })],
      { u1: [kek(), kek('k2')] },
      /2 key-encryption keys/,
    ],
    ['the key-encryption key replaced', [keys({ 1: 'a', 2: 'b' })], { u1: [kek('k2')] }, /was replaced/],
    ['the key-encryption key gone', [keys({ 1: 'a', 2: 'b' })], {}, /is gone/],
  ])('reports %s', (_, k, keks, problem) => {
    const l = new KeyLedger();
    l.record(look([keys({ 1: 'a', 2: 'b' })], { u1: [kek()] }));
    expect(l.record(look(k, keks))).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
    expect(l.violations.length).toBeGreaterThan(0);
  });
});

const write = (id: string, at: string, name = 'h', resource = 'statefulsets'): AuditEvent => ({
  verb: 'patch',
  userAgent: `hdh-operator/0.1.0 (${id})`,
  requestReceivedTimestamp: at,
  stageTimestamp: at,
  objectRef: { resource, namespace: 'ns', name },
});

describe('audit witnesses', () => {
  it('reads the identity from the User-Agent, and nothing from other clients', () => {
    expect(operatorIdentity(write('host_42', '2026-01-01T00:00:00.000000Z'))).toBe('host_42');
    expect(operatorIdentity({ ...write('x', 'y'), userAgent: 'kubectl/v1.36.3' })).toBeUndefined();
  });

  it('finds one span per process when writers follow each other, more when they alternate', () => {
    const seq = [
      write('a_1', '2026-01-01T00:00:01.000000Z'),
      write('a_1', '2026-01-01T00:00:02.000000Z'),
      write('b_2', '2026-01-01T00:00:05.000000Z'),
    ];
    expect(writerSpans(seq).map((s) => [s.identity, s.writes])).toEqual([
      ['a_1', 2],
      ['b_2', 1],
    ]);
    const alternating = [...seq, write('a_1', '2026-01-01T00:00:06.000000Z')];
    expect(writerSpans(alternating).map((s) => s.identity)).toEqual(['a_1', 'b_2', 'a_1']);
  });

  it('explains managedFields times by audited writes, and flags a write while nobody led', () => {
    const writes = [write('a_1', '2026-01-01T00:00:01.400000Z')];
    const entry = {
      resource: 'statefulsets',
      namespace: 'ns',
      name: 'h',
      manager: 'hdh-operator',
      time: '2026-01-01T00:00:01.000Z',
    };
    expect(unexplainedManagedWrites([entry], writes)).toEqual([]);
    expect(unexplainedManagedWrites([{ ...entry, time: '2026-01-01T00:00:09.000Z' }], writes)).toEqual([
      expect.stringContaining('no write of the operator'),
    ]);
    const quiet = [
      { from: Date.parse('2026-01-01T00:00:00.000Z'), to: Date.parse('2026-01-01T00:00:05.000Z') },
    ];
    expect(unexplainedManagedWrites([entry], writes, quiet)).toEqual([
      expect.stringContaining('while no process held the lease'),
    ]);
  });
});

describe('chaos command line', () => {
  const known = ['operator-kills', 'watch-cut'];
  it('takes --only (repeated or comma-separated) and --scale', () => {
    expect(parseChaosArgs(['--only', 'watch-cut', '--only=operator-kills', '--scale=small'], known)).toEqual({
      only: ['watch-cut', 'operator-kills'],
      scale: 'small',
      out: undefined,
      list: false,
    });
    expect(parseChaosArgs([], known).scale).toBe('full');
  });
  it.each([[['--only', 'nope']], [['--scale', 'huge']], [['--bogus']], [['--out']]])('refuses %j', (argv) => {
    expect(() => parseChaosArgs(argv, known)).toThrow();
  });
});

describe('crash lines', () => {
  it('finds unhandled rejections and uncaught exceptions, not ordinary errors', () => {
    const out = [
      '{"level":"error","msg":"reconcile failed"}',
      'node:internal/process/promises:394 triggerUncaughtException(err, true /* fromPromise */);',
      '[UnhandledPromiseRejection: This error originated either by throwing inside of an async function]',
    ].join('\n');
    expect(crashLines(out)).toHaveLength(2);
  });
});
