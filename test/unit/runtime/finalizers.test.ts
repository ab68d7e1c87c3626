import { addFinalizerPatch, removeFinalizerPatch } from '../../../src/runtime/finalizers.js';

const F = 'hdh.sovereign.eu/finalizer';

describe('finalizer patches', () => {
  it('guards a first finalizer on the resourceVersion', () => {
    expect(addFinalizerPatch({ metadata: { resourceVersion: '42' } }, F)).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'add', path: '/metadata/finalizers', value: [F] },
    ]);
  });

  it('appends after testing the list that was read', () => {
    expect(addFinalizerPatch({ metadata: { finalizers: ['other'] } }, F)).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: ['other'] },
      { op: 'add', path: '/metadata/finalizers/-', value: F },
    ]);
  });

  it('is a no-op when present or absent as appropriate', () => {
    expect(addFinalizerPatch({ metadata: { finalizers: [F] } }, F)).toBeUndefined();
    expect(removeFinalizerPatch({ metadata: { finalizers: ['other'] } }, F)).toBeUndefined();
  });

  it('removes at the index it was read at, guarded by a test of that index', () => {
    expect(removeFinalizerPatch({ metadata: { finalizers: ['a', F, 'b'] } }, F)).toEqual([
      { op: 'test', path: '/metadata/finalizers/1', value: F },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]);
  });
});
