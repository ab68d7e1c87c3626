// What wakes the policy report controller: the predicates and maps of its watches, run on tables of
// events against fake caches, and wired with `connect` as the operator wires them.
import type {
  KubernetesObject,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../../src/api/index.js';
import {
  claimEventMatters,
  holdingHub,
  hubEventMatters,
  hubNamespaces,
  namespacesOfPolicy,
  namespacesOfVolume,
  policyReportWatches,
  type PolicyReportView,
} from '../../../src/controllers/policyreport/watches.js';
import { podIndexers } from '../../../src/placement/pod-index.js';
import type { InformerEvent } from '../../../src/runtime/informer.js';
import { connect } from '../../../src/runtime/watches.js';
import { FakeCache } from '../../support/fake-cluster.js';
import { euNode, hub, pod, policy, REGION } from './fixtures.js';

function world() {
  const hubs = new FakeCache<HealthDataHub>();
  hubs.put(hub('h', 'research'));
  hubs.put(hub('g', 'research', { policyName: 'de-only' }));
  hubs.put(hub('b', 'berlin', { policyName: 'de-only' }));
  return {
    hubs,
    policies: new FakeCache<SovereigntyPolicy>(),
    nodes: new FakeCache<V1Node>(),
    pods: new FakeCache<V1Pod>(podIndexers),
    claims: new FakeCache<V1PersistentVolumeClaim>(),
    volumes: new FakeCache<V1PersistentVolume>(),
    storageClasses: new FakeCache<V1StorageClass>(),
    reports: [new FakeCache<KubernetesObject>(), new FakeCache<KubernetesObject>()],
  };
}

const claim = (
  name: string,
  ns: string,
  over: Partial<V1PersistentVolumeClaim> = {},
): V1PersistentVolumeClaim => ({
  metadata: { name, namespace: ns, uid: `uid-${name}` },
  spec: { storageClassName: 'enc', volumeName: 'pv-1' },
  status: { phase: 'Bound' },
  ...over,
});

const pv = (claimNamespace?: string): V1PersistentVolume => ({
  metadata: { name: 'pv-1' },
  spec: claimNamespace ? { claimRef: { namespace: claimNamespace, name: 'data-h-0' } } : {},
});

describe('policy report watches: maps', () => {
  const w = world();
  const view: PolicyReportView = { hubs: w.hubs };

  it('wake namespaces that hold a hub, within --namespace', () => {
    expect(holdingHub(view, 'research')).toEqual(['research']);
    expect(holdingHub(view, 'plain')).toEqual([]);
    expect(holdingHub(view, undefined)).toEqual([]);
    expect(hubNamespaces(view).sort()).toEqual(['berlin', 'research']);
    expect(hubNamespaces({ ...view, watchedNamespace: 'berlin' })).toEqual(['berlin']);
  });

  it("map a policy to its hubs' namespaces, a volume to its claim's", () => {
    expect(namespacesOfPolicy(view, policy('de-only')).sort()).toEqual(['berlin', 'research']);
    expect(namespacesOfPolicy(view, policy('eu-hds'))).toEqual(['research']);
    expect(namespacesOfPolicy(view, policy('unused'))).toEqual([]);
    expect(namespacesOfVolume(view, pv('research'))).toEqual(['research']);
    // Released from a claim of one namespace: that one still learns of it.
    expect(namespacesOfVolume(view, pv(), pv('berlin'))).toEqual(['berlin']);
    expect(namespacesOfVolume(view, pv('plain'))).toEqual([]);
  });
});

describe('policy report watches: predicates', () => {
  const h = hub('h', 'research');
  it.each<[string, boolean, InformerEvent, HealthDataHub, HealthDataHub | undefined]>([
    ['created', true, 'add', h, undefined],
    ['deleted', true, 'delete', h, undefined],
    ['resynced', false, 'resync', h, undefined],
    ['status written by another controller', false, 'update', { ...h, status: { observedGeneration: 1 } }, h],
    ['spec changed', true, 'update', { ...h, metadata: { ...h.metadata, generation: 2 } }, h],
  ])('hub %s: wakes the controller %s', (_what, wakes, event, obj, old) => {
    expect(hubEventMatters(event, obj, old)).toBe(wakes);
  });

  const c = claim('data-h-0', 'research');
  it.each<[string, boolean, InformerEvent, V1PersistentVolumeClaim, V1PersistentVolumeClaim | undefined]>([
    ['created', true, 'add', c, undefined],
    ['resynced', false, 'resync', c, undefined],
    ['bound', true, 'update', c, claim('data-h-0', 'research', { status: { phase: 'Pending' } })],
    ['relabelled', true, 'update', { ...c, metadata: { ...c.metadata, labels: { a: 'b' } } }, c],
    [
      'capacity reported',
      false,
      'update',
      { ...c, status: { phase: 'Bound', capacity: { storage: '1Gi' } } },
      c,
    ],
  ])('claim %s: wakes the controller %s', (_what, wakes, event, obj, old) => {
    expect(claimEventMatters(event, obj, old)).toBe(wakes);
  });
});

describe('policy report watches: wired', () => {
  it('wake the namespaces each event concerns', () => {
    const w = world();
    const woken: string[] = [];
    connect((k) => woken.push(k), policyReportWatches(w));
    const take = () => woken.splice(0).sort();

    w.pods.put(pod('web-0', 'research', 'eu-1'));
    w.pods.put(pod('web-0', 'plain', 'eu-1'));
    expect(take()).toEqual(['research']);

    // A node's labels place pods and volumes of every hub namespace.
    w.nodes.put(euNode('eu-1'));
    expect(take()).toEqual(['berlin', 'research']);
    const relabelled = euNode('eu-1');
    relabelled.metadata!.labels = { ...relabelled.metadata!.labels, [REGION]: 'us-east-1' };
    w.nodes.put(relabelled);
    expect(take()).toEqual(['berlin', 'research']);
    w.nodes.put({ ...relabelled, status: { ...relabelled.status, images: [] } });
    expect(take()).toEqual([]);

    w.storageClasses.put({ metadata: { name: 'enc' }, provisioner: 'x' });
    expect(take()).toEqual(['berlin', 'research']);
    w.claims.put(claim('data-b-0', 'berlin'));
    expect(take()).toEqual(['berlin']);
    w.volumes.put(pv('berlin'));
    expect(take()).toEqual(['berlin']);
    w.policies.put(policy('eu-hds'));
    expect(take()).toEqual(['research']);

    // The operator's reports: wherever they are, a change is looked at (kept, or deleted).
    w.reports[1]!.put({ metadata: { name: 'hdh-sovereignty', namespace: 'plain' } });
    expect(take()).toEqual(['plain']);
    w.reports[0]!.resync();
    expect(take()).toEqual([]);

    // The last hub of a namespace goes: its namespace is woken to delete the report.
    w.hubs.remove('berlin/b');
    expect(take()).toEqual(['berlin']);
  });
});
