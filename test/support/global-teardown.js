import { rmSync } from 'node:fs';
import { clusterDown } from '../../dist/src/devcluster/cluster.js';
import { removeSoftHsmConf } from './softhsm-env.js';

/** Runs after the tests, passed or failed. HDH_KEEP_TEST_CLUSTER=1 keeps the cluster for debugging. */
export default async function globalTeardown() {
  removeSoftHsmConf();
  const dir = process.env.HDH_TEST_CLUSTER_DIR;
  if (!dir) return;
  if (process.env.HDH_KEEP_TEST_CLUSTER === '1') {
    process.stderr.write(`[test cluster] kept running in ${dir} (hdh-operator cluster down --dir ${dir})\n`);
    return;
  }
  await clusterDown(dir);
  if (process.env.HDH_TEST_CLUSTER_DIR_OWNED === '1') {
    rmSync(dir, { recursive: true, force: true });
    delete process.env.HDH_TEST_CLUSTER_DIR;
    delete process.env.HDH_TEST_CLUSTER_DIR_OWNED;
  }
}
