import type { V1Node } from '@kubernetes/client-node';
import { countsAsEligible } from '../../../src/placement/audit.js';
import {
  countEligibleNodes,
  nodeFacts,
  nodeVerdict,
  untrustedNodeReason,
  type NodeFacts,
} from '../../../src/placement/compliance.js';
import { schedulableNodes } from '../../../src/policy/nodes.js';

const REGION = 'topology.kubernetes.io/region';
const policy = {
  regions: ['fr-par', 'de-fra'],
  nodeSelectorRequirements: [
    { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In' as const, values: ['EU'] },
  ],
};
const eu = { [REGION]: 'fr-par', 'sovereign.node-restriction.kubernetes.io/jurisdiction': 'EU' };
const node = (labels: Record<string, string>, providerID?: string): NodeFacts => ({ labels, providerID });
const liveNode = (name: string, labels: Record<string, string>, providerID?: string): V1Node => ({
  metadata: { name, labels },
  spec: providerID ? { providerID } : {},
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});

describe('the node verdict', () => {
  it('accepts an eligible node whose providerID agrees or says nothing', () => {
    expect(nodeVerdict(node(eu), policy)).toBeUndefined();
    expect(nodeVerdict(node(eu, 'scaleway://instance/fr-par-2/x'), policy)).toBeUndefined();
    expect(nodeVerdict(node(eu, 'kwok://n'), policy)).toBeUndefined();
  });

  it('refuses a node whose providerID contradicts its region label, before reading its labels', () => {
    const mislabelled = node(eu, 'aws:///us-east-1a/i-1');
    expect(untrustedNodeReason(mislabelled)).toBe(
      'region label fr-par contradicts spec.providerID aws:///us-east-1a/i-1 (region us-east-1)',
    );
    expect(nodeVerdict(mislabelled, policy)).toBe(untrustedNodeReason(mislabelled));
  });

  it('refuses by labels, narrowed by the hub regions', () => {
    expect(nodeVerdict(node({ ...eu, [REGION]: 'us-east-1' }), policy)).toMatch(
      /region us-east-1 is not one of/,
    );
    expect(nodeVerdict(node(eu), policy, ['de-fra'])).toMatch(/region fr-par is not one of \[de-fra\]/);
  });

  it('gives one count to the policy, the hub and the Node-event wake-up', () => {
    const live = [
      liveNode('a', eu),
      liveNode('b', eu, 'aws:///us-east-1a/i-1'),
      liveNode('c', { ...eu, [REGION]: 'de-fra' }, 'gce://p/europe-west9-a/i'),
      { ...liveNode('d', eu), spec: { unschedulable: true } },
    ];
    const nodes = schedulableNodes(live);
    expect(nodes).toHaveLength(3);
    expect(countEligibleNodes(nodes, policy)).toBe(1);
    expect(live.filter((n) => countsAsEligible(n, policy)).map((n) => n.metadata!.name)).toEqual(['a']);
    expect(nodeFacts(live[1]!)).toEqual({ labels: eu, providerID: 'aws:///us-east-1a/i-1' });
  });
});
