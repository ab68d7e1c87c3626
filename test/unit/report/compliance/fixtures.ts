// A small cluster for the compliance report: one hub per case the report must tell apart.
import type {
  V1Namespace,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import type {
  Condition,
  HealthDataHub,
  HubEncryptionStatus,
  SovereigntyPolicy,
  SovereigntyPolicySpec,
} from '../../../../src/api/index.js';
import type { ComplianceSnapshot, HistoryEntry } from '../../../../src/report/compliance/index.js';

export const JURISDICTION = 'sovereign.node-restriction.kubernetes.io/jurisdiction';
export const HDS = 'sovereign.node-restriction.kubernetes.io/hds';

export function node(
  name: string,
  region: string,
  zone: string,
  extra: Record<string, string> = {},
  providerID?: string,
): V1Node {
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
    spec: providerID ? { providerID } : {},
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const EU = { [JURISDICTION]: 'EU', [HDS]: 'true' };

export const NODES: V1Node[] = [
  node('eu-fr-par-1', 'fr-par', 'fr-par-1', EU, 'kwok://fr-par/eu-fr-par-1'),
  node('eu-fr-par-2', 'fr-par', 'fr-par-2', EU),
  node('eu-de-fra-1', 'de-fra', 'de-fra-1', EU),
  node('us-east-1a', 'us-east-1', 'us-east-1a', { [JURISDICTION]: 'US' }),
];

export function policy(spec: Partial<SovereigntyPolicySpec> = {}, name = 'eu-hds'): SovereigntyPolicy {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name, generation: 3 },
    spec: {
      regions: ['fr-par', 'de-fra'],
      nodeSelectorRequirements: [
        { key: JURISDICTION, operator: 'In', values: ['EU'] },
        { key: HDS, operator: 'In', values: ['true'] },
      ],
      ...spec,
    },
  } as SovereigntyPolicy;
}

const T0 = '2025-03-01T10:00:00Z';

export function conditions(ready = true, placement = true): Condition[] {
  const c = (type: string, ok: boolean, reason: string, message: string): Condition => ({
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    lastTransitionTime: T0,
  });
  return [
    c('Ready', ready, ready ? 'Ready' : 'NotReady', ready ? 'the hub is ready' : 'a part is not ready'),
    c(
      'PlacementCompliant',
      placement,
      placement ? 'Compliant' : 'PodsOutsidePolicy',
      placement ? 'every pod is inside the policy' : 'a pod is outside the policy',
    ),
  ];
}

export const NON_EXTRACTABLE_PKCS11 = {
  verdict: 'NonExtractable' as const,
  attributes: [
    { name: 'CKA_SENSITIVE', expected: 'true', observed: 'true' },
    { name: 'CKA_EXTRACTABLE', expected: 'false', observed: 'false' },
    { name: 'CKA_ALWAYS_SENSITIVE', expected: 'true', observed: 'true' },
    { name: 'CKA_NEVER_EXTRACTABLE', expected: 'true', observed: 'true' },
  ],
  message: 'the key cannot leave the token',
};

interface HubOptions {
  policyName?: string;
  regions?: string[];
  storageClassName?: string;
  provider?: 'builtin' | 'pkcs11' | 'transit';
  encryption?: HubEncryptionStatus;
  rotationInterval?: string;
  conditions?: Condition[];
  replicas?: number;
}

export function hub(name: string, namespace: string, o: HubOptions = {}): HealthDataHub {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'HealthDataHub',
    metadata: { name, namespace, uid: `uid-${name}`, generation: 1 },
    spec: {
      policyName: o.policyName ?? 'eu-hds',
      storage: { size: '1Gi', storageClassName: o.storageClassName ?? 'encrypted' },
      datastore: { replicas: o.replicas ?? 1 },
      encryption: {
        provider: o.provider ?? 'pkcs11',
        ...(o.rotationInterval ? { rotationInterval: o.rotationInterval } : {}),
      },
      ...(o.regions ? { placement: { regions: o.regions } } : {}),
    },
    status: {
      conditions: o.conditions ?? conditions(),
      encryption: o.encryption ?? {
        provider: o.provider ?? 'pkcs11',
        keyRef: `pkcs11:token=hdh;object=hdh-${name}-uid-${name}`,
        activeVersion: 2,
        versions: 2,
        lastRotationTime: '2025-02-01T00:00:00Z',
        custody: NON_EXTRACTABLE_PKCS11,
      },
    },
  } as HealthDataHub;
}

export function pod(name: string, namespace: string, nodeName?: string, phase = 'Running'): V1Pod {
  return {
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { containers: [], ...(nodeName ? { nodeName } : {}) },
    status: { phase },
  };
}

export function ns(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { metadata: { name, labels } };
}

