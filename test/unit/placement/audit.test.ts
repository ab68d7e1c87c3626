import type { V1Pod } from '@kubernetes/client-node';
import {
  auditPods,
  describeViolations,
  evictionCandidates,
  isPodPlaced,
  podAuditView,
  sameViolations,
  statusViolations,
  validHubRegions,
  type HeldPolicy,
  type NodeFacts,
} from '../../../src/placement/audit.js';
import { nodeVerdict } from '../../../src/placement/compliance.js';
import { LABEL_HUB } from '../../../src/api/index.js';
import { providerLocation, regionLabelMismatch } from '../../../src/placement/provider-id.js';
import { generator } from '../../support/fuzz.js';
import { euHds, HDS, JURISDICTION, REGION } from './pods.js';

const eu = (region: string, extra: Record<string, string> = {}): NodeFacts => ({
  labels: { [REGION]: region, [JURISDICTION]: 'EU', [HDS]: 'true', ...extra },
});
const nodes = new Map<string, NodeFacts>([
  ['par-1', eu('fr-par')],
  ['fra-1', eu('de-fra')],
  ['us-1', { labels: { [REGION]: 'us-east-1', [JURISDICTION]: 'US' } }],
  ['uncertified', { labels: { [REGION]: 'fr-par', [JURISDICTION]: 'EU' } }],
  // Labelled Paris, but the cloud says Virginia.
  ['lying', { ...eu('fr-par'), providerID: 'aws:///us-east-1a/i-0abc' }],
  ['honest', { ...eu('fr-par'), providerID: 'scaleway://instance/fr-par-2/8c6f4d0e' }],
]);

/** Nodes to go to, inside the policy and inside the hub's regions. */
const room = { policy: 3, hubRegions: 3 };

const held = (over: Partial<HeldPolicy> = {}): HeldPolicy => ({
  hub: 'oncology',
  policyName: 'eu-hds',
  spec: euHds().spec,
  ...over,
});

let n = 0;
const pod = (name: string, nodeName: string | undefined, over: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { name, namespace: 'research', uid: `uid-${name}-${n++}`, ...over.metadata },
  spec: { nodeName, containers: [{ name: 'c' }] },
  status: { phase: 'Running', ...over.status },
});

