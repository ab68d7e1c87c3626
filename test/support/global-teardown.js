import { rmSync } from 'node:fs';
import { clusterDown } from '../../dist/src/devcluster/cluster.js';
import { removeSoftHsmConf } from './softhsm-env.js';
import { workerClusterDirs } from './worker-clusters.js';

/** Runs after the tests, passed or failed. HDH_KEEP_TEST_CLUSTER=1 keeps the clusters for debugging. */
export default async function globalTeardown() {
  removeSoftHsmConf();
  const dirs = workerClusterDirs();
  if (!dirs.length) return;
  if (process.env.HDH_KEEP_TEST_CLUSTER === '1') {
    for (const dir of dirs)
      process.stderr.write(
        `[test cluster] kept running in ${dir} (hdh-operator cluster down --dir ${dir})\n`,
      );
    return;
  }
  await Promise.all(dirs.map((dir) => clusterDown(dir)));
  if (process.env.HDH_TEST_CLUSTER_DIR_OWNED === '1') {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    delete process.env.HDH_TEST_CLUSTER_DIR;
    delete process.env.HDH_TEST_CLUSTER_DIR_OWNED;
    delete process.env.HDH_TEST_CLUSTER_DIRS;
  }
}
