// Test objects for the storage unit tests: a hub, the sample policy, classes, claims, volumes and
// the simulated nodes of the local control plane (hack/devcluster/nodes.yaml).
import type {
  V1OwnerReference,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../../src/api/index.js';
import type { NodeFacts } from '../../../src/placement/compliance.js';
import type { Labels } from '../../../src/policy/eligibility.js';

export const REGION = 'topology.kubernetes.io/region';
export const ZONE = 'topology.kubernetes.io/zone';
export const HOSTNAME = 'kubernetes.io/hostname';
export const UID = '6f1c3a52-0d7e-4a8e-9b55-2c1f0e7d9a10';

export function hub(
  spec: Partial<HealthDataHub['spec']> = {},
  metadata: HealthDataHub['metadata'] = {},
): HealthDataHub {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'HealthDataHub',
    metadata: { name: 'oncology', namespace: 'research', uid: UID, generation: 3, ...metadata },
    spec: {
      policyName: 'eu-hds',
      storage: { size: '20Gi', storageClassName: 'encrypted-eu' },
      ...spec,
    },
  };
}

export function policy(spec: Partial<SovereigntyPolicy['spec']> = {}): SovereigntyPolicy {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name: 'eu-hds' },
    spec: {
      regions: ['fr-par', 'eu-west-3', 'de-fra'],
      nodeSelectorRequirements: [
        { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
        { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
      ],
      ...spec,
    },
  };
}

export function storageClass(
  overrides: Partial<V1StorageClass> = {},
  annotations?: Record<string, string>,
): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'encrypted-eu', annotations: annotations ?? { 'hdh.sovereign.eu/encrypted': 'true' } },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
    ...overrides,
  };
}

const node = (region: string, zone: string, extra: Record<string, string> = {}): Labels => ({
  [REGION]: region,
  [ZONE]: zone,
  ...extra,
});

/** The simulated nodes, by name, with the labels kwok nodes get (and no providerID). */
export const NODES: ReadonlyMap<string, NodeFacts> = new Map(
  (
    [
      ['eu-fr-par-1', node('fr-par', 'fr-par-1')],
      ['eu-fr-par-2', node('fr-par', 'fr-par-2')],
      ['eu-de-fra-1', node('de-fra', 'de-fra-1')],
      ['eu-fr-par-uncertified', node('fr-par', 'fr-par-1')],
      ['us-east-1a', node('us-east-1', 'us-east-1a')],
      ['us-east-1b', node('us-east-1', 'us-east-1b')],
    ] as [string, Labels][]
  ).map(([name, labels]) => [name, { labels: { [HOSTNAME]: name, ...labels } }]),
);

/**
 * NODES plus `mislabelled`: labelled fr-par by a careless admin, while its providerID says the
 * machine is in us-east-1. The node verdict trusts none of its labels.
 */
export const MISLABELLED_PROVIDER_ID = 'aws:///us-east-1a/i-0123456789abcdef0';
export const NODES_WITH_MISLABELLED: ReadonlyMap<string, NodeFacts> = new Map([
  ...NODES,
  [
    'mislabelled',
    {
      labels: { [HOSTNAME]: 'mislabelled', ...node('fr-par', 'fr-par-1') },
      providerID: MISLABELLED_PROVIDER_ID,
    },
  ],
]);

export function claim(
  name: string,
  opts: {
    volumeName?: string;
    size?: string;
    capacity?: string;
    storageClassName?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: V1OwnerReference[];
    namespace?: string;
    uid?: string;
    deleting?: boolean;
  } = {},
): V1PersistentVolumeClaim {
  const bound = opts.volumeName !== undefined;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: opts.namespace ?? 'research',
      uid: opts.uid ?? `uid-${name}`,
      labels: opts.labels ?? {
        'app.kubernetes.io/managed-by': 'hdh-operator',
        'hdh.sovereign.eu/hub': 'oncology',
      },
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.ownerReferences ? { ownerReferences: opts.ownerReferences } : {}),
      ...(opts.deleting ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}),
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: opts.storageClassName ?? 'encrypted-eu',
      resources: { requests: { storage: opts.size ?? '20Gi' } },
      ...(bound ? { volumeName: opts.volumeName } : {}),
    },
    status: bound
      ? { phase: 'Bound', capacity: { storage: opts.capacity ?? opts.size ?? '20Gi' } }
      : { phase: 'Pending' },
  };
}

/** A `local` volume pinned to a node by hostname, like the e2e fixtures. */
export function localVolume(name: string, nodeName: string, capacity = '20Gi'): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: capacity },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'encrypted-eu',
      local: { path: `/mnt/hdh/${name}` },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME, operator: 'In', values: [nodeName] }] }],
        },
      },
    },
  };
}

export function volumes(...pvs: V1PersistentVolume[]): Map<string, V1PersistentVolume> {
  return new Map(pvs.map((pv) => [pv.metadata!.name!, pv]));
}