describe('placement audit', () => {
  it('reports pods bound to ineligible nodes, with pod, node and reason, sorted by pod', () => {
    const v = auditPods(
      [held()],
      [
        pod('z-ok', 'par-1'),
        pod('b-us', 'us-1'),
        pod('a-uncertified', 'uncertified'),
        pod('c-pending', undefined),
      ],
      nodes,
    );
    expect(statusViolations(v)).toEqual([
      {
        pod: 'a-uncertified',
        node: 'uncertified',
        reason: `label ${HDS} is missing does not satisfy In [true]`,
      },
      { pod: 'b-us', node: 'us-1', reason: 'region us-east-1 is not one of [fr-par, eu-west-3, de-fra]' },
    ]);
    expect(v[0]).toMatchObject({ nodeMissing: false, mirror: false, violatedBy: ['oncology'] });
  });

  it('reports a pod whose node is gone, but leaves it to the pod garbage collector', () => {
    const v = auditPods([held()], [pod('orphan', 'vanished')], nodes);
    expect(v).toMatchObject([{ pod: 'orphan', node: 'vanished', nodeMissing: true }]);
    expect(v[0]!.reason).toBe('node vanished no longer exists');
    expect(evictionCandidates(v, held(), room)).toEqual([]);
  });

  it('ignores pods that are finished or not scheduled, and reports terminating ones until they are gone', () => {
    // A terminating pod still runs until its grace period ends, which its owner may set to days.
    const leaving = pod('terminating', 'us-1', {
      metadata: { name: 'terminating', deletionTimestamp: new Date(), deletionGracePeriodSeconds: 86_400 },
    });
    const done = pod('done', 'us-1', { status: { phase: 'Succeeded' } });
    const failed = pod('failed', 'us-1', { status: { phase: 'Failed' } });
    const pending = pod('pending', undefined, { status: { phase: 'Pending' } });
    const bound = pod('bound', 'us-1', { status: { phase: 'Pending' } });
    expect([leaving, done, failed, pending, bound].map(isPodPlaced)).toEqual([
      true,
      false,
      false,
      false,
      true,
    ]);
    const v = auditPods([held()], [leaving, done, failed, pending, bound], nodes);
    expect(v.map((x) => x.pod)).toEqual(['bound', 'terminating']);
    // Still a candidate: the remediation shortens a grace period longer than the policy allows.
    expect(evictionCandidates(v, held(), room).map((x) => x.pod)).toEqual(['bound', 'terminating']);
  });

  it('treats a node whose region label contradicts its providerID as outside every policy', () => {
    const v = auditPods([held()], [pod('p', 'lying'), pod('q', 'honest')], nodes);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ pod: 'p', node: 'lying' });
    expect(v[0]!.reason).toBe(
      'region label fr-par contradicts spec.providerID aws:///us-east-1a/i-0abc (region us-east-1)',
    );
  });

  it("holds the hub's own pods to its narrowed regions, other pods to the policy", () => {
    const narrowed = held({ hubRegions: ['fr-par'] });
    const own = pod('datastore-0', 'fra-1', {
      metadata: { name: 'datastore-0', labels: { 'hdh.sovereign.eu/hub': 'oncology' } },
    });
    const other = pod('user-app', 'fra-1');
    const sibling = pod('sibling-0', 'fra-1', {
      metadata: { name: 'sibling-0', labels: { 'hdh.sovereign.eu/hub': 'genomics' } },
    });
    const v = auditPods([narrowed], [own, other, sibling], nodes);
    expect(v.map((x) => [x.pod, x.reason])).toEqual([
      ['datastore-0', 'region de-fra is not one of [fr-par]'],
    ]);
  });

  it('evicts a pod outside the policy whenever the policy has a node for it, whatever the hub regions say', () => {
    // The tenant points the hub at a region without nodes: the policy still has three.
    const narrowed = held({ hubRegions: ['eu-west-3'] });
    const own = pod('datastore-0', 'fra-1', {
      metadata: { name: 'datastore-0', labels: { 'hdh.sovereign.eu/hub': 'oncology' } },
    });
    const ownOutside = pod('datastore-1', 'us-1', {
      metadata: { name: 'datastore-1', labels: { 'hdh.sovereign.eu/hub': 'oncology' } },
    });
    const v = auditPods([narrowed], [pod('exfil', 'us-1'), own, ownOutside], nodes);
    expect(v.map((x) => [x.pod, x.onlyHubRegions])).toEqual([
      ['datastore-0', ['oncology']],
      ['datastore-1', undefined],
      ['exfil', undefined],
    ]);
    const noneInHubRegions = { policy: 3, hubRegions: 0 };
    // Outside the policy: removed. Inside it, outside only the hub's regions, which have no node:
    // nothing could take the hub's pod back, it stays (reported).
    expect(evictionCandidates(v, narrowed, noneInHubRegions).map((x) => x.pod)).toEqual([
      'datastore-1',
      'exfil',
    ]);
    expect(evictionCandidates(v, narrowed, room).map((x) => x.pod)).toEqual([
      'datastore-0',
      'datastore-1',
      'exfil',
    ]);
    // No node inside the policy at all: nothing is removed (NoEligibleNodes).
    expect(evictionCandidates(v, narrowed, { policy: 0, hubRegions: 0 })).toEqual([]);
  });

  it('ignores hub regions the policy does not allow (RegionNotAllowed): they narrow nothing', () => {
    const regions = euHds().spec.regions;
    expect(validHubRegions(regions, ['fr-par'])).toEqual(['fr-par']);
    expect(validHubRegions(regions, ['zz-nowhere'])).toBeUndefined();
    expect(validHubRegions(regions, ['fr-par', 'zz-nowhere'])).toBeUndefined();
    expect(validHubRegions(regions, [])).toBeUndefined();
    expect(validHubRegions(regions, undefined)).toBeUndefined();
  });

  it('applies the strictest policy when several hubs share a namespace', () => {
    const strict: HeldPolicy = {
      hub: 'genomics',
      policyName: 'fr-only',
      spec: { regions: ['fr-par'], nodeSelectorRequirements: [] },
    };
    const v = auditPods([held(), strict], [pod('a', 'fra-1'), pod('b', 'par-1'), pod('c', 'us-1')], nodes);
    expect(v.map((x) => [x.pod, x.violatedBy])).toEqual([
      ['a', ['genomics']],
      ['c', ['oncology', 'genomics']],
    ]);
    // The reason names the policy, since the namespace answers to two.
    expect(v[0]!.reason).toBe('region de-fra is not one of [fr-par] (SovereigntyPolicy fr-only)');
    // Each hub evicts for its own policy only.
    expect(evictionCandidates(v, held(), room).map((x) => x.pod)).toEqual(['c']);
    expect(evictionCandidates(v, strict, room).map((x) => x.pod)).toEqual(['a', 'c']);
  });

  it('reports nothing without a known policy (fail closed: no verdict, nothing evicted)', () => {
    expect(auditPods([], [pod('c', 'us-1')], nodes)).toEqual([]);
  });

  it('evicts only under Enforce + Evict, never mirror pods', () => {
    const mirror = pod('kube-thing', 'us-1', {
      metadata: { name: 'kube-thing', annotations: { 'kubernetes.io/config.mirror': 'abc' } },
    });
    const v = auditPods([held()], [pod('c', 'us-1'), mirror], nodes);
    expect(v.map((x) => x.pod)).toEqual(['c', 'kube-thing']);
    expect(evictionCandidates(v, held(), room).map((x) => x.pod)).toEqual(['c']);
    expect(evictionCandidates(v, held({ spec: { ...euHds().spec, onViolation: 'Report' } }), room)).toEqual(
      [],
    );
    expect(evictionCandidates(v, held({ spec: { ...euHds().spec, enforcement: 'Audit' } }), room)).toEqual(
      [],
    );
    // Defaults (as a policy stored before the defaults existed would read): Enforce, Evict.
    const { enforcement: _e, onViolation: _o, ...bare } = euHds().spec;
    expect(evictionCandidates(v, held({ spec: bare }), room).map((x) => x.pod)).toEqual(['c']);
  });

  it('reaches the same verdicts on the reduced pods the cache keeps as on whole pods', () => {
    const labelled = { 'hdh.sovereign.eu/hub': 'oncology', app: 'db' };
    const whole: V1Pod[] = [
      pod('ok', 'par-1'),
      pod('us', 'us-1', { metadata: { name: 'us', labels: labelled } }),
      pod('own-fra', 'fra-1', { metadata: { name: 'own-fra', labels: labelled } }),
      pod('mirror', 'us-1', {
        metadata: { name: 'mirror', annotations: { 'kubernetes.io/config.mirror': 'x', other: 'y' } },
      }),
      pod('leaving', 'us-1', {
        metadata: { name: 'leaving', deletionTimestamp: new Date(), deletionGracePeriodSeconds: 600 },
      }),
      pod('done', 'us-1', { status: { phase: 'Succeeded' } }),
      pod('pending', undefined, { status: { phase: 'Pending' } }),
      pod('orphan', 'vanished'),
    ];
    const views = whole.map(podAuditView);
    for (const policies of [[held()], [held({ hubRegions: ['fr-par'] })]]) {
      expect(auditPods(policies, views, nodes)).toEqual(auditPods(policies, whole, nodes));
      expect(auditPods(policies, views, nodes).length).toBeGreaterThan(1);
    }
    expect(views.map(isPodPlaced)).toEqual(whole.map(isPodPlaced));
  });

  it('keeps only what the audit reads in the cached view of a pod', () => {
    const full: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'db-0',
        namespace: 'research',
        uid: 'u1',
        resourceVersion: '42',
        labels: { app: 'db' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(4000) },
        managedFields: [{ manager: 'kubectl', operation: 'Update' }],
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 's1' }],
      },
      spec: {
        nodeName: 'par-1',
        terminationGracePeriodSeconds: 86_400,
        containers: [{ name: 'db', image: 'postgres', env: [{ name: 'A', value: 'b'.repeat(2000) }] }],
      },
      status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    };
    expect(podAuditView(full)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'db-0',
        namespace: 'research',
        uid: 'u1',
        resourceVersion: '42',
        labels: { app: 'db' },
      },
      // The grace period: removal caps it (remediation.ts).
      spec: { containers: [], nodeName: 'par-1', terminationGracePeriodSeconds: 86_400 },
      status: { phase: 'Running' },
    });
    const deleted = podAuditView({
      ...full,
      metadata: { ...full.metadata, deletionTimestamp: new Date(0), deletionGracePeriodSeconds: 86_400 },
    });
    expect(deleted.metadata).toMatchObject({
      deletionTimestamp: new Date(0),
      deletionGracePeriodSeconds: 86_400,
    });
    expect(JSON.stringify(podAuditView(full)).length * 20).toBeLessThan(JSON.stringify(full).length);
  });

  it('keeps the eviction UID so a pod recreated under the same name is spared', () => {
    const p = pod('db-0', 'us-1');
    expect(auditPods([held()], [p], nodes)[0]!.uid).toBe(p.metadata!.uid);
  });

  it('compares violation sets regardless of order, and bounds the status list', () => {
    const a = [
      { pod: 'a', node: 'x', reason: 'r' },
      { pod: 'b', node: 'y', reason: 'r' },
    ];
    expect(sameViolations(a, [...a].reverse())).toBe(true);
    expect(sameViolations(a, a.slice(1))).toBe(false);
    expect(sameViolations(undefined, [])).toBe(true);
    expect(sameViolations(a, [a[0]!, { ...a[1]!, node: 'z' }])).toBe(false);
    const many = Array.from({ length: 70 }, (_, i) => pod(`p${String(i).padStart(2, '0')}`, 'us-1'));
    const v = auditPods([held()], many, nodes);
    expect(v).toHaveLength(70);
    expect(statusViolations(v)).toHaveLength(64);
  });

  it('names pods and nodes in messages, the first few only', () => {
    const v = statusViolations(
      auditPods(
        [held()],
        Array.from({ length: 7 }, (_, i) => pod(`w${i}`, 'us-1')),
        nodes,
      ),
    );
    const msg = describeViolations(v);
    expect(msg).toMatch(/^7 pod\(s\) on nodes outside the policy: pod w0 on node us-1 \(region us-east-1/);
    expect(msg).toContain('pod w4 on node us-1');
    expect(msg).not.toContain('pod w5');
    expect(msg).toMatch(/; and 2 more$/);
  });
});

