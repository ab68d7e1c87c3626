// What a controller wrote stands in for its cache until the cache has seen that write.
import { WrittenStatus } from '../../../src/runtime/status.js';

const obj = (resourceVersion: string | undefined, uid: string | undefined = 'u1') => ({
  metadata: { uid, resourceVersion },
});

describe('WrittenStatus', () => {
  it('answers the written value while the cache shows an older version, then the cache', () => {
    const w = new WrittenStatus<string>();
    w.remember(obj('10'), '12', 'written');
    expect(w.current(obj('10'), 'cached')).toBe('written');
    expect(w.current(obj('11'), 'cached')).toBe('written');
    // The cache reached the write (or went past it): the cache is the truth, and the entry goes.
    expect(w.current(obj('12'), 'cached')).toBe('cached');
    expect(w.current(obj('10'), 'cached')).toBe('cached');
  });

  it('compares versions as numbers, not as text', () => {
    const w = new WrittenStatus<string>();
    w.remember(obj('9'), '10', 'written');
    expect(w.current(obj('9'), 'cached')).toBe('written');
    expect(w.current(obj('100'), 'cached')).toBe('cached');
  });

  it('keeps objects apart by UID: a recreated object of the same name is not the written one', () => {
    const w = new WrittenStatus<string>();
    w.remember(obj('5', 'old'), '6', 'written');
    expect(w.current(obj('5', 'new'), 'cached')).toBe('cached');
    expect(w.current(obj('5', 'old'), 'cached')).toBe('written');
  });

  it('drops what was written for an object that went before its cache showed the write', () => {
    let now = 0;
    const w = new WrittenStatus<string>(() => now, 60_000);
    w.remember(obj('5', 'deleted'), '6', 'written');
    now = 61_000;
    w.remember(obj('1', 'other'), '2', 'written');
    expect(w.size).toBe(1);
    expect(w.current(obj('5', 'deleted'), 'cached')).toBe('cached');
  });

  it('trusts the cache when a version cannot be compared', () => {
    const w = new WrittenStatus<string>();
    w.remember(obj('5'), undefined, 'written');
    w.remember(obj('5'), 'opaque-token', 'written');
    expect(w.current(obj('4'), 'cached')).toBe('cached');
    w.remember(obj('5'), '7', 'written');
    expect(w.current(obj('opaque'), 'cached')).toBe('cached');
    const noUid = new WrittenStatus<string>();
    noUid.remember({ metadata: { resourceVersion: '5' } }, '7', 'written');
    expect(noUid.current({ metadata: { resourceVersion: '4' } }, 'cached')).toBe('cached');
  });
});
