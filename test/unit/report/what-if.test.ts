import type {
  V1Namespace,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy, SovereigntyPolicySpec } from '../../../src/api/index.js';
import { policyNamespaceLabelKey } from '../../../src/placement/admission.js';
import { formatWhatIf } from '../../../src/report/what-if-format.js';
import { whatIf, type ClusterSnapshot } from '../../../src/report/what-if.js';

const JURISDICTION = 'sovereign.node-restriction.kubernetes.io/jurisdiction';
const HDS = 'sovereign.node-restriction.kubernetes.io/hds';

function node(name: string, region: string, zone: string, extra: Record<string, string> = {}): V1Node {
  return {
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'topology.kubernetes.io/region': region,
        'topology.kubernetes.io/zone': zone,
        ...extra,
      },
    },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const EU = { [JURISDICTION]: 'EU', [HDS]: 'true' };
const NODES: V1Node[] = [
  node('eu-fr-par-1', 'fr-par', 'fr-par-1', EU),
  node('eu-fr-par-2', 'fr-par', 'fr-par-2', EU),
  node('eu-de-fra-1', 'de-fra', 'de-fra-1', EU),
  node('eu-fr-par-uncertified', 'fr-par', 'fr-par-1', { [JURISDICTION]: 'EU' }),
  node('us-east-1a', 'us-east-1', 'us-east-1a', { [JURISDICTION]: 'US' }),
];

const REQUIREMENTS: SovereigntyPolicySpec['nodeSelectorRequirements'] = [
  { key: JURISDICTION, operator: 'In', values: ['EU'] },
  { key: HDS, operator: 'In', values: ['true'] },
];

function policy(spec: Partial<SovereigntyPolicySpec> = {}, name = 'eu-hds'): SovereigntyPolicy {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name },
    spec: { regions: ['fr-par', 'eu-west-3', 'de-fra'], nodeSelectorRequirements: REQUIREMENTS, ...spec },
  } as SovereigntyPolicy;
}

function hub(name: string, namespace: string, policyName = 'eu-hds', regions?: string[]): HealthDataHub {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'HealthDataHub',
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: {
      policyName,
      storage: { size: '1Gi', storageClassName: 'encrypted' },
      ...(regions ? { placement: { regions } } : {}),
    },
  } as HealthDataHub;
}

function pod(name: string, namespace: string, nodeName?: string, phase = 'Running'): V1Pod {
  return {
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { containers: [], ...(nodeName ? { nodeName } : {}) },
    status: { phase },
  };
}

function ns(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { metadata: { name, labels } };
}

/** A claim bound to a `local` volume pinned to a node. */
function bound(
  claim: string,
  namespace: string,
  nodeName: string,
): [V1PersistentVolumeClaim, V1PersistentVolume] {
  const volume = `pv-${claim}`;
  return [
    {
      metadata: { name: claim, namespace },
      spec: { volumeName: volume, storageClassName: 'encrypted' },
      status: { phase: 'Bound', capacity: { storage: '1Gi' } },
    },
    {
      metadata: { name: volume },
      spec: {
        storageClassName: 'encrypted',
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] },
            ],
          },
        },
      },
    },
  ];
}

function snapshot(parts: Partial<ClusterSnapshot> & { bound?: ReturnType<typeof bound>[] }): ClusterSnapshot {
  const pairs = parts.bound ?? [];
  return {
    nodes: parts.nodes ?? NODES,
    pods: parts.pods ?? [],
    claims: [...(parts.claims ?? []), ...pairs.map(([c]) => c)],
    volumes: [...(parts.volumes ?? []), ...pairs.map(([, v]) => v)],
    storageClasses: parts.storageClasses ?? [],
    namespaces: parts.namespaces ?? [],
    hubs: parts.hubs ?? [],
    policies: parts.policies ?? [policy()],
  };
}

const withoutDeFra = policy({ regions: ['fr-par', 'eu-west-3'] });

