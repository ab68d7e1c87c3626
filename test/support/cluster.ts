import { KubeConfig } from '@kubernetes/client-node';
import { delimiter } from 'node:path';
import { readClusterState } from '../../src/devcluster/cluster.js';

export interface TestCluster {
  dir: string;
  kubeconfig: string;
  binDir: string;
  kubectl: string;
}

/** The directory of the control plane the global setup started for this Jest worker. */
function workerClusterDir(): string | undefined {
  // Listed by the global setup (test/support/worker-clusters.js); JEST_WORKER_ID is 1 in band.
  const dirs = (process.env.HDH_TEST_CLUSTER_DIRS ?? '').split(delimiter).filter(Boolean);
  const id = Math.max(1, Number(process.env.JEST_WORKER_ID ?? 1));
  if (dirs.length && id > dirs.length) {
    // Two workers on one control plane would disturb each other's tests without a word.
    throw new Error(
      `Jest worker ${id} has no control plane: the global setup started ${dirs.length} ` +
        `(HDH_TEST_CLUSTERS, default 2); run with --maxWorkers=${dirs.length}, or set HDH_TEST_CLUSTERS`,
    );
  }
  return dirs[id - 1];
}

/** The control plane the global setup started for this Jest worker. */
export function testCluster(): TestCluster {
  const dir = workerClusterDir();
  const state = dir ? readClusterState(dir) : undefined;
  if (!dir || !state) {
    throw new Error('no test cluster: run integration and e2e tests through jest (global setup starts one)');
  }
  return {
    dir,
    kubeconfig: state.kubeconfig,
    binDir: state.binaries.kubectl.replace(/\/kubectl$/, ''),
    kubectl: state.binaries.kubectl,
  };
}

export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testCluster().kubeconfig);
  return kc;
}
