// Storage fixtures for cluster tests: StorageClasses and static `local` PersistentVolumes pinned
// by node affinity to the simulated nodes. Nothing is mounted (kwok runs no kubelet); which volume
// a claim gets is decided by the real kube-scheduler (volume binding) and the PV controller.
// Names carry a run id, so fixtures of different tests never meet, and cleanup removes them all.
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  StorageV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { localVolume, noProvisionerClass } from '../../src/devcluster/storage.js';
import { eventually } from './wait.js';

/** The nodes of hack/devcluster/nodes.yaml that satisfy the sample policy eu-hds. */
export const COMPLIANT_NODES = ['eu-fr-par-1', 'eu-fr-par-2', 'eu-de-fra-1'] as const;
/** The node outside the EU that gets one volume, for location audits. */
export const US_NODE = 'us-east-1a';
/** Label on every fixture object, valued with the run id: cleanup finds them by it. */
export const FIXTURE_LABEL = 'test.hdh.sovereign.eu/storage-fixture';

export interface StorageFixtureOptions {
  /** Volumes per compliant node (default 2). */
  perNode?: number;
  /** Capacity of every volume (default 5Gi). */
  capacity?: string;
}

export interface StorageFixtures {
  runId: string;
  /** Encrypted (annotated), WaitForFirstConsumer, allowVolumeExpansion, no provisioner. */
  encryptedClass: string;
  /** The same class without the encryption attestation. */
  unencryptedClass: string;
  /** Volumes of the encrypted class on the compliant nodes, by node. */
  euVolumes: Record<string, string[]>;
  /** One volume of the encrypted class on us-east-1a. */
  usVolume: string;
  /** Pre-binds the us-east-1a volume to a claim (name and namespace), before or after it exists. */
  preBindUsVolume(namespace: string, claimName: string): Promise<void>;
  /** Deletes every volume and class of this run, whatever state they are in. */
  cleanup(): Promise<void>;
}

export async function createStorageFixtures(
  kc: KubeConfig,
  options: StorageFixtureOptions = {},
): Promise<StorageFixtures> {
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const labels = { [FIXTURE_LABEL]: runId };
  const encryptedClass = `hdh-encrypted-${runId}`;
  const unencryptedClass = `hdh-plain-${runId}`;
  const capacity = options.capacity ?? '5Gi';
  const perNode = options.perNode ?? 2;

  const fixtures: StorageFixtures = {
    runId,
    encryptedClass,
    unencryptedClass,
    euVolumes: {},
    usVolume: `hdh-${runId}-${US_NODE}`,
    async preBindUsVolume(namespace, claimName) {
      await core.patchPersistentVolume(
        { name: fixtures.usVolume, body: { spec: { claimRef: { namespace, name: claimName } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    async cleanup() {
      const selector = `${FIXTURE_LABEL}=${runId}`;
      const pvs = await core.listPersistentVolume({ labelSelector: selector });
      for (const pv of pvs.items) {
        await core.deletePersistentVolume({ name: pv.metadata!.name! }).catch(ignoreNotFound);
      }
      const classes = await storage.listStorageClass({ labelSelector: selector });
      for (const sc of classes.items) {
        await storage.deleteStorageClass({ name: sc.metadata!.name! }).catch(ignoreNotFound);
      }
      // A volume still bound stays (pv-protection) until its claim is gone: delete the claims'
      // namespace first. Waiting here makes a leak fail the test that caused it.
      await eventually(
        `storage fixtures of run ${runId} deleted`,
        async () => (await core.listPersistentVolume({ labelSelector: selector })).items.length === 0,
        90_000,
        500,
      );
    },
  };

  try {
    await storage.createStorageClass({ body: noProvisionerClass(encryptedClass, labels, true) });
    await storage.createStorageClass({ body: noProvisionerClass(unencryptedClass, labels, false) });
    for (const node of COMPLIANT_NODES) {
      fixtures.euVolumes[node] = [];
      for (let i = 0; i < perNode; i++) {
        const name = `hdh-${runId}-${node}-${i}`;
        await core.createPersistentVolume({
          body: localVolume(name, node, encryptedClass, capacity, labels),
        });
        fixtures.euVolumes[node]!.push(name);
      }
    }
    await core.createPersistentVolume({
      body: localVolume(fixtures.usVolume, US_NODE, encryptedClass, capacity, labels),
    });
  } catch (e) {
    await fixtures.cleanup().catch(() => undefined);
    throw e;
  }
  return fixtures;
}

function ignoreNotFound(e: { code?: number }): void {
  if (e.code !== 404) throw e;
}
