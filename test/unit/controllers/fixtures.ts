// Objects the controller tests put in the fake cluster: one policy, nodes inside and outside it,
// hubs, hub namespaces and pods; the placement and keys controllers as operator.ts composes them,
// and a key gate that records what it is asked.
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { Registry } from 'prom-client';
import {
  ConditionType,
  HEALTH_DATA_HUB,
  KEYS_FIELD_MANAGER,
  LABEL_HUB,
  PLACEMENT_FIELD_MANAGER,
  Reason,
  getCondition,
  setCondition,
  type ConditionUpdate,
  type HealthDataHub,
  type HubEncryptionStatus,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import { KeysReconciler, type KeysReconcilerDeps } from '../../../src/controllers/keys/reconciler.js';
import {
  PlacementReconciler,
  type PlacementReconcilerDeps,
} from '../../../src/controllers/placement/reconciler.js';
import type { KeyGate, KeyGateResult } from '../../../src/hub/steps/keys.js';
import { policyNamespaceLabelKey } from '../../../src/placement/admission.js';
import { PlacementMetrics } from '../../../src/placement/metrics.js';
import { Evictor } from '../../../src/placement/evictor.js';
import { createLogger } from '../../../src/runtime/logging.js';
import type { FakeCluster } from '../../support/fake-cluster.js';

export const REGION = 'topology.kubernetes.io/region';
export const JURISDICTION = 'sovereign.node-restriction.kubernetes.io/jurisdiction';
export const OPERATOR_NAMESPACE = 'hdh-system';
export const quiet = createLogger('error', 'json');

export function policy(
  name = 'eu-hds',
  spec: Partial<SovereigntyPolicy['spec']> = {},
  status?: SovereigntyPolicy['status'],
): SovereigntyPolicy {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name, uid: `uid-${name}`, generation: 1 },
    spec: {
      regions: ['fr-par', 'de-fra'],
      nodeSelectorRequirements: [{ key: JURISDICTION, operator: 'In', values: ['EU'] }],
      enforcement: 'Enforce',
      onViolation: 'Evict',
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

export function node(
  name: string,
  labels: Record<string, string>,
  opts: { ready?: boolean; unschedulable?: boolean; providerID?: string } = {},
): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, labels },
    spec: {
      ...(opts.unschedulable ? { unschedulable: true } : {}),
      ...(opts.providerID ? { providerID: opts.providerID } : {}),
    },
    status: { conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
  };
}

/** Inside eu-hds. */
export const euNode = (name = 'eu-1') => node(name, { [REGION]: 'fr-par', [JURISDICTION]: 'EU' });
/** Outside eu-hds. */
export const usNode = (name = 'us-1') => node(name, { [REGION]: 'us-east-1', [JURISDICTION]: 'US' });