export function storageClass(name: string, annotations: Record<string, string> = {}): V1StorageClass {
  return {
    metadata: { name, annotations },
    provisioner: 'rancher.io/local-path',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

/** A claim bound to a `local` volume pinned to a node. */
export function bound(
  claim: string,
  namespace: string,
  nodeName: string,
  className = 'encrypted',
): [V1PersistentVolumeClaim, V1PersistentVolume] {
  const volume = `pv-${claim}`;
  return [
    {
      metadata: { name: claim, namespace },
      spec: { volumeName: volume, storageClassName: className },
      status: { phase: 'Bound', capacity: { storage: '1Gi' } },
    },
    {
      metadata: { name: volume },
      spec: {
        storageClassName: className,
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

export function entry(e: Partial<HistoryEntry> & Pick<HistoryEntry, 'time' | 'type'>): HistoryEntry {
  return { reason: e.type, message: `${e.type} at ${e.time}`, ...e };
}

/**
 * team-a/records: compliant (pkcs11, non-extractable). team-b/stray: a pod on a US node.
 * team-c/paris: a volume in de-fra while the hub keeps to fr-par. team-d/plain: a class not
 * attested encrypted. team-e/leaky: an extractable key. team-f/simple: builtin keys.
 * team-g/fresh: transit keys whose custody was not read yet.
 */
export function cluster(): ComplianceSnapshot {
  const pairs = [
    bound('data-records-0', 'team-a', 'eu-fr-par-1'),
    bound('data-stray-0', 'team-b', 'eu-fr-par-2'),
    bound('data-paris-0', 'team-c', 'eu-de-fra-1'),
    bound('data-plain-0', 'team-d', 'eu-fr-par-1', 'plain'),
    bound('data-leaky-0', 'team-e', 'eu-fr-par-2'),
    bound('data-simple-0', 'team-f', 'eu-fr-par-2'),
  ];
  const leaky = {
    ...NON_EXTRACTABLE_PKCS11,
    verdict: 'Extractable' as const,
    attributes: NON_EXTRACTABLE_PKCS11.attributes.map((a) =>
      a.name === 'CKA_EXTRACTABLE' ? { ...a, observed: 'true' } : a,
    ),
    message: 'the key can be extracted from the token',
  };
  return {
    takenAt: '2025-03-10T12:00:00Z',
    clusterUID: 'kube-system-uid',
    operator: { version: '0.1.0', source: 'Deployment hdh-system/hdh-operator image' },
    generator: { version: '0.1.0' },
    nodes: NODES,
    pods: [
      pod('records-0', 'team-a', 'eu-fr-par-1'),
      pod('web', 'team-a', 'eu-de-fra-1'),
      pod('pending', 'team-a'),
      pod('done', 'team-a', 'us-east-1a', 'Succeeded'),
      pod('stray-0', 'team-b', 'eu-fr-par-2'),
      pod('miner', 'team-b', 'us-east-1a'),
      pod('paris-0', 'team-c', 'eu-fr-par-1'),
    ],
    claims: pairs.map(([c]) => c),
    volumes: pairs.map(([, v]) => v),
    storageClasses: [
      storageClass('encrypted', { 'hdh.sovereign.eu/encrypted': 'true' }),
      storageClass('plain'),
    ],
    namespaces: ['team-a', 'team-b', 'team-c', 'team-d', 'team-e', 'team-f', 'team-g'].map((n) => ns(n)),
    hubs: [
      hub('records', 'team-a', { rotationInterval: '720h' }),
      hub('stray', 'team-b', { conditions: conditions(false, false) }),
      hub('paris', 'team-c', { regions: ['fr-par'] }),
      hub('plain', 'team-d', { storageClassName: 'plain' }),
      hub('leaky', 'team-e', {
        encryption: {
          provider: 'pkcs11',
          keyRef: 'pkcs11:leaky',
          activeVersion: 1,
          versions: 1,
          custody: leaky,
        },
      }),
      hub('simple', 'team-f', {
        provider: 'builtin',
        encryption: {
          provider: 'builtin',
          keyRef: 'hdh-system/simple-kek',
          activeVersion: 1,
          versions: 1,
          custody: { verdict: 'SecretInCluster', attributes: [], message: 'a Secret' },
        },
      }),
      hub('fresh', 'team-g', {
        provider: 'transit',
        encryption: { provider: 'transit', keyRef: 'transit/keys/hdh-fresh', activeVersion: 1, versions: 1 },
      }),
    ],
    policies: [policy()],
    histories: [
      {
        namespace: 'team-b',
        entries: [
          entry({
            time: '2025-03-01T09:00:00Z',
            type: 'Violation',
            hub: 'stray',
            hubUID: 'uid-stray',
            pod: 'old',
          }),
          entry({
            time: '2025-03-05T09:00:00Z',
            type: 'Eviction',
            hub: 'stray',
            hubUID: 'uid-stray',
            pod: 'miner-x',
            node: 'us-east-1a',
          }),
          entry({ time: '2025-03-06T09:00:00Z', type: 'Violation', hub: 'stray', hubUID: 'uid-stray' }),
          entry({ time: '2025-03-02T00:00:00Z', type: 'KeysRetained', hub: 'gone', hubUID: 'uid-gone-1' }),
          entry({ time: '2025-03-03T00:00:00Z', type: 'KeysRetained', hub: 'gone', hubUID: 'uid-gone-2' }),
          entry({ time: '2025-03-04T00:00:00Z', type: 'KeysShredded', hub: 'gone', hubUID: 'uid-gone-2' }),
          entry({
            time: '2025-02-01T00:00:00Z',
            type: 'KeysShredded',
            hub: 'ancient',
            hubUID: 'uid-ancient',
          }),
        ],
      },
    ],
  };
}

/** A copy with every list reversed and rotated: the order the API server listed things in. */
export function shuffled(s: ComplianceSnapshot): ComplianceSnapshot {
  const mix = <T>(xs: readonly T[]): T[] => {
    const r = [...xs].reverse();
    return r.length > 2 ? [...r.slice(1), r[0]!] : r;
  };
  return {
    ...s,
    nodes: mix(s.nodes),
    pods: mix(s.pods),
    claims: mix(s.claims),
    volumes: mix(s.volumes),
    storageClasses: mix(s.storageClasses),
    namespaces: mix(s.namespaces),
    hubs: mix(s.hubs).map((h) =>
      h.status?.conditions ? { ...h, status: { ...h.status, conditions: mix(h.status.conditions) } } : h,
    ),
    policies: mix(s.policies),
    histories: mix(s.histories).map((h) => ({ ...h, entries: mix(h.entries) })),
  };
}
