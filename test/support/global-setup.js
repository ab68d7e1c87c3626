// Jest loads global setup outside its module system, so this imports the built code (the
// test:cluster script builds first).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterUp } from '../../dist/src/devcluster/cluster.js';
import { assignWorkerClusterDirs } from './worker-clusters.js';
import { prepareSoftHsmConf } from './softhsm-env.js';
import { buildTools } from './tools-setup.js';

/**
 * One control plane per Jest worker (integration and e2e share them): a worker runs its files one
 * after another on its own cluster, so a test that stops the API server or relabels every node
 * disturbs no other worker's test.
 */
export default async function globalSetup(globalConfig) {
  prepareSoftHsmConf();
  // The transit tests run a real Vault dev server: build it once into the cache when missing
  // (the script returns at once when it is there, or when TEST_ASSET_VAULT names a binary).
  if (!process.env.TEST_ASSET_VAULT) {
    const built = spawnSync('bash', ['hack/build-vault.sh'], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error('building the Vault binary for the transit tests failed');
  }
  buildTools();
  if (!process.env.HDH_TEST_CLUSTER_DIR) {
    process.env.HDH_TEST_CLUSTER_DIR = mkdtempSync(join(tmpdir(), 'hdh-test-cluster-'));
    process.env.HDH_TEST_CLUSTER_DIR_OWNED = '1'; // ours to remove afterwards
  }
  const workers = globalConfig.runInBand ? 1 : Math.max(1, globalConfig.maxWorkers);
  const dirs = assignWorkerClusterDirs(workers);
  const states = await Promise.all(
    dirs.map((dir, i) =>
      clusterUp({
        dir,
        log: (l) => process.stderr.write(`[test cluster ${i + 1}] ${l}\n`),
      }),
    ),
  );
  states.forEach((state, i) =>
    process.stderr.write(
      `[test cluster ${i + 1}] Kubernetes v${state.kubernetesVersion} at ${state.server} ready in ${(state.readyAfterMs / 1000).toFixed(1)}s\n`,
    ),
  );
}
