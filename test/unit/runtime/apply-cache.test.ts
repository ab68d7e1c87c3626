// Whether an owned object drifted: a new generation for kinds that have one, a new
// resourceVersion for kinds that do not (RBAC objects, service accounts), or deletion.
import { AppliedCache } from '../../../src/runtime/apply-cache.js';

const desired = { kind: 'Role', metadata: { name: 'r' }, rules: [] };

describe('AppliedCache', () => {
  it('applies only what changed since the last apply', () => {
    const cache = new AppliedCache();
    expect(cache.needsApply('k', desired)).toBe(true);
    cache.remember('k', desired, { resourceVersion: '7' });
    expect(cache.needsApply('k', desired)).toBe(false);
    expect(cache.needsApply('k', { ...desired, rules: [{ verbs: ['get'] }] })).toBe(true);
  });

  it('with a generation: only a new generation or deletion is drift, not a status update', () => {
    const cache = new AppliedCache();
    cache.remember('k', desired, { generation: 2, resourceVersion: '10' });
    expect(cache.observe('k', { generation: 2, resourceVersion: '11' })).toBe(false);
    expect(cache.needsApply('k', desired)).toBe(false);
    expect(cache.observe('k', { generation: 3, resourceVersion: '12' })).toBe(true);
    expect(cache.needsApply('k', desired)).toBe(true);
    cache.remember('k', desired, { generation: 3 });
    expect(cache.observe('k', undefined)).toBe(true);
  });

  it('without a generation: our own version is not drift, any other version is', () => {
    const cache = new AppliedCache();
    cache.remember('k', desired, { resourceVersion: '7' });
    expect(cache.observe('k', { resourceVersion: '7' })).toBe(false);
    expect(cache.observe('k', { resourceVersion: '8' })).toBe(true);
    expect(cache.needsApply('k', desired)).toBe(true);
    // Nothing remembered: nothing to drift from.
    expect(cache.observe('k', { resourceVersion: '9' })).toBe(false);
  });
});
