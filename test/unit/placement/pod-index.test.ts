import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { countsAsEligible } from '../../../src/placement/audit.js';
import { PodNodeIndex, podAuditChanged } from '../../../src/placement/pod-index.js';
import { euHds, HDS, JURISDICTION, REGION } from './pods.js';

const pod = (ns: string, name: string, nodeName?: string, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
  metadata: { namespace: ns, name, uid: `${ns}-${name}`, ...extra },
  spec: { nodeName, containers: [] },
  status: { phase: nodeName ? 'Running' : 'Pending' },
});

describe('pod index', () => {
  it('follows pods as they are bound, terminate and go', () => {
    const index = new PodNodeIndex();
    index.observe(pod('a', 'p1'));
    expect(index.placedIn('a')).toEqual([]);
    index.observe(pod('a', 'p1', 'n1'));
    index.observe(pod('a', 'p2', 'n1'));
    index.observe(pod('b', 'p1', 'n1'));
    index.observe(pod('b', 'p2', 'n2'));
    expect(index.namespacesOn('n1').sort()).toEqual(['a', 'b']);
    expect(index.placedIn('a').sort()).toEqual(['a/p1', 'a/p2']);
    // Terminating pods still run on their node until they are gone.
    index.observe(pod('b', 'p1', 'n1', { deletionTimestamp: new Date() }));
    expect(index.namespacesOn('n1').sort()).toEqual(['a', 'b']);
    expect(index.placedIn('b').sort()).toEqual(['b/p1', 'b/p2']);
    // Finished pods run nothing.
    index.observe({ ...pod('b', 'p1', 'n1'), status: { phase: 'Succeeded' } });
    expect(index.namespacesOn('n1')).toEqual(['a']);
    index.observe(pod('a', 'p1', 'n1'), true);
    index.observe(pod('a', 'p2', 'n1'), true);
    expect(index.namespacesOn('n1')).toEqual([]);
    expect(index.placedIn('a')).toEqual([]);
    expect(index.placedIn('b')).toEqual(['b/p2']);
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