describe('whatIf', () => {
  const cluster = snapshot({
    namespaces: [ns('team-a'), ns('team-b')],
    hubs: [hub('records', 'team-a')],
    pods: [
      pod('web-1', 'team-a', 'eu-fr-par-1'),
      pod('web-2', 'team-a', 'eu-de-fra-1'),
      pod('web-3', 'team-a', 'eu-de-fra-1'),
      pod('other', 'team-b', 'eu-de-fra-1'),
    ],
    bound: [
      bound('data-records-0', 'team-a', 'eu-de-fra-1'),
      bound('data-records-1', 'team-a', 'eu-fr-par-2'),
      bound('scratch', 'team-a', 'eu-de-fra-1'),
      bound('elsewhere', 'team-b', 'eu-de-fra-1'),
    ],
  });

  it('a policy dropping a region lists exactly the pods and volumes there, in the namespaces held to it', () => {
    const r = whatIf(cluster, withoutDeFra);
    expect(r.change).toBe('changed');
    expect(r.namespaces).toEqual([{ namespace: 'team-a', hubs: ['records'], labelled: false }]);
    expect(r.pods.map((p) => [p.pod, p.node, p.action, p.alreadyViolating])).toEqual([
      ['web-2', 'eu-de-fra-1', 'evict', false],
      ['web-3', 'eu-de-fra-1', 'evict', false],
    ]);
    expect(r.pods[0]!.reason).toContain('region de-fra');
    expect(r.volumes.map((v) => [v.claim, v.volume, v.hub, v.regions])).toEqual([
      ['data-records-0', 'pv-data-records-0', 'records', ['de-fra']],
      ['scratch', 'pv-scratch', undefined, ['de-fra']],
    ]);
    expect(r.volumes[1]!.reason).toBe('it lies in de-fra (zone de-fra-1), outside [fr-par, eu-west-3]');
    expect(r.hubsWithoutNodes).toEqual([]);
    expect(r.nodes.stopQualifying).toEqual([
      { node: 'eu-de-fra-1', region: 'de-fra', reason: expect.stringContaining('de-fra') },
    ]);
    expect(r.nodes.startQualifying).toEqual([]);
  });

  it('the same policy changes nothing', () => {
    const r = whatIf(cluster, policy());
    expect(r.change).toBe('unchanged');
    expect([r.pods, r.volumes, r.hubsWithoutNodes, r.nodes.stopQualifying]).toEqual([[], [], [], []]);
  });

  it('scopes pods, volumes and hubs to the namespaces asked for', () => {
    const r = whatIf(cluster, withoutDeFra, { namespaces: ['team-b'] });
    expect(r.namespaces).toEqual([]);
    expect(r.pods).toEqual([]);
    expect(r.volumes).toEqual([]);
    expect(r.nodes.stopQualifying.map((n) => n.node)).toEqual(['eu-de-fra-1']);
  });

  it.each([
    ['Audit', 'Enforce', 'evict'],
    ['Enforce', 'Audit', 'report'],
    ['Audit', 'Audit', 'report'],
  ] as const)('%s -> %s: the pods already outside would be %sed', (from, to, action) => {
    const current = policy({ enforcement: from });
    const s = snapshot({
      namespaces: [ns('team-a')],
      hubs: [hub('records', 'team-a')],
      pods: [pod('web-1', 'team-a', 'eu-fr-par-1'), pod('stray', 'team-a', 'us-east-1a')],
      policies: [current],
    });
    const r = whatIf(s, policy({ enforcement: to }));
    expect(r.enforcement).toEqual({ current: from, candidate: to });
    expect(r.pods.map((p) => [p.pod, p.action, p.alreadyViolating])).toEqual([['stray', action, true]]);
    expect(formatWhatIf(r)).toContain(from === to ? `enforcement ${to}` : `enforcement ${from} -> ${to}`);
  });

  it('a hub whose regions lose all their nodes is listed; with no node left anywhere, nothing would be evicted', () => {
    const s = snapshot({
      namespaces: [ns('team-a')],
      hubs: [hub('frankfurt', 'team-a', 'eu-hds', ['de-fra']), hub('paris', 'team-a', 'eu-hds', ['fr-par'])],
      pods: [pod('app', 'team-a', 'eu-de-fra-1')],
    });
    const r = whatIf(s, withoutDeFra);
    expect(r.hubsWithoutNodes).toEqual([
      {
        namespace: 'team-a',
        hub: 'frankfurt',
        regions: ['de-fra'],
        eligibleNodes: 0,
        regionsNotAllowed: ['de-fra'],
      },
    ]);
    // Outside the policy, and fr-par nodes can take it back: evicted.
    expect(r.pods.map((p) => [p.pod, p.action])).toEqual([['app', 'evict']]);

    const none = whatIf(s, policy({ regions: ['eu-west-3'] }));
    expect(none.hubsWithoutNodes.map((h) => [h.hub, h.eligibleNodes])).toEqual([
      ['frankfurt', 0],
      ['paris', 0],
    ]);
    // No node satisfies the policy: nothing would be removed towards nowhere.
    expect(none.pods.map((p) => [p.pod, p.action])).toEqual([['app', 'report']]);
  });

  it('lists nodes that stop qualifying and nodes that start to', () => {
    const r = whatIf(
      snapshot({}),
      policy({
        regions: ['fr-par'],
        nodeSelectorRequirements: [{ key: JURISDICTION, operator: 'In', values: ['EU'] }],
      }),
    );
    expect(r.nodes.stopQualifying.map((n) => n.node)).toEqual(['eu-de-fra-1']);
    expect(r.nodes.startQualifying).toEqual([
      { node: 'eu-fr-par-uncertified', region: 'fr-par', reason: expect.stringContaining(HDS) },
    ]);
  });

  it('a new policy: every node it accepts starts qualifying, and no pod is already outside it', () => {
    const s = snapshot({
      namespaces: [ns('team-a')],
      hubs: [hub('records', 'team-a', 'fr-only')],
      pods: [pod('web', 'team-a', 'eu-de-fra-1')],
    });
    const r = whatIf(s, policy({ regions: ['fr-par'] }, 'fr-only'));
    expect(r.change).toBe('new');
    expect(r.enforcement).toEqual({ candidate: 'Enforce' });
    expect(r.nodes.startQualifying.map((n) => n.node)).toEqual(['eu-fr-par-1', 'eu-fr-par-2']);
    expect(r.pods.map((p) => [p.pod, p.alreadyViolating])).toEqual([['web', false]]);
  });

  it('holds namespaces carrying the policy label with no hub of it', () => {
    const s = snapshot({
      namespaces: [ns('retained', { [policyNamespaceLabelKey('eu-hds')]: 'true' }), ns('free')],
      pods: [pod('old', 'retained', 'eu-de-fra-1'), pod('free', 'free', 'eu-de-fra-1')],
      bound: [bound('data-gone-0', 'retained', 'eu-de-fra-1')],
    });
    const r = whatIf(s, withoutDeFra);
    expect(r.namespaces).toEqual([{ namespace: 'retained', hubs: [], labelled: true }]);
    expect(r.pods.map((p) => [p.namespace, p.pod])).toEqual([['retained', 'old']]);
    expect(r.volumes.map((v) => [v.namespace, v.claim])).toEqual([['retained', 'data-gone-0']]);
  });

  it('ignores pods not placed or finished, unbound claims, and hubs of other policies', () => {
    const s = snapshot({
      namespaces: [ns('team-a')],
      hubs: [hub('records', 'team-a'), hub('other', 'team-a', 'another')],
      pods: [
        pod('pending', 'team-a', undefined, 'Pending'),
        pod('done', 'team-a', 'eu-de-fra-1', 'Succeeded'),
        pod('failed', 'team-a', 'eu-de-fra-1', 'Failed'),
        pod('running', 'team-a', 'eu-de-fra-1'),
      ],
      claims: [
        { metadata: { name: 'waiting', namespace: 'team-a' }, spec: {}, status: { phase: 'Pending' } },
      ],
    });
    const r = whatIf(s, withoutDeFra);
    expect(r.namespaces).toEqual([{ namespace: 'team-a', hubs: ['records'], labelled: false }]);
    expect(r.pods.map((p) => p.pod)).toEqual(['running']);
    expect(r.volumes).toEqual([]);
  });

  it('a volume on a node whose labels its providerID contradicts is outside', () => {
    const liar = node('eu-liar', 'fr-par', 'fr-par-1', EU);
    liar.spec = { providerID: 'aws:///us-east-1a/i-0abc' };
    const s = snapshot({
      nodes: [...NODES, liar],
      namespaces: [ns('team-a')],
      hubs: [hub('records', 'team-a')],
      bound: [bound('scratch', 'team-a', 'eu-liar')],
    });
    const r = whatIf(s, policy());
    expect(r.volumes.map((v) => [v.claim, v.reason])).toEqual([
      ['scratch', expect.stringContaining('whose labels are not evidence')],
    ]);
  });
});