describe('providerID', () => {
  it.each([
    ['aws:///eu-west-3a/i-0123456789abcdef0', 'aws', 'eu-west-3a', 'eu-west-3'],
    ['aws://eu-west-3c/i-0123456789abcdef0', 'aws', 'eu-west-3c', 'eu-west-3'],
    ['aws:///us-gov-west-1b/i-0123', 'aws', 'us-gov-west-1b', 'us-gov-west-1'],
    ['aws:///cloudgouv-eu-west-1a/i-7c0ffee1', 'aws', 'cloudgouv-eu-west-1a', 'cloudgouv-eu-west-1'],
    ['gce://my-project/europe-west9-a/gke-node-1', 'gce', 'europe-west9-a', 'europe-west9'],
    ['scaleway://instance/fr-par-1/11111111-1111-1111-1111-111111111111', 'scaleway', 'fr-par-1', 'fr-par'],
    ['scaleway://baremetal/nl-ams-2/22222222-2222-2222-2222-222222222222', 'scaleway', 'nl-ams-2', 'nl-ams'],
  ])('reads the region of %s', (id, provider, zone, region) => {
    expect(providerLocation(id)).toEqual({ provider, zone, region });
  });

  it.each([
    ['kwok://eu-fr-par-1'],
    ['kind://docker/kind/kind-worker'],
    ['openstack:///0b5a9d1e-6d6f-4c1e-9a4e-2f1f0f0f0f0f'],
    ['azure:///subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm'],
    ['hcloud://12345'],
    ['scaleway://11111111-1111-1111-1111-111111111111'],
    // AWS Local and Wavelength zones do not end in the region plus one letter.
    ['aws:///us-west-2-lax-1a/i-0123'],
    ['aws:///us-east-1-wl1-bos-wlz-1/i-0123'],
    [''],
    [undefined],
  ])('says nothing of %s', (id) => {
    expect(providerLocation(id)).toBeUndefined();
  });

  it('flags a region label the providerID contradicts, only then', () => {
    expect(regionLabelMismatch('fr-par', 'scaleway://instance/fr-par-1/x')).toBeUndefined();
    expect(regionLabelMismatch('fr-par', 'scaleway://instance/nl-ams-1/x')).toBe(
      'region label fr-par contradicts spec.providerID scaleway://instance/nl-ams-1/x (region nl-ams)',
    );
    expect(regionLabelMismatch('fr-par', 'kwok://n')).toBeUndefined();
    // No label: the node is ineligible anyway, and says so itself.
    expect(regionLabelMismatch(undefined, 'aws:///us-east-1a/i-1')).toBeUndefined();
  });
});