/** A hub's metadata.uid, a UUID as the API server makes them (keys are only made for those). */
export function hubUid(namespaceName: string, name: string): string {
  const h = createHash('sha256').update(`${namespaceName}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function hub(
  name = 'h',
  namespace = 'research',
  spec: Partial<HealthDataHub['spec']> = {},
  extra: { generation?: number; finalizers?: string[]; status?: HealthDataHub['status'] } = {},
): HealthDataHub {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'HealthDataHub',
    metadata: {
      name,
      namespace,
      uid: hubUid(namespace, name),
      generation: extra.generation ?? 1,
      resourceVersion: '1',
      ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
    },
    spec: {
      policyName: 'eu-hds',
      storage: { size: '1Gi', storageClassName: 'enc' },
      ...spec,
    } as HealthDataHub['spec'],
    ...(extra.status ? { status: extra.status } : {}),
  };
}

/** A namespace, held to the given policies by their labels (as the labeller leaves it). */
export function namespace(name: string, policies: readonly string[] = []): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: {
        'kubernetes.io/metadata.name': name,
        ...Object.fromEntries(policies.map((p) => [policyNamespaceLabelKey(p), 'true'])),
      },
    },
  };
}

export function pod(
  name: string,
  namespaceName: string,
  nodeName: string | undefined,
  opts: { hub?: string; phase?: string; generateName?: string; grace?: number } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: namespaceName,
      uid: `uid-${namespaceName}-${name}`,
      resourceVersion: '1',
      ...(opts.generateName ? { generateName: opts.generateName } : {}),
      ...(opts.hub ? { labels: { [LABEL_HUB]: opts.hub } } : {}),
    },
    spec: {
      containers: [],
      ...(nodeName ? { nodeName } : {}),
      ...(opts.grace !== undefined ? { terminationGracePeriodSeconds: opts.grace } : {}),
    },
    status: { phase: opts.phase ?? 'Running' },
  };
}

/** The value of one series of the violations gauge (undefined: no such series). */
export async function violationsGauge(
  metrics: PlacementMetrics,
  labels: { namespace: string; hub: string },
): Promise<number | undefined> {
  const { values } = await metrics.violations.get();
  return values.find((v) => v.labels.namespace === labels.namespace && v.labels.hub === labels.hub)?.value;
}

export interface PlacementUnderTest {
  reconciler: PlacementReconciler;
  metrics: PlacementMetrics;
  evictor: Evictor;
}

/** The placement controller on the fake cluster, as operator.ts composes it. */
export function placementController(
  cluster: FakeCluster,
  over: Partial<PlacementReconcilerDeps> = {},
): PlacementUnderTest {
  const metrics = new PlacementMetrics(new Registry());
  const evictor = new Evictor(cluster.podRemoval, metrics, { operatorNamespace: OPERATOR_NAMESPACE });
  const reconciler = new PlacementReconciler({
    hubs: cluster.hubs,
    policies: cluster.policies,
    nodes: cluster.nodes,
    pods: cluster.pods,
    namespaces: cluster.namespaceLabels,
    status: cluster.status.writer(PLACEMENT_FIELD_MANAGER),
    events: cluster.events,
    evictor,
    metrics,
    log: quiet,
    liveNode: cluster.liveNode,
    operatorNamespace: OPERATOR_NAMESPACE,
    ...over,
  });
  return { reconciler, metrics, evictor };
}

/** A condition of the hub as the fake cluster has it now. */
export function conditionOf(cluster: FakeCluster, key: string, type: string) {
  return getCondition(cluster.hubs.get(key)?.status?.conditions, type);
}

export const placementOf = (cluster: FakeCluster, key: string) =>
  conditionOf(cluster, key, ConditionType.PlacementCompliant);

/** A signal that is never aborted. */
export const running = () => new AbortController().signal;

/** KeysReady as the key lifecycle reports usable keys. */
export const KEYS_READY: ConditionUpdate = {
  type: ConditionType.KeysReady,
  status: 'True',
  reason: Reason.KeyAvailable,
  message: 'key version 1 is active',
  observedGeneration: 1,
};

/** status.encryption of a hub whose first key version is active. */
export const ENCRYPTION: HubEncryptionStatus = {
  provider: 'builtin',
  keyRef: `hdh-research-h-${hubUid('research', 'h')}`,
  activeVersion: 1,
  versions: 1,
};

/** What a gate answers for a hub whose keys are ready (KeysReady of the hub's generation). */
export const keysReadyResult = (h?: HealthDataHub): KeyGateResult => ({
  ready: true,
  condition: { ...KEYS_READY, observedGeneration: h?.metadata.generation ?? 1 },
  encryption: ENCRYPTION,
});

/**
 * Writes KeysReady (and status.encryption) of a hub as the keys controller does: applied under
 * its own field manager, so that the hub controller's writes keep them.
 */
export async function reportKeys(
  cluster: FakeCluster,
  key: string,
  condition: ConditionUpdate = KEYS_READY,
  encryption: HubEncryptionStatus | undefined = ENCRYPTION,
): Promise<void> {
  const [namespaceName, name] = key.split('/') as [string, string];
  const current = getCondition(cluster.hubs.get(key)?.status?.conditions, ConditionType.KeysReady);
  const conditions = setCondition(current ? [current] : [], condition);
  await cluster.status
    .writer(KEYS_FIELD_MANAGER)
    .applyStatus(HEALTH_DATA_HUB, name, namespaceName, { conditions, ...(encryption ? { encryption } : {}) });
}

/** A key gate that records each call (`ensure ns/name`) and the signal it was given. */
export interface RecordingGate extends KeyGate {
  calls: string[];
  signals: (AbortSignal | undefined)[];
}

export function recordingGate(
  ensure: (hub: HealthDataHub) => Promise<KeyGateResult> = (h) => Promise.resolve(keysReadyResult(h)),
): RecordingGate {
  const calls: string[] = [];
  const signals: (AbortSignal | undefined)[] = [];
  return {
    calls,
    signals,
    ensure: (h, _policy, signal) => {
      calls.push(`ensure ${h.metadata.namespace}/${h.metadata.name}`);
      signals.push(signal);
      return ensure(h);
    },
    release: (h) => {
      calls.push(`release ${h.metadata.namespace}/${h.metadata.name}`);
      return Promise.resolve({ released: true });
    },
  };
}

/** The keys controller on the fake cluster, as operator.ts composes it. */
export function keysController(
  cluster: FakeCluster,
  gate: KeyGate = recordingGate(),
  over: Partial<KeysReconcilerDeps> = {},
): KeysReconciler {
  return new KeysReconciler({
    hubs: cluster.hubs,
    policies: cluster.policies,
    namespaces: cluster.namespaceLabels,
    keys: gate,
    // The class is accepted unless a test says otherwise.
    storageClassRefusal: () => undefined,
    status: cluster.status.writer(KEYS_FIELD_MANAGER),
    events: cluster.events,
    log: quiet,
    operatorNamespace: OPERATOR_NAMESPACE,
    ...over,
  });
}

export const keysOf = (cluster: FakeCluster, key: string) =>
  conditionOf(cluster, key, ConditionType.KeysReady);
