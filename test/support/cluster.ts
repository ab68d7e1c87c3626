import { KubeConfig } from '@kubernetes/client-node';
import { readClusterState } from '../../src/devcluster/cluster.js';
import { workerClusterDir } from './worker-clusters.js';

export interface TestCluster {
  dir: string;
  kubeconfig: string;
  binDir: string;
  kubectl: string;
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