describe('auditPods judges each node once, with the same verdicts as pod by pod', () => {
  // The audit as written before it remembered verdicts: every pod against every held policy.
  const podByPod = (heldList: HeldPolicy[], pods: V1Pod[], byName: Map<string, NodeFacts>) => {
    const several = new Set(heldList.map((h) => h.policyName)).size > 1;
    return pods
      .filter(isPodPlaced)
      .flatMap((p) => {
        const nodeName = p.spec!.nodeName!;
        const node = byName.get(nodeName);
        const violatedBy: string[] = [];
        const onlyHubRegions: string[] = [];
        let reason: string | undefined;
        for (const h of heldList) {
          const own = p.metadata?.labels?.[LABEL_HUB] === h.hub;
          const why = node
            ? nodeVerdict(node, h.spec, own ? h.hubRegions : undefined)
            : `node ${nodeName} no longer exists`;
          if (why === undefined) continue;
          violatedBy.push(h.hub);
          if (node && h.hubRegions && nodeVerdict(node, h.spec) === undefined) onlyHubRegions.push(h.hub);
          reason ??= several && node ? `${why} (SovereigntyPolicy ${h.policyName})` : why;
        }
        if (reason === undefined) return [];
        return [{ pod: p.metadata!.name!, node: nodeName, reason, violatedBy, onlyHubRegions }];
      })
      .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
  };

  it('for random namespaces of hubs, regions, policies and nodes', () => {
    const g = generator(7);
    const rand = (k: number) => g.int(0, k - 1);
    const nodeNames = [...nodes.keys(), 'gone'];
    const strict = { ...euHds().spec, regions: ['fr-par'] };
    let found = 0;
    for (let round = 0; round < 300; round++) {
      const hubs = Array.from({ length: 1 + rand(6) }, (_, i) => `hub-${i}`);
      const heldList: HeldPolicy[] = hubs.map((hub) => ({
        hub,
        policyName: rand(3) === 0 ? 'fr-only' : 'eu-hds',
        spec: rand(3) === 0 ? strict : euHds().spec,
        ...(rand(2) === 0 ? { hubRegions: rand(2) ? ['de-fra'] : ['fr-par'] } : {}),
      }));
      const pods = Array.from({ length: rand(12) }, (_, i) =>
        pod(`p-${i}`, rand(8) === 0 ? undefined : nodeNames[rand(nodeNames.length)], {
          metadata: { labels: rand(4) ? { [LABEL_HUB]: hubs[rand(hubs.length)]! } : {} },
        }),
      );
      const got = auditPods(heldList, pods, nodes).map((v) => ({
        pod: v.pod,
        node: v.node,
        reason: v.reason,
        violatedBy: v.violatedBy,
        onlyHubRegions: v.onlyHubRegions ?? [],
      }));
      expect(got).toEqual(podByPod(heldList, pods, nodes));
      found += got.filter((v) => v.onlyHubRegions.length > 0).length + got.length;
    }
    expect(found).toBeGreaterThan(300); // violations of both kinds were compared, not only empty lists
  });
});
