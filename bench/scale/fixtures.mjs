// What both runs start from: the CRDs, the sample policy, the operator's namespace, and per run a
// namespace, an encrypted no-provisioner StorageClass and one static `local` volume per hub on the
// nodes that satisfy the policy (the real scheduler and PV controller bind them).
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, StorageV1Api } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, SOVEREIGNTY_POLICY } from '../../dist/src/api/index.js';
import { installCrds } from '../../dist/src/api/install-crds.js';
import { localVolume, noProvisionerClass } from '../../dist/src/devcluster/storage.js';
import { inPool } from './pool.mjs';

export const POLICY = 'eu-hds';
export const OPERATOR_NAMESPACE = 'hdh-system';
/** The nodes of hack/devcluster/nodes.yaml that satisfy the policy. */
const COMPLIANT_NODES = ['eu-fr-par-1', 'eu-fr-par-2', 'eu-de-fra-1'];
const HUB_SIZE = '1Gi';

const ignoreConflict = (e) => {
  if (e.code !== 409) throw e;
};

export async function installBase(kc, packageRoot) {
  await installCrds(kc, join(packageRoot, 'crds'));
  await kc
    .makeApiClient(CustomObjectsApi)
    .createClusterCustomObject({
      ...SOVEREIGNTY_POLICY,
      body: {
        apiVersion: SOVEREIGNTY_POLICY.apiVersion,
        kind: SOVEREIGNTY_POLICY.kind,
        metadata: { name: POLICY },
        spec: {
          regions: ['fr-par', 'eu-west-3', 'de-fra'],
          nodeSelectorRequirements: [
            { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
            { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
          ],
        },
      },
    })
    .catch(ignoreConflict);
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: OPERATOR_NAMESPACE } } })
    .catch(ignoreConflict);
}

/** The policy as the API server has it (the bare client renders with it). */
export async function readPolicy(kc) {
  return kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({ ...SOVEREIGNTY_POLICY, name: POLICY });
}

/** A namespace, a class and `hubs` volumes for one run (`name`: "operator" or "bare"). */
export async function prepareRun(kc, name, hubs, concurrency) {
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = `bench-${name}`;
  const storageClass = `bench-encrypted-${name}`;
  const labels = { 'bench.hdh.sovereign.eu/run': name };
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await kc
    .makeApiClient(StorageV1Api)
    .createStorageClass({ body: noProvisionerClass(storageClass, labels, true) });
  const volumes = Array.from({ length: hubs }, (_, i) => i);
  await inPool(volumes, Math.max(concurrency, 8), (i) =>
    core.createPersistentVolume({
      body: localVolume(
        `bench-${name}-${i}`,
        COMPLIANT_NODES[i % COMPLIANT_NODES.length],
        storageClass,
        HUB_SIZE,
        labels,
      ),
    }),
  );
  return { name, namespace, storageClass, hubNames: volumes.map(hubName) };
}

export const hubName = (i) => `hub-${String(i).padStart(5, '0')}`;

/** A minimal hub: builtin keys, one replica, the run's encrypted class. */
export function hubManifest(name, namespace, storageClassName) {
  return {
    apiVersion: HEALTH_DATA_HUB.apiVersion,
    kind: HEALTH_DATA_HUB.kind,
    metadata: { name, namespace },
    spec: { policyName: POLICY, storage: { size: HUB_SIZE, storageClassName } },
  };
}

export function createHub(kc, run, name) {
  return kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...HEALTH_DATA_HUB,
    namespace: run.namespace,
    body: hubManifest(name, run.namespace, run.storageClass),
  });
}
