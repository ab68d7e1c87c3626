// Jest loads global setup outside its module system, so this imports the built code (the
// test:cluster script builds first).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterUp } from '../../dist/src/devcluster/cluster.js';
import { prepareSoftHsmConf } from './softhsm-env.js';
import { buildTools } from './tools-setup.js';

/** One control plane per test run (integration and e2e share it). */
export default async function globalSetup() {
  prepareSoftHsmConf();
  // The transit tests run a real Vault dev server: build it once into the cache when missing
  // (the script returns at once when it is there, or when TEST_ASSET_VAULT names a binary).
  if (!process.env.TEST_ASSET_VAULT) {
    const built = spawnSync('bash', ['hack/build-vault.sh'], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error('building the Vault binary for the transit tests failed');
  }
  buildTools();
  let dir = process.env.HDH_TEST_CLUSTER_DIR;
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'hdh-test-cluster-'));
    process.env.HDH_TEST_CLUSTER_DIR = dir;
    process.env.HDH_TEST_CLUSTER_DIR_OWNED = '1'; // ours to remove afterwards
  }
  const state = await clusterUp({ dir, log: (l) => process.stderr.write(`[test cluster] ${l}\n`) });
  process.stderr.write(
    `[test cluster] Kubernetes v${state.kubernetesVersion} at ${state.server} ready in ${(state.readyAfterMs / 1000).toFixed(1)}s\n`,
  );
}
