// What wakes which controller: the predicates and maps of the placement, hub, keys and policy
// watches, run on tables of events against caches of the fake cluster, old and new object on updates.
import type {
  KubernetesObject,
  V1Namespace,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import {
  ANNOTATION_ADOPT_KEYS,
  ANNOTATION_ROTATE_KEY,
  FINALIZER,
  LABEL_HUB,
  LABEL_RETAINED_FROM,
  type HealthDataHub,
  type HubEncryptionStatus,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import {
  hubEventMatters as hubControllerHubEventMatters,
  hubsInNamespace,
  hubsOfClaim,
  hubsUsingPolicy,
  hubWatches,
  keyAccessHubNamespace,
  keysReported,
  namespaceLabelEventMatters,
  ownerHub,
  placementReported,
  type OwnedSource,
} from '../../../src/controllers/hub/watches.js';
import { hubEventMattersToKeys, keysWatches } from '../../../src/controllers/keys/watches.js';
import {
  audited,
  hubEventMatters as placementHubEventMatters,
  namespaceEventMatters,
  namespacesOfNode,
  namespacesOfPolicy,
  nodeEventMatters,
  placementWatches,
  podEventMatters,
  retainedClaimEventMatters,
  type PlacementView,
} from '../../../src/controllers/placement/watches.js';
import { HUB_COUNT_DELAY_MS, policiesOfHub, policyWatches } from '../../../src/controllers/policy/watches.js';
import { policyEventMatters, specOrMetadataChanged } from '../../../src/controllers/predicates.js';
import { LABEL_HUB_NAMESPACE } from '../../../src/keys/identity.js';
import { LABEL_POLICY } from '../../../src/placement/admission.js';
import type { InformerEvent } from '../../../src/runtime/informer.js';
import { connect, keysFor, type AnyWatch } from '../../../src/runtime/watches.js';
import { FakeCache, FakeCluster } from '../../support/fake-cluster.js';
import { euNode, hub, JURISDICTION, namespace, node, pod, policy, REGION, usNode } from './fixtures.js';

/**
 * research: hub h (eu-hds); retained: held to eu-hds by its label alone; plain: nothing. Pods of
 * all three on us-1; eu-1 is inside eu-hds, us-1 outside; de-1 is inside de-only but not Ready.
 */
function world(): FakeCluster {
  const c = new FakeCluster();
  c.policies.put(policy('eu-hds'));
  c.policies.put(policy('de-only', { regions: ['de-fra'] }));
  c.nodes.put(euNode('eu-1'));
  c.nodes.put(usNode('us-1'));
  c.nodes.put(node('de-1', { [REGION]: 'de-fra', [JURISDICTION]: 'EU' }, { ready: false }));
  c.namespaces.put(namespace('research', ['eu-hds']));
  c.namespaces.put(namespace('retained', ['eu-hds']));
  c.namespaces.put(namespace('plain'));
  c.namespaces.put(namespace('berlin', ['de-only']));
  c.hubs.put(hub('h', 'research'));
  c.hubs.put(hub('b', 'berlin', { policyName: 'de-only' }));
  for (const ns of ['research', 'retained', 'plain']) c.pods.put(pod(`web-${ns}`, ns, 'us-1'));
  return c;
}

const view = (c: FakeCluster, watchedNamespace?: string): PlacementView => ({
  hubs: c.hubs,
  policies: c.policies,
  pods: c.pods,
  namespaces: c.namespaces,
  watchedNamespace,
});

function placementOn(c: FakeCluster, watchedNamespace?: string): AnyWatch[] {
  return placementWatches({
    hubs: c.hubs,
    policies: c.policies,
    nodes: c.nodes,
    pods: c.pods,
    namespaces: c.namespaces,
    claims: c.claims,
    watchedNamespace,
  });
}

interface HubWorld {
  volumes: FakeCache<V1PersistentVolume>;
  storageClasses: FakeCache<V1StorageClass>;
  statefulSets: FakeCache<KubernetesObject>;
  services: FakeCache<KubernetesObject>;
  roles: FakeCache<KubernetesObject>;
  /** Events the applied-object record calls drift, by `kind/name`. */
  drift: Set<string>;
}

function hubOn(c: FakeCluster): { watches: AnyWatch[] } & HubWorld {
  const w: HubWorld = {
    volumes: new FakeCache(),
    storageClasses: new FakeCache(),
    statefulSets: new FakeCache(),
    services: new FakeCache(),
    roles: new FakeCache(),
    drift: new Set(),
  };
  const owned: OwnedSource[] = [
    { kind: 'StatefulSet', source: w.statefulSets, everyChange: true },
    { kind: 'Service', source: w.services },
    { kind: 'Role', source: w.roles, hubNamespace: keyAccessHubNamespace },
  ];
  const watches = hubWatches({
    hubs: c.hubs,
    policies: c.policies,
    namespaces: c.namespaces,
    claims: c.claims,
    volumes: w.volumes,
    storageClasses: w.storageClasses,
    owned,
    drifted: (kind, _e, obj) => w.drift.has(`${kind}/${obj.metadata?.name}`),
  });
  return { watches, ...w };
}

interface KeysWorld {
  serviceAccounts: FakeCache<KubernetesObject>;
  roles: FakeCache<KubernetesObject>;
  roleBindings: FakeCache<KubernetesObject>;
  /** Events the applied-object record calls drift, by `kind/name`. */
  drift: Set<string>;
}

/** The keys controller's watches, with its key-access objects as operator.ts declares them. */
function keysOn(c: FakeCluster): { watches: AnyWatch[] } & KeysWorld {
  const w: KeysWorld = {
    serviceAccounts: new FakeCache(),
    roles: new FakeCache(),
    roleBindings: new FakeCache(),
    drift: new Set(),
  };
  const watches = keysWatches({
    hubs: c.hubs,
    policies: c.policies,
    namespaces: c.namespaces,
    claims: c.claims,
    storageClasses: new FakeCache<V1StorageClass>(),
    access: [
      { kind: 'ServiceAccount', source: w.serviceAccounts },
      { kind: 'Role', source: w.roles, hubNamespace: keyAccessHubNamespace },
      { kind: 'RoleBinding', source: w.roleBindings, hubNamespace: keyAccessHubNamespace },
    ],
    drifted: (kind, _e, obj) => w.drift.has(`${kind}/${obj.metadata?.name}`),
  });
  return { watches, ...w };
}

function policyOn(c: FakeCluster, admission: FakeCache<KubernetesObject>, drifted: Set<string>): AnyWatch[] {
  return policyWatches({
    hubs: c.hubs,
    policies: c.policies,
    nodes: c.nodes,
    admission: [admission],
    drifted: (_e, obj) => drifted.has(obj.metadata?.name ?? ''),
  });
}

/** The one watch of that name. */
function named(watches: readonly AnyWatch[], name: string): AnyWatch {
  const found = watches.filter((w) => w.name === name);
  if (found.length !== 1) throw new Error(`${found.length} watches named ${name}`);
  return found[0]!;
}

/** The keys an event wakes through the watch of that name. */
function wakes<T extends KubernetesObject>(
  watches: readonly AnyWatch[],
  name: string,
  event: InformerEvent,
  obj: T,
  old?: T,
): string[] {
  return [...keysFor(named(watches, name), event, obj as KubernetesObject, old as KubernetesObject)];
}

const withGeneration = <T extends KubernetesObject>(o: T, generation: number): T => ({
  ...o,
  metadata: { ...o.metadata, generation },
});
const withLabels = <T extends KubernetesObject>(o: T, labels: Record<string, string>): T => ({
  ...o,
  metadata: { ...o.metadata, labels },
});
const withVersion = <T extends KubernetesObject>(o: T, resourceVersion: string): T => ({
  ...o,
  metadata: { ...o.metadata, resourceVersion },
});
const deleting = <T extends KubernetesObject>(o: T): T => ({
  ...o,
  metadata: { ...o.metadata, deletionTimestamp: new Date('2026-01-01T00:00:00Z') },
});
const withPlacement = (
  h: HealthDataHub,
  c: { status: 'True' | 'False'; reason: string; message?: string; observedGeneration?: number; at?: string },
  eligibleNodes = 1,
): HealthDataHub => ({
  ...h,
  status: {
    ...h.status,
    conditions: [
      {
        type: 'PlacementCompliant',
        status: c.status,
        reason: c.reason,
        message: c.message ?? c.reason,
        observedGeneration: c.observedGeneration ?? 1,
        lastTransitionTime: c.at ?? '2026-01-01T00:00:00Z',
      },
    ],
    placement: { eligibleNodes },
  },
});
const withReady = (h: HealthDataHub, status: 'True' | 'False'): HealthDataHub => ({
  ...h,
  status: {
    ...h.status,
    conditions: [
      ...(h.status?.conditions ?? []),
      { type: 'Ready', status, reason: 'R', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
  },
});

const withKeys = (
  h: HealthDataHub,
  c: { status: 'True' | 'False'; reason: string; message?: string; observedGeneration?: number; at?: string },
  encryption?: HubEncryptionStatus,
): HealthDataHub => ({
  ...h,
  status: {
    ...h.status,
    conditions: [
      ...(h.status?.conditions ?? []).filter((x) => x.type !== 'KeysReady'),
      {
        type: 'KeysReady',
        status: c.status,
        reason: c.reason,
        message: c.message ?? c.reason,
        observedGeneration: c.observedGeneration ?? 1,
        lastTransitionTime: c.at ?? '2026-01-01T00:00:00Z',
      },
    ],
    ...(encryption ? { encryption } : {}),
  },
});
const withAnnotations = <T extends KubernetesObject>(o: T, annotations: Record<string, string>): T => ({
  ...o,
  metadata: { ...o.metadata, annotations },
});
const withFinalizers = <T extends KubernetesObject>(o: T, finalizers: string[]): T => ({
  ...o,
  metadata: { ...o.metadata, finalizers },
});

describe('shared predicates', () => {
  const p = policy();
  it.each<[string, SovereigntyPolicy, boolean]>([
    ['the same object', p, false],
    ['a status change', { ...p, status: { eligibleNodes: 3 } } as SovereigntyPolicy, false],
    ['a new resourceVersion alone', withVersion(p, '9'), false],
    ['a new generation', withGeneration(p, 2), true],
    ['a label', withLabels(p, { team: 'a' }), true],
    ['an annotation', { ...p, metadata: { ...p.metadata, annotations: { a: 'b' } } }, true],
    ['a deletionTimestamp', deleting(p), true],
  ])('specOrMetadataChanged: %s', (_what, after, expected) => {
    expect(specOrMetadataChanged(p, after)).toBe(expected);
  });

  const refused = policy('eu-hds', {}, {
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        reason: 'AdmissionFailed',
        message: 'refused',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  } as SovereigntyPolicy['status']);
  it.each<[string, InformerEvent, SovereigntyPolicy, SovereigntyPolicy | undefined, boolean]>([
    ['add', 'add', p, undefined, true],
    ['delete', 'delete', p, undefined, true],
    ['resync', 'resync', p, p, false],
    ['update without old', 'update', p, undefined, true],
    [
      'update of status only',
      'update',
      { ...p, status: { eligibleNodes: 2 } } as SovereigntyPolicy,
      p,
      false,
    ],
    ['update of the spec', 'update', withGeneration(p, 2), p, true],
    ['admission objects refused', 'update', refused, p, true],
    ['admission objects accepted again', 'update', p, refused, true],
  ])('policyEventMatters: %s', (_what, event, after, before, expected) => {
    expect(policyEventMatters(event, after, before)).toBe(expected);
  });
});

describe('placement watches (keyed by namespace)', () => {
  it.each<[string, string | undefined, string | undefined, boolean]>([
    ['a namespace with a hub', 'research', undefined, true],
    ['a namespace held by a policy label alone', 'retained', undefined, true],
    ['a namespace with neither', 'plain', undefined, false],
    ['an unknown namespace', 'nowhere', undefined, false],
    ['no namespace', undefined, undefined, false],
    ['a namespace with a hub, outside --namespace', 'research', 'retained', false],
    ['the --namespace', 'retained', 'retained', true],
  ])('audited: %s', (_what, ns, watched, expected) => {
    expect(audited(view(world(), watched), ns)).toBe(expected);
  });

  const h = hub();
  it.each<[string, InformerEvent, HealthDataHub, HealthDataHub | undefined, boolean]>([
    ['add', 'add', h, undefined, true],
    ['delete', 'delete', h, undefined, true],
    ['resync (the periodic audit)', 'resync', h, h, true],
    ['its own status write', 'update', withPlacement(h, { status: 'True', reason: 'Compliant' }), h, false],
    ['the hub controller\u2019s status write', 'update', withReady(h, 'True'), h, false],
    ['a spec change', 'update', withGeneration(h, 2), h, true],
    ['deletion', 'update', deleting(h), h, true],
    ['a label', 'update', withLabels(h, { a: 'b' }), h, true],
  ])('hubEventMatters: %s', (_what, event, after, before, expected) => {
    expect(placementHubEventMatters(event, after, before)).toBe(expected);
  });

  it('wakes the namespace of a hub, within --namespace', () => {
    const c = world();
    expect(wakes(placementOn(c), 'hubs', 'add', h)).toEqual(['research']);
    expect(wakes(placementOn(c), 'hubs', 'update', withGeneration(h, 2), h)).toEqual(['research']);
    expect(wakes(placementOn(c), 'hubs', 'update', withReady(h, 'True'), h)).toEqual([]);
    expect(wakes(placementOn(c, 'other'), 'hubs', 'add', h)).toEqual([]);
  });

  it('namespacesOfPolicy: those of its hubs and those carrying its label, within --namespace', () => {
    const c = world();
    expect(namespacesOfPolicy(view(c), policy('eu-hds')).sort()).toEqual(['research', 'retained']);
    expect(namespacesOfPolicy(view(c), policy('de-only'))).toEqual(['berlin']);
    expect(namespacesOfPolicy(view(c), policy('unused'))).toEqual([]);
    expect(namespacesOfPolicy(view(c, 'retained'), policy('eu-hds'))).toEqual(['retained']);
    // A deleted policy still wakes them: their hubs report PolicyNotFound.
    expect(wakes(placementOn(c), 'policies', 'delete', policy('eu-hds')).sort()).toEqual([
      'research',
      'retained',
    ]);
    expect(wakes(placementOn(c), 'policies', 'resync', policy('eu-hds'), policy('eu-hds'))).toEqual([]);
  });

  const eu = euNode('eu-1');
  const heartbeat: V1Node = { ...eu, status: { ...eu.status, nodeInfo: { bootID: 'x' } as never } };
  it.each<[string, InformerEvent, V1Node, V1Node | undefined, boolean]>([
    ['add', 'add', eu, undefined, true],
    ['delete', 'delete', eu, undefined, true],
    ['resync', 'resync', eu, eu, false],
    ['a heartbeat', 'update', heartbeat, eu, false],
    ['a relabel', 'update', withLabels(eu, { [REGION]: 'us-east-1' }), eu, true],
    ['not Ready', 'update', node('eu-1', eu.metadata!.labels!, { ready: false }), eu, true],
    ['cordoned', 'update', node('eu-1', eu.metadata!.labels!, { unschedulable: true }), eu, true],
    ['tainted', 'update', { ...eu, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } }, eu, true],
    [
      'a providerID set',
      'update',
      node('eu-1', eu.metadata!.labels!, { providerID: 'aws:///us-east-1a/i-1' }),
      eu,
      true,
    ],
  ])('nodeEventMatters: %s', (_what, event, after, before, expected) => {
    expect(nodeEventMatters(event, after, before)).toBe(expected);
  });

  describe('namespacesOfNode', () => {
    it('wakes the namespaces with pods on a relabelled node first, audited ones only', () => {
      const c = world();
      const us = c.nodes.get('us-1')!;
      // Relabelled into eu-hds: the audited namespaces with pods on it, then those whose hub gains
      // an eligible node (research already has one from the pod).
      const intoPolicy = withLabels(us, euNode().metadata!.labels!);
      expect(namespacesOfNode(view(c), 'update', intoPolicy, us)).toEqual(['research', 'retained']);
      // A label that changes no verdict still wakes the namespaces with pods on it.
      const cosmetic = withLabels(us, { ...us.metadata!.labels!, team: 'a' });
      expect(namespacesOfNode(view(c), 'update', cosmetic, us)).toEqual(['research', 'retained']);
    });

    it('wakes the namespaces of hubs whose eligible count it changes, old and new node compared', () => {
      const c = world();
      const de = c.nodes.get('de-1')!;
      const deReady = node('de-1', de.metadata!.labels!);
      // de-1 becomes Ready: one more eligible node for de-only (berlin) and eu-hds (research).
      expect(namespacesOfNode(view(c), 'update', deReady, de).sort()).toEqual(['berlin', 'research']);
      // ...and back.
      expect(namespacesOfNode(view(c), 'update', de, deReady).sort()).toEqual(['berlin', 'research']);
      // Added not Ready, or deleted while not Ready: no count changes.
      expect(namespacesOfNode(view(c), 'add', de)).toEqual([]);
      expect(namespacesOfNode(view(c), 'delete', de)).toEqual([]);
      // A Ready eu-1 deleted: eu-hds loses it; added: gains it.
      const eu1 = c.nodes.get('eu-1')!;
      expect(namespacesOfNode(view(c), 'delete', eu1)).toEqual(['research']);
      expect(namespacesOfNode(view(c), 'add', euNode('eu-2'))).toEqual(['research']);
      // A relabel out of a region: eu-hds loses eu-1, de-only never had it.
      const out = withLabels(eu1, { [REGION]: 'us-east-1', [JURISDICTION]: 'EU' });
      expect(namespacesOfNode(view(c), 'update', out, eu1)).toEqual(['research']);
    });

    it('narrows with --namespace and goes through the node watch', () => {
      const c = world();
      const us = c.nodes.get('us-1')!;
      const relabel = withLabels(us, euNode().metadata!.labels!);
      expect(namespacesOfNode(view(c, 'retained'), 'update', relabel, us)).toEqual(['retained']);
      expect(wakes(placementOn(c), 'nodes', 'update', relabel, us)).toEqual(['research', 'retained']);
      expect(wakes(placementOn(c), 'nodes', 'resync', us, us)).toEqual([]);
    });
  });

  const running = pod('web-1', 'research', 'us-1');
  const unbound = pod('web-1', 'research', undefined);
  it.each<[string, InformerEvent, V1Pod, V1Pod | undefined, boolean]>([
    ['add', 'add', running, undefined, true],
    ['delete', 'delete', running, undefined, true],
    ['resync', 'resync', running, running, false],
    ['update without old', 'update', running, undefined, true],
    [
      'a status update',
      'update',
      { ...running, status: { phase: 'Running', podIP: '10.0.0.1' } },
      running,
      false,
    ],
    ['bound to a node', 'update', running, unbound, true],
    ['terminating', 'update', deleting(running), running, true],
    [
      'its grace period shortened',
      'update',
      { ...deleting(running), metadata: { ...deleting(running).metadata, deletionGracePeriodSeconds: 5 } },
      deleting(running),
      true,
    ],
    ['finished', 'update', { ...running, status: { phase: 'Succeeded' } }, running, true],
    ['moved to another hub', 'update', withLabels(running, { [LABEL_HUB]: 'g' }), running, true],
    [
      'another pod of that name',
      'update',
      { ...running, metadata: { ...running.metadata, uid: 'u2' } },
      running,
      true,
    ],
  ])('podEventMatters: %s', (_what, event, after, before, expected) => {
    expect(podEventMatters(event, after, before)).toBe(expected);
  });

  it.each<[string, string, InformerEvent, string[]]>([
    ['a namespace with a hub', 'research', 'add', ['research']],
    ['a namespace held by its policy label', 'retained', 'add', ['retained']],
    ['a namespace with neither', 'plain', 'add', []],
    ['a pod deleted from a namespace with a hub', 'research', 'delete', ['research']],
    ['a resync', 'research', 'resync', []],
  ])('maps a pod event in %s to its namespace only when audited', (_what, ns, event, expected) => {
    const c = world();
    const p = pod('new', ns, 'us-1');
    expect(wakes(placementOn(c), 'pods', event, p, event === 'resync' ? p : undefined)).toEqual(expected);
  });

  const ns = namespace('research', ['eu-hds']);
  it.each<[string, InformerEvent, V1Namespace, V1Namespace | undefined, boolean]>([
    ['add', 'add', ns, undefined, true],
    ['delete', 'delete', ns, undefined, true],
    ['resync (a leftover label is removed)', 'resync', ns, ns, true],
    ['a label removed', 'update', namespace('research'), ns, true],
    ['terminating', 'update', deleting(ns), ns, true],
    ['nothing the operator reads', 'update', withVersion(ns, '7'), ns, false],
  ])('namespaceEventMatters: %s', (_what, event, after, before, expected) => {
    expect(namespaceEventMatters(event, after, before)).toBe(expected);
  });

  it('wakes every namespace on its own events, within --namespace', () => {
    const c = world();
    expect(wakes(placementOn(c), 'namespaces', 'resync', namespace('plain'), namespace('plain'))).toEqual([
      'plain',
    ]);
    expect(wakes(placementOn(c, 'research'), 'namespaces', 'add', namespace('plain'))).toEqual([]);
  });

  const claim = (labels?: Record<string, string>): V1PersistentVolumeClaim => ({
    metadata: { name: 'data-h-0', namespace: 'research', ...(labels ? { labels } : {}) },
  });
  const retained = claim({ [LABEL_RETAINED_FROM]: 'uid-1' });
  it.each<[string, InformerEvent, V1PersistentVolumeClaim, V1PersistentVolumeClaim | undefined, boolean]>([
    ['a retained claim added', 'add', retained, undefined, true],
    ['a claim deleted', 'delete', claim(), undefined, true],
    ['resync', 'resync', retained, retained, false],
    ['a claim of a live hub', 'add', claim(), undefined, false],
    ['marked retained', 'update', retained, claim(), true],
    ['unmarked', 'update', claim(), retained, true],
    ['another claim update', 'update', claim({ a: 'b' }), claim(), false],
  ])('retainedClaimEventMatters: %s', (_what, event, after, before, expected) => {
    expect(retainedClaimEventMatters(event, after, before)).toBe(expected);
  });

  it('wakes the namespace of a retained claim', () => {
    expect(wakes(placementOn(world()), 'retained claims', 'add', retained)).toEqual(['research']);
    expect(wakes(placementOn(world()), 'retained claims', 'add', claim())).toEqual([]);
  });
});

describe('hub watches (keyed by hub)', () => {
  const h = hub();
  const compliant = withPlacement(h, { status: 'True', reason: 'Compliant' });
  it.each<[string, HealthDataHub, HealthDataHub, boolean]>([
    ['nothing changed', compliant, compliant, false],
    ['reported for the first time', h, compliant, true],
    [
      'its status changed',
      compliant,
      withPlacement(h, { status: 'False', reason: 'PodsOutsidePolicy' }),
      true,
    ],
    [
      'its message changed',
      compliant,
      withPlacement(h, { status: 'True', reason: 'Compliant', message: 'x' }),
      true,
    ],
    [
      'its observedGeneration changed',
      compliant,
      withPlacement(h, { status: 'True', reason: 'Compliant', observedGeneration: 2 }),
      true,
    ],
    [
      'only its transition time changed',
      compliant,
      withPlacement(h, { status: 'True', reason: 'Compliant', at: 'later' }),
      false,
    ],
    [
      'the eligible nodes changed',
      compliant,
      withPlacement(h, { status: 'True', reason: 'Compliant' }, 2),
      true,
    ],
    ['Ready changed (the hub controller\u2019s own)', compliant, withReady(compliant, 'True'), false],
  ])('placementReported: %s', (_what, before, after, expected) => {
    expect(placementReported(before, after)).toBe(expected);
  });

  const enc: HubEncryptionStatus = { provider: 'builtin', keyRef: 'k', activeVersion: 1, versions: 1 };
  const keysOk = withKeys(h, { status: 'True', reason: 'KeyAvailable' }, enc);
  it.each<[string, HealthDataHub, HealthDataHub, boolean]>([
    ['nothing changed', keysOk, keysOk, false],
    ['reported for the first time', h, keysOk, true],
    ['its status changed', keysOk, withKeys(h, { status: 'False', reason: 'KeyMissing' }, enc), true],
    ['its reason changed', keysOk, withKeys(h, { status: 'True', reason: 'KeysAdopted' }, enc), true],
    [
      'its message changed',
      keysOk,
      withKeys(h, { status: 'True', reason: 'KeyAvailable', message: 'x' }, enc),
      true,
    ],
    [
      'its observedGeneration changed',
      keysOk,
      withKeys(h, { status: 'True', reason: 'KeyAvailable', observedGeneration: 2 }, enc),
      true,
    ],
    [
      'only its transition time changed',
      keysOk,
      withKeys(h, { status: 'True', reason: 'KeyAvailable', at: 'later' }, enc),
      false,
    ],
    [
      'a new active key version (the pods roll)',
      keysOk,
      withKeys(h, { status: 'True', reason: 'KeyAvailable' }, { ...enc, activeVersion: 2, versions: 2 }),
      true,
    ],
    [
      'status.encryption first reported',
      withKeys(h, { status: 'True', reason: 'KeyAvailable' }),
      keysOk,
      true,
    ],
    [
      'PlacementCompliant changed (the placement controller\u2019s)',
      keysOk,
      {
        ...compliant,
        status: {
          ...compliant.status,
          conditions: [...keysOk.status!.conditions!, ...compliant.status!.conditions!],
          encryption: enc,
        },
      },
      false,
    ],
    ['Ready changed (the hub controller\u2019s own)', keysOk, withReady(keysOk, 'True'), false],
  ])('keysReported: %s', (_what, before, after, expected) => {
    expect(keysReported(before, after)).toBe(expected);
  });

  it.each<[string, InformerEvent, HealthDataHub, HealthDataHub | undefined, boolean]>([
    ['add', 'add', h, undefined, true],
    ['delete', 'delete', h, undefined, true],
    ['resync', 'resync', h, h, true],
    ['update without old', 'update', h, undefined, true],
    ['its own status write', 'update', withReady(h, 'True'), h, false],
    ['the placement controller\u2019s write', 'update', compliant, h, true],
    [
      'the keys controller\u2019s write',
      'update',
      withKeys(h, { status: 'True', reason: 'KeyAvailable' }),
      h,
      true,
    ],
    ['a spec change', 'update', withGeneration(h, 2), h, true],
    ['deletion', 'update', deleting(h), h, true],
  ])('hubEventMatters: %s', (_what, event, after, before, expected) => {
    expect(hubControllerHubEventMatters(event, after, before)).toBe(expected);
  });

  it('maps a hub to itself', () => {
    const { watches } = hubOn(world());
    expect(wakes(watches, 'hubs', 'add', h)).toEqual(['research/h']);
    expect(wakes(watches, 'hubs', 'update', withReady(h, 'True'), h)).toEqual([]);
  });

  it('maps a policy to its hubs: hubsUsingPolicy', () => {
    const c = world();
    c.hubs.put(hub('h2', 'retained'));
    expect(hubsUsingPolicy({ hubs: c.hubs }, policy('eu-hds')).sort()).toEqual(['research/h', 'retained/h2']);
    expect(hubsUsingPolicy({ hubs: c.hubs }, policy('unused'))).toEqual([]);
    const { watches } = hubOn(c);
    expect(
      wakes(watches, 'policies', 'update', withGeneration(policy('de-only'), 2), policy('de-only')),
    ).toEqual(['berlin/b']);
    expect(wakes(watches, 'policies', 'resync', policy('de-only'), policy('de-only'))).toEqual([]);
  });

  const ns = namespace('research', ['eu-hds']);
  it.each<[string, InformerEvent, V1Namespace, V1Namespace | undefined, boolean]>([
    ['add', 'add', ns, undefined, true],
    ['a label change (namespaceSelector)', 'update', withLabels(ns, { tier: 'gold' }), ns, true],
    ['no label change', 'update', withVersion(ns, '3'), ns, false],
    ['delete', 'delete', ns, undefined, false],
    ['resync', 'resync', ns, ns, false],
  ])('namespaceLabelEventMatters: %s', (_what, event, after, before, expected) => {
    expect(namespaceLabelEventMatters(event, after, before)).toBe(expected);
  });

  it('maps a namespace to its hubs: hubsInNamespace', () => {
    const c = world();
    c.hubs.put(hub('h2', 'research'));
    expect(hubsInNamespace({ hubs: c.hubs }, 'research').sort()).toEqual(['research/h', 'research/h2']);
    expect(hubsInNamespace({ hubs: c.hubs }, 'plain')).toEqual([]);
    expect(hubsInNamespace({ hubs: c.hubs }, undefined)).toEqual([]);
    expect(wakes(hubOn(c).watches, 'namespaces', 'update', withLabels(ns, { a: 'b' }), ns).sort()).toEqual([
      'research/h',
      'research/h2',
    ]);
  });

  it.each<[string, string | undefined, string | undefined, string[]]>([
    ['a replica claim', 'research', 'data-h-0', ['research/h']],
    ['a claim of a later replica', 'research', 'data-h-12', ['research/h']],
    ['not a replica claim (leading zero)', 'research', 'data-h-01', []],
    ['a claim of another hub name', 'research', 'data-hx-0', []],
    ['another namespace', 'plain', 'data-h-0', []],
    ['no namespace', undefined, 'data-h-0', []],
    ['no name', 'research', undefined, []],
  ])('hubsOfClaim: %s', (_what, namespaceName, claimName, expected) => {
    expect(hubsOfClaim({ hubs: world().hubs }, namespaceName, claimName)).toEqual(expected);
  });

  it('maps claims, and volumes by their claimRef old or new, to their hub', () => {
    const c = world();
    const { watches } = hubOn(c);
    const claim: V1PersistentVolumeClaim = { metadata: { name: 'data-h-0', namespace: 'research' } };
    expect(wakes(watches, 'claims', 'update', claim, claim)).toEqual(['research/h']);
    expect(wakes(watches, 'claims', 'resync', claim, claim)).toEqual([]);
    const bound: V1PersistentVolume = {
      metadata: { name: 'pv-1' },
      spec: { claimRef: { namespace: 'research', name: 'data-h-0' } },
    };
    const released: V1PersistentVolume = { metadata: { name: 'pv-1' }, spec: {} };
    expect(wakes(watches, 'volumes', 'update', bound, released)).toEqual(['research/h']);
    // The claimRef was cleared: the old object still says whose it was.
    expect(wakes(watches, 'volumes', 'update', released, bound)).toEqual(['research/h']);
    expect(wakes(watches, 'volumes', 'add', released)).toEqual([]);
  });

  it('maps a storage class to the hubs that name it', () => {
    const c = world();
    c.hubs.put(hub('other', 'research', { storage: { size: '1Gi', storageClassName: 'fast' } }));
    const sc = (name: string): V1StorageClass => ({ metadata: { name }, provisioner: 'p' });
    const { watches } = hubOn(c);
    expect(wakes(watches, 'storage classes', 'update', sc('enc'), sc('enc')).sort()).toEqual([
      'berlin/b',
      'research/h',
    ]);
    expect(wakes(watches, 'storage classes', 'add', sc('fast'))).toEqual(['research/other']);
    expect(wakes(watches, 'storage classes', 'resync', sc('enc'), sc('enc'))).toEqual([]);
  });

  it.each<[string, KubernetesObject, string | undefined, string[]]>([
    [
      'labelled for a hub',
      { metadata: { name: 'h', labels: { [LABEL_HUB]: 'h' } } },
      'research',
      ['research/h'],
    ],
    ['not labelled', { metadata: { name: 'h' } }, 'research', []],
    ['without a namespace', { metadata: { name: 'h', labels: { [LABEL_HUB]: 'h' } } }, undefined, []],
  ])('ownerHub: %s', (_what, obj, namespaceName, expected) => {
    expect(ownerHub(obj, namespaceName)).toEqual(expected);
  });

  it('keyAccessHubNamespace: the hub namespace a key-access object names in its label', () => {
    expect(keyAccessHubNamespace({ metadata: { labels: { [LABEL_HUB_NAMESPACE]: 'research' } } })).toBe(
      'research',
    );
    expect(keyAccessHubNamespace({ metadata: {} })).toBeUndefined();
  });

  it('wakes the owner of an applied object on drift or deletion, and on every StatefulSet change', () => {
    const c = world();
    const w = hubOn(c);
    const sts = { metadata: { name: 'h', namespace: 'research', labels: { [LABEL_HUB]: 'h' } } };
    const svc = { ...sts };
    const role = {
      metadata: {
        name: 'hdh-research-h',
        namespace: 'hdh-system',
        labels: { [LABEL_HUB]: 'h', [LABEL_HUB_NAMESPACE]: 'research' },
      },
    };
    // Our own apply coming back is no drift; the StatefulSet's status is DatastoreReady.
    expect(wakes(w.watches, 'StatefulSet', 'update', sts, sts)).toEqual(['research/h']);
    expect(wakes(w.watches, 'Service', 'update', svc, svc)).toEqual([]);
    expect(wakes(w.watches, 'Service', 'delete', svc)).toEqual(['research/h']);
    w.drift.add('Service/h');
    expect(wakes(w.watches, 'Service', 'update', svc, svc)).toEqual(['research/h']);
    expect(wakes(w.watches, 'Service', 'resync', svc, svc)).toEqual([]);
    expect(wakes(w.watches, 'StatefulSet', 'resync', sts, sts)).toEqual([]);
    // A key-access Role lives in the operator's namespace: its hub is found by label.
    expect(wakes(w.watches, 'Role', 'delete', role)).toEqual(['research/h']);
  });
});

describe('keys watches (keyed by hub)', () => {
  const h = hub('h', 'research', {}, { finalizers: [FINALIZER] });
  it.each<[string, InformerEvent, HealthDataHub, HealthDataHub | undefined, boolean]>([
    ['add', 'add', h, undefined, true],
    ['delete', 'delete', h, undefined, true],
    ['resync', 'resync', h, h, true],
    ['update without old', 'update', h, undefined, true],
    ['its own status write', 'update', withKeys(h, { status: 'True', reason: 'KeyAvailable' }), h, false],
    ['the hub controller\u2019s status write', 'update', withReady(h, 'True'), h, false],
    [
      'the placement controller\u2019s status write',
      'update',
      withPlacement(h, { status: 'False', reason: 'PodsOutsidePolicy' }),
      h,
      false,
    ],
    ['a new resourceVersion alone', 'update', withVersion(h, '9'), h, false],
    ['a spec change', 'update', withGeneration(h, 2), h, true],
    [
      'a rotation asked (rotate-key)',
      'update',
      withAnnotations(h, { [ANNOTATION_ROTATE_KEY]: '2026-01' }),
      h,
      true,
    ],
    [
      'an adoption asked (adopt-keys)',
      'update',
      withAnnotations(h, { [ANNOTATION_ADOPT_KEYS]: 'uid-0' }),
      h,
      true,
    ],
    ['deletion', 'update', deleting(h), h, true],
    ['a label', 'update', withLabels(h, { a: 'b' }), h, true],
  ])('hubEventMattersToKeys: %s', (_what, event, after, before, expected) => {
    expect(hubEventMattersToKeys(event, after, before)).toBe(expected);
  });

  it('maps a hub to itself: a rotate annotation wakes it, a status-only update does not', () => {
    const c = world();
    const { watches } = keysOn(c);
    expect(wakes(watches, 'hubs', 'add', h)).toEqual(['research/h']);
    expect(
      wakes(watches, 'hubs', 'update', withAnnotations(h, { [ANNOTATION_ROTATE_KEY]: 'now' }), h),
    ).toEqual(['research/h']);
    expect(wakes(watches, 'hubs', 'update', withReady(h, 'False'), h)).toEqual([]);
    expect(
      wakes(watches, 'hubs', 'update', withKeys(h, { status: 'True', reason: 'KeyAvailable' }), h),
    ).toEqual([]);
    expect(
      wakes(watches, 'hubs', 'update', withPlacement(h, { status: 'True', reason: 'Compliant' }), h),
    ).toEqual([]);
  });

  // The keys controller does nothing before the hub controller's finalizer is on the hub (no key
  // may exist that the hub's deletion would not account for), and says that its addition wakes it.
  it('wakes the hub once the hub controller adds its finalizer', () => {
    const fresh = hub();
    expect(hubEventMattersToKeys('update', withFinalizers(fresh, [FINALIZER]), fresh)).toBe(true);
    expect(
      wakes(keysOn(world()).watches, 'hubs', 'update', withFinalizers(fresh, [FINALIZER]), fresh),
    ).toEqual(['research/h']);
  });

  it('maps a policy to the hubs using it, on its changes only', () => {
    const c = world();
    c.hubs.put(hub('h2', 'retained'));
    const { watches } = keysOn(c);
    const p = policy('eu-hds');
    expect(
      wakes(
        watches,
        'policies',
        'update',
        withGeneration(policy('eu-hds', { keyProviders: ['transit'] }), 2),
        p,
      ).sort(),
    ).toEqual(['research/h', 'retained/h2']);
    expect(wakes(watches, 'policies', 'delete', policy('de-only'))).toEqual(['berlin/b']);
    expect(
      wakes(watches, 'policies', 'update', { ...p, status: { eligibleNodes: 3 } } as SovereigntyPolicy, p),
    ).toEqual([]);
    expect(wakes(watches, 'policies', 'resync', p, p)).toEqual([]);
  });

  it('maps a namespace label change to the hubs of the namespace', () => {
    const c = world();
    const { watches } = keysOn(c);
    const ns = namespace('research', ['eu-hds']);
    expect(wakes(watches, 'namespaces', 'update', withLabels(ns, { tier: 'gold' }), ns)).toEqual([
      'research/h',
    ]);
    expect(wakes(watches, 'namespaces', 'update', withVersion(ns, '4'), ns)).toEqual([]);
    expect(wakes(watches, 'namespaces', 'resync', ns, ns)).toEqual([]);
  });

  it('wakes the hub of a key-access object on drift or deletion, found by its labels', () => {
    const c = world();
    const w = keysOn(c);
    const labels = { [LABEL_HUB]: 'h', [LABEL_HUB_NAMESPACE]: 'research' };
    // Role and RoleBinding live in the operator's namespace: the hub namespace is in a label.
    const role = { metadata: { name: 'hdh-research-h', namespace: 'hdh-system', labels } };
    const binding = { ...role };
    // The service account lives in the hub's namespace.
    const sa = { metadata: { name: 'h-keys', namespace: 'research', labels: { [LABEL_HUB]: 'h' } } };

    // Our own apply coming back is no drift.
    expect(wakes(w.watches, 'Role', 'update', role, role)).toEqual([]);
    expect(wakes(w.watches, 'ServiceAccount', 'update', sa, sa)).toEqual([]);
    w.drift.add('Role/hdh-research-h');
    w.drift.add('ServiceAccount/h-keys');
    expect(wakes(w.watches, 'Role', 'update', role, role)).toEqual(['research/h']);
    expect(wakes(w.watches, 'ServiceAccount', 'update', sa, sa)).toEqual(['research/h']);
    expect(wakes(w.watches, 'Role', 'resync', role, role)).toEqual([]);
    expect(wakes(w.watches, 'RoleBinding', 'delete', binding)).toEqual(['research/h']);
    // Without the hub-namespace label a Role names no hub (not one of the operator's namespace).
    const unlabelled = { metadata: { name: 'x', namespace: 'hdh-system', labels: { [LABEL_HUB]: 'h' } } };
    expect(wakes(w.watches, 'Role', 'delete', unlabelled)).toEqual([]);
  });

  it('has no watch on pods, volumes or the datastore', () => {
    const c = world();
    const { watches } = keysOn(c);
    expect(watches.some((x) => (x.source as unknown) === c.pods)).toBe(false);
    expect(watches.some((x) => (x.source as unknown) === c.nodes)).toBe(false);
    expect(watches.map((x) => x.name).sort()).toEqual([
      'Role',
      'RoleBinding',
      'ServiceAccount',
      'claims',
      'hubs',
      'namespaces',
      'policies',
      'storage classes',
    ]);
  });

  // Claims are evidence that a hub holds data: keys are then never made anew (KeyMissing). Their
  // creation or deletion wakes the hub's keys; a claim's other changes (binding, resizing) do not.
  it('wakes a hub when one of its claims is created or deleted, not when it changes', () => {
    const c = world();
    const { watches } = keysOn(c);
    const claim = {
      metadata: { name: 'data-h-0', namespace: 'research' },
    } as V1PersistentVolumeClaim;
    const other = { metadata: { name: 'data-x-0', namespace: 'research' } } as V1PersistentVolumeClaim;
    expect(wakes(watches, 'claims', 'add', claim)).toEqual(['research/h']);
    expect(wakes(watches, 'claims', 'delete', claim)).toEqual(['research/h']);
    expect(wakes(watches, 'claims', 'update', claim, claim)).toEqual([]);
    expect(wakes(watches, 'claims', 'add', other)).toEqual([]);
  });
});

describe('policy watches (keyed by policy)', () => {
  const h = hub();
  const moved = hub('h', 'research', { policyName: 'de-only' });
  it.each<[string, InformerEvent, HealthDataHub, HealthDataHub | undefined, string[]]>([
    ['add', 'add', h, undefined, ['eu-hds']],
    ['delete', 'delete', h, undefined, ['eu-hds']],
    ['resync', 'resync', h, h, []],
    ['a status write', 'update', withReady(h, 'True'), h, []],
    ['moved to another policy: both', 'update', moved, h, ['eu-hds', 'de-only']],
  ])('policiesOfHub: %s', (_what, event, after, before, expected) => {
    expect(policiesOfHub(event, after, before)).toEqual(expected);
    expect(wakes(policyOn(world(), new FakeCache(), new Set()), 'hubs', event, after, before)).toEqual(
      expected,
    );
  });

  it('wakes a policy a moment after a hub event, so a burst of creations is counted once', () => {
    const c = world();
    const woken: [string, number | undefined][] = [];
    connect((key, afterMs) => woken.push([key, afterMs]), policyOn(c, new FakeCache(), new Set()));
    c.hubs.put(hub('burst-1', 'oncology', { policyName: 'eu-hds' }));
    c.policies.put(withGeneration(c.policies.get('eu-hds')!, 7));
    expect(woken).toEqual([
      ['eu-hds', HUB_COUNT_DELAY_MS],
      ['eu-hds', undefined], // its own change: at once
    ]);
    expect(HUB_COUNT_DELAY_MS).toBeGreaterThan(0);
  });

  it('wakes a policy on its own changes and resyncs, not on its status writes', () => {
    const watches = policyOn(world(), new FakeCache(), new Set());
    const p = policy('eu-hds');
    expect(wakes(watches, 'policies', 'add', p)).toEqual(['eu-hds']);
    expect(wakes(watches, 'policies', 'resync', p, p)).toEqual(['eu-hds']);
    expect(wakes(watches, 'policies', 'update', withGeneration(p, 2), p)).toEqual(['eu-hds']);
    expect(
      wakes(watches, 'policies', 'update', { ...p, status: { eligibleNodes: 4 } } as SovereigntyPolicy, p),
    ).toEqual([]);
  });

  it('wakes every policy on a node change that can change eligibility', () => {
    const c = world();
    const watches = policyOn(c, new FakeCache(), new Set());
    const eu = c.nodes.get('eu-1')!;
    expect(wakes(watches, 'nodes', 'update', withLabels(eu, {}), eu).sort()).toEqual(['de-only', 'eu-hds']);
    expect(wakes(watches, 'nodes', 'update', withVersion(eu, '5'), eu)).toEqual([]);
    expect(wakes(watches, 'nodes', 'resync', eu, eu)).toEqual([]);
  });

  it('wakes the policy of an admission object that drifted', () => {
    const drifted = new Set<string>();
    const watches = policyOn(world(), new FakeCache(), drifted);
    const obj = { metadata: { name: 'hdh-eu-hds', labels: { [LABEL_POLICY]: 'eu-hds' } } };
    expect(wakes(watches, 'admission objects', 'update', obj, obj)).toEqual([]);
    drifted.add('hdh-eu-hds');
    expect(wakes(watches, 'admission objects', 'update', obj, obj)).toEqual(['eu-hds']);
    expect(wakes(watches, 'admission objects', 'delete', { metadata: { name: 'hdh-eu-hds' } })).toEqual([]);
  });
});

describe('a pod event', () => {
  it('maps to zero hub-controller keys: no watch of the hub controller is on the pod source', () => {
    const c = world();
    const { watches } = hubOn(c);
    expect(watches.some((w) => (w.source as unknown) === c.pods)).toBe(false);
    expect(watches.map((w) => w.name)).not.toContain('pods');
  });

  it('is not a source of the keys controller\u2019s watches at all', () => {
    const c = world();
    const { watches } = keysOn(c);
    expect(watches.some((w) => (w.source as unknown) === c.pods)).toBe(false);
    expect(watches.map((w) => w.name)).not.toContain('pods');
  });

  it('wakes only the placement controller, and only for an audited namespace', () => {
    const c = world();
    const queues = {
      placement: [] as string[],
      hub: [] as string[],
      keys: [] as string[],
      policy: [] as string[],
    };
    connect((k) => queues.placement.push(k), placementOn(c));
    connect((k) => queues.hub.push(k), hubOn(c).watches);
    connect((k) => queues.keys.push(k), keysOn(c).watches);
    connect((k) => queues.policy.push(k), policyOn(c, new FakeCache(), new Set()));

    c.pods.put(pod('new', 'research', 'us-1'));
    c.pods.put(pod('new', 'plain', 'us-1'));
    // A status update of a pod (readiness): nothing to audit.
    const p = c.pods.get('research/new')!;
    c.pods.put({ ...p, status: { phase: 'Running', podIP: '10.0.0.9' } });
    c.pods.remove('research/new');
    expect(queues).toEqual({ placement: ['research', 'research'], hub: [], keys: [], policy: [] });
  });
});
