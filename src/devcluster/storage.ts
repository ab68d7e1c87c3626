// Storage for a cluster without a CSI driver: a `kubernetes.io/no-provisioner` StorageClass with
// WaitForFirstConsumer and static `local` volumes pinned to nodes, so the real scheduler and PV
// controller decide binding by topology. The dev command and the tests use it.
import type { V1PersistentVolume, V1StorageClass } from '@kubernetes/client-node';
import { ANNOTATION_ENCRYPTED } from '../api/index.js';
import type { SimulatedNode } from './nodes.js';

/** A no-provisioner class; `encrypted` attests encryption the way a platform team does. */
export function noProvisionerClass(
  name: string,
  labels: Record<string, string>,
  encrypted: boolean,
): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name,
      labels,
      ...(encrypted ? { annotations: { [ANNOTATION_ENCRYPTED]: 'true' } } : {}),
    },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
    reclaimPolicy: 'Retain',
  };
}

/** A static `local` volume, usable only on `node` (the scheduler reads its node affinity). */
export function localVolume(
  name: string,
  node: string,
  storageClassName: string,
  capacity: string,
  labels: Record<string, string>,
): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels },
    spec: {
      capacity: { storage: capacity },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName,
      volumeMode: 'Filesystem',
      local: { path: `/mnt/hdh/${name}` },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
          ],
        },
      },
    },
  };
}

/** The dev cluster's class, as the samples name it. */
export const DEV_STORAGE_CLASS = 'encrypted-eu';

/**
 * The dev cluster's storage: the class the samples use and `perNode` volumes on every node that
 * carries the HDS certification label, so sample hubs can bind inside the policy.
 */
export function renderDevStorage(
  nodes: readonly SimulatedNode[],
  perNode = 2,
  capacity = '20Gi',
): [V1StorageClass, ...V1PersistentVolume[]] {
  const labels = { 'app.kubernetes.io/part-of': 'hdh-dev-cluster' };
  const certified = nodes.filter((n) => n.labels['sovereign.node-restriction.kubernetes.io/hds'] === 'true');
  const volumes = certified.flatMap((n) =>
    Array.from({ length: perNode }, (_, i) =>
      localVolume(`dev-${n.name}-${i}`, n.name, DEV_STORAGE_CLASS, capacity, labels),
    ),
  );
  return [noProvisionerClass(DEV_STORAGE_CLASS, labels, true), ...volumes];
}