describe('formatWhatIf', () => {
  it('prints a short table per section', () => {
    const s = snapshot({
      namespaces: [ns('team-a')],
      hubs: [hub('records', 'team-a')],
      pods: [pod('web-2', 'team-a', 'eu-de-fra-1')],
      bound: [bound('data-records-0', 'team-a', 'eu-de-fra-1')],
    });
    const text = formatWhatIf(whatIf(s, withoutDeFra));
    expect(text).toContain(
      'What-if for SovereigntyPolicy eu-hds (changed, enforcement Enforce); nothing was changed.',
    );
    expect(text).toContain('Namespaces held to it: team-a: hubs records');
    expect(text).toMatch(
      /Pods that would violate it \(1\)\nNAMESPACE +POD +NODE +ACTION +ALREADY +REASON\nteam-a +web-2 +eu-de-fra-1 +evict +no +/,
    );
    expect(text).toMatch(
      /Bound volumes outside its regions \(1\)\n.*\nteam-a +data-records-0 +pv-data-records-0 +de-fra +de-fra-1 +it lies in de-fra/,
    );
    expect(text).toContain('Hubs that would have no eligible node (0)\n  none');
    expect(text).toMatch(
      /Nodes that would stop qualifying \(1\)\nNODE +REGION +REASON\neu-de-fra-1 +de-fra +/,
    );
  });
});
