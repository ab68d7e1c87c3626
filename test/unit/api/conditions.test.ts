import { Reason, type Condition } from '../../../src/api/index.js';
import {
  ConditionType,
  formatTime,
  getCondition,
  isFalse,
  isTrue,
  removeCondition,
  sameConditions,
  setCondition,
  summarizeReady,
  type ConditionUpdate,
} from '../../../src/api/conditions.js';

const t0 = new Date('2026-03-01T10:00:00.123Z');
const t1 = new Date('2026-03-01T11:30:00.000Z');

const update = (overrides: Partial<ConditionUpdate> = {}): ConditionUpdate => ({
  type: ConditionType.KeysReady,
  status: 'True',
  reason: Reason.KeyAvailable,
  message: 'key version 1 is active',
  observedGeneration: 1,
  ...overrides,
});

describe('setCondition', () => {
  it('adds a new condition with the transition time at second precision', () => {
    const conditions = setCondition(undefined, update(), t0);
    expect(conditions).toEqual([
      {
        type: 'KeysReady',
        status: 'True',
        reason: 'KeyAvailable',
        message: 'key version 1 is active',
        observedGeneration: 1,
        lastTransitionTime: '2026-03-01T10:00:00Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status does not change, but follows reason, message and generation', () => {
    const before = setCondition(undefined, update(), t0);
    const after = setCondition(
      before,
      update({ reason: 'KeyRotated', message: 'key version 2 is active', observedGeneration: 4 }),
      t1,
    );
    expect(after[0]).toMatchObject({
      status: 'True',
      reason: 'KeyRotated',
      message: 'key version 2 is active',
      observedGeneration: 4,
      lastTransitionTime: '2026-03-01T10:00:00Z',
    });
  });

  it('moves lastTransitionTime when the status flips', () => {
    const before = setCondition(undefined, update(), t0);
    const after = setCondition(before, update({ status: 'False', reason: Reason.KeyMissing }), t1);
    expect(after[0]?.lastTransitionTime).toBe('2026-03-01T11:30:00Z');
    expect(after[0]?.status).toBe('False');
  });

  it('does not modify its input and keeps the order of other conditions', () => {
    let conditions = setCondition(undefined, update({ type: 'A' }), t0);
    conditions = setCondition(conditions, update({ type: 'B' }), t0);
    conditions = setCondition(conditions, update({ type: 'C' }), t0);
    const frozen = Object.freeze(conditions.map((c) => Object.freeze({ ...c })));
    const next = setCondition(frozen, update({ type: 'B', status: 'Unknown' }), t1);
    expect(next.map((c) => c.type)).toEqual(['A', 'B', 'C']);
    expect(frozen[1]?.status).toBe('True');
    expect(next[1]?.status).toBe('Unknown');
  });

  it('uses the current time by default', () => {
    const before = Date.now() - 1000;
    const [condition] = setCondition([], update());
    expect(Date.parse(condition!.lastTransitionTime)).toBeGreaterThanOrEqual(before);
  });
});

describe('getCondition, isTrue, isFalse, removeCondition', () => {
  const conditions = setCondition(
    setCondition(undefined, update({ type: 'StorageReady', status: 'False', reason: 'ClaimsPending' }), t0),
    update(),
    t0,
  );

  it('finds conditions by type', () => {
    expect(getCondition(conditions, 'StorageReady')?.reason).toBe('ClaimsPending');
    expect(getCondition(conditions, 'Ready')).toBeUndefined();
    expect(getCondition(undefined, 'Ready')).toBeUndefined();
  });

  it('tells True and False apart from missing', () => {
    expect(isTrue(conditions, 'KeysReady')).toBe(true);
    expect(isTrue(conditions, 'StorageReady')).toBe(false);
    expect(isFalse(conditions, 'StorageReady')).toBe(true);
    expect(isTrue(conditions, 'Ready')).toBe(false);
    expect(isFalse(conditions, 'Ready')).toBe(false);
  });

  it('removes a condition', () => {
    expect(removeCondition(conditions, 'StorageReady').map((c) => c.type)).toEqual(['KeysReady']);
    expect(removeCondition(undefined, 'StorageReady')).toEqual([]);
  });
});

describe('sameConditions', () => {
  const a = setCondition(setCondition([], update({ type: 'A' }), t0), update({ type: 'B' }), t0);

  it('ignores order', () => {
    expect(sameConditions(a, [...a].reverse())).toBe(true);
    expect(sameConditions(undefined, [])).toBe(true);
  });

  it('sees any change of a field', () => {
    expect(sameConditions(a, setCondition(a, update({ type: 'A', message: 'other' }), t0))).toBe(false);
    expect(sameConditions(a, setCondition(a, update({ type: 'A', observedGeneration: 2 }), t0))).toBe(false);
    expect(sameConditions(a, removeCondition(a, 'A'))).toBe(false);
  });
});

describe('summarizeReady', () => {
  const all = (generation: number, overrides: Record<string, Partial<ConditionUpdate>> = {}): Condition[] =>
    [
      { type: ConditionType.PlacementCompliant, reason: Reason.Compliant },
      { type: ConditionType.StorageReady, reason: Reason.ClaimsBound },
      { type: ConditionType.KeysReady, reason: Reason.KeyAvailable },
      { type: ConditionType.DatastoreReady, reason: Reason.ReplicasReady },
    ].reduce<Condition[]>(
      (conditions, c) =>
        setCondition(
          conditions,
          update({
            ...c,
            status: 'True',
            message: `${c.type} ok`,
            observedGeneration: generation,
            ...overrides[c.type],
          }),
          t0,
        ),
      [],
    );

  it('is True only when all four are True for the current generation', () => {
    expect(summarizeReady(all(3), 3)).toEqual({
      type: 'Ready',
      status: 'True',
      reason: Reason.AllReady,
      message: expect.any(String),
      observedGeneration: 3,
    });
  });

  it('takes reason and message of the first False, in component order', () => {
    const conditions = all(2, {
      KeysReady: { status: 'False', reason: Reason.KeyMissing, message: 'the key-encryption key is gone' },
      StorageReady: {
        status: 'False',
        reason: Reason.StorageNotEncrypted,
        message: 'class plain is not encrypted',
      },
      DatastoreReady: { status: 'Unknown', reason: Reason.Reconciling },
    });
    // Keys come before storage: the datastore, and so its claims, waits for its keys.
    expect(summarizeReady(conditions, 2)).toMatchObject({
      status: 'False',
      reason: Reason.KeyMissing,
      message: 'the key-encryption key is gone',
      observedGeneration: 2,
    });
  });

  it('lets a False win over an earlier Unknown', () => {
    const conditions = all(1, {
      PlacementCompliant: { status: 'Unknown', reason: 'Auditing', message: 'first audit pending' },
      DatastoreReady: { status: 'False', reason: Reason.ReplicasNotReady, message: '0/1 ready' },
    });
    expect(summarizeReady(conditions, 1)).toMatchObject({ status: 'False', reason: Reason.ReplicasNotReady });
  });

  it('is Unknown with the first Unknown reason when nothing is False', () => {
    const conditions = all(1, {
      StorageReady: { status: 'Unknown', reason: Reason.ClaimsPending, message: 'waiting for a consumer' },
    });
    expect(summarizeReady(conditions, 1)).toMatchObject({
      status: 'Unknown',
      reason: Reason.ClaimsPending,
      message: 'waiting for a consumer',
    });
  });

  it('is Unknown while a component is missing', () => {
    const conditions = removeCondition(all(1), ConditionType.KeysReady);
    expect(summarizeReady(conditions, 1)).toMatchObject({
      status: 'Unknown',
      reason: Reason.Reconciling,
      message: expect.stringContaining('KeysReady'),
    });
    expect(summarizeReady(undefined, 1)).toMatchObject({ status: 'Unknown' });
  });

  it('treats conditions computed for an older generation as Unknown, even when False', () => {
    const stale = all(1, { KeysReady: { status: 'False', reason: Reason.KeyMissing } });
    const fresh = setCondition(
      stale,
      update({ type: ConditionType.PlacementCompliant, observedGeneration: 2 }),
      t1,
    );
    expect(summarizeReady(fresh, 2)).toMatchObject({
      status: 'Unknown',
      message: expect.stringContaining('generation 1'),
    });
    expect(summarizeReady(all(1), 2).status).toBe('Unknown');
  });

  it('ignores Ready, Reconciling and Stalled themselves', () => {
    let conditions = setCondition(all(1), update({ type: ConditionType.Ready, status: 'False' }), t0);
    conditions = setCondition(conditions, update({ type: ConditionType.Stalled, status: 'True' }), t0);
    expect(summarizeReady(conditions, 1).status).toBe('True');
  });
});

describe('formatTime', () => {
  it('drops fractional seconds', () => {
    expect(formatTime(t0)).toBe('2026-03-01T10:00:00Z');
  });
});
