import { KubeConfig } from '@kubernetes/client-node';
import { readClusterState } from '../../src/devcluster/cluster.js';

export interface TestCluster {
  dir: string;
  kubeconfig: string;
  binDir: string;
  kubectl: string;
}

/** The control plane started by the global setup of this test run. */
export function testCluster(): TestCluster {
  const dir = process.env.HDH_TEST_CLUSTER_DIR;
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
