import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { countsAsEligible } from '../../../src/placement/audit.js';
import {
  PODS_ON_NODE,
  PODS_PLACED_IN,
  podAuditChanged,
  podIndexers,
} from '../../../src/placement/pod-index.js';
import { IndexedStore } from '../../../src/runtime/cache.js';
import { euHds, HDS, JURISDICTION, REGION } from './pods.js';

const pod = (ns: string, name: string, nodeName?: string, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
  metadata: { namespace: ns, name, uid: `${ns}-${name}`, ...extra },
  spec: { nodeName, containers: [] },
  status: { phase: nodeName ? 'Running' : 'Pending' },
});

describe('pod index', () => {
  it('follows pods as they are bound, terminate and go', () => {
    const store = new IndexedStore<V1Pod>(podIndexers);
    const placedIn = (ns: string) =>
      store
        .byIndex(PODS_PLACED_IN, ns)
        .map((p) => `${ns}/${p.metadata!.name}`)
        .sort();
    const namespacesOn = (node: string) =>
      [...new Set(store.byIndex(PODS_ON_NODE, node).map((p) => p.metadata!.namespace!))].sort();
    store.put(pod('a', 'p1'));
    expect(placedIn('a')).toEqual([]);
    store.put(pod('a', 'p1', 'n1'));
    store.put(pod('a', 'p2', 'n1'));
    store.put(pod('b', 'p1', 'n1'));
    store.put(pod('b', 'p2', 'n2'));
    expect(namespacesOn('n1')).toEqual(['a', 'b']);
    expect(placedIn('a')).toEqual(['a/p1', 'a/p2']);
    // Terminating pods still run on their node until they are gone.
    store.put(pod('b', 'p1', 'n1', { deletionTimestamp: new Date() }));
    expect(namespacesOn('n1')).toEqual(['a', 'b']);
    expect(placedIn('b')).toEqual(['b/p1', 'b/p2']);
    // Finished pods run nothing.
    store.put({ ...pod('b', 'p1', 'n1'), status: { phase: 'Succeeded' } });
    expect(namespacesOn('n1')).toEqual(['a']);
    store.remove('a/p1');
    store.remove('a/p2');
    expect(namespacesOn('n1')).toEqual([]);
    expect(placedIn('a')).toEqual([]);
    expect(placedIn('b')).toEqual(['b/p2']);
  });

  it('wakes audits only for changes an audit can see', () => {
    const p = pod('a', 'p', 'n1');
    expect(podAuditChanged(undefined, p)).toBe(true);
    expect(podAuditChanged(p, { ...p, status: { phase: 'Running', podIP: '10.0.0.1' } })).toBe(false);
    expect(podAuditChanged(pod('a', 'p'), p)).toBe(true);
    expect(podAuditChanged(p, { ...p, status: { phase: 'Failed' } })).toBe(true);
    const leaving = pod('a', 'p', 'n1', {
      deletionTimestamp: new Date(),
      deletionGracePeriodSeconds: 86_400,
    });
    expect(podAuditChanged(p, leaving)).toBe(true);
    // A shortened grace period: the remediation may have more to do, or nothing any more.
    expect(
      podAuditChanged(leaving, {
        ...leaving,
        metadata: { ...leaving.metadata, deletionGracePeriodSeconds: 30 },
      }),
    ).toBe(true);
    expect(podAuditChanged(p, pod('a', 'p', 'n1', { labels: { 'hdh.sovereign.eu/hub': 'h' } }))).toBe(true);
  });
});

describe('countsAsEligible', () => {
  const node = (
    labels: Record<string, string>,
    over: Partial<V1Node['spec']> = {},
    ready = 'True',
  ): V1Node => ({
    metadata: { name: 'n', labels },
    spec: over,
    status: { conditions: [{ type: 'Ready', status: ready }] },
  });
  const eu = { [REGION]: 'fr-par', [JURISDICTION]: 'EU', [HDS]: 'true' };
  const spec = euHds().spec;

  it('counts Ready, schedulable, eligible nodes whose providerID agrees', () => {
    expect(countsAsEligible(node(eu), spec)).toBe(true);
    expect(countsAsEligible(node(eu), spec, ['de-fra'])).toBe(false);
    expect(countsAsEligible(node(eu, { unschedulable: true }), spec)).toBe(false);
    expect(countsAsEligible(node(eu, {}, 'False'), spec)).toBe(false);
    expect(countsAsEligible(node(eu, { providerID: 'scaleway://instance/fr-par-2/x' }), spec)).toBe(true);
    expect(countsAsEligible(node(eu, { providerID: 'aws:///us-east-1a/i-1' }), spec)).toBe(false);
    expect(countsAsEligible(undefined, spec)).toBe(false);
  });
});
