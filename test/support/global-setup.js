// Jest loads global setup outside its module system, so this imports the built code (the
// test:cluster script builds first).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from '../../dist/src/devcluster/binaries.js';
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
  // Two by default (npm run test:cluster): a control plane per core of a laptop would be too many.
  const most = Math.max(1, Number(process.env.HDH_TEST_CLUSTERS ?? 2));
  const dirs = assignWorkerClusterDirs(globalConfig.runInBand ? 1 : Math.min(globalConfig.maxWorkers, most));
  // Built (when missing) once, not by each cluster at the same time into the same directory.
  await ensureBinaries();
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
