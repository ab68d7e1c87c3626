// Where each Jest worker's control plane lives: worker 1 in HDH_TEST_CLUSTER_DIR itself (so a
// run in band reuses the directory as before), worker N in HDH_TEST_CLUSTER_DIR.wN. The global
// setup lists them in HDH_TEST_CLUSTER_DIRS, which test files read (test/support/cluster.ts).
import { delimiter } from 'node:path';

/** Names `n` directories from HDH_TEST_CLUSTER_DIR and lists them in HDH_TEST_CLUSTER_DIRS. */
export function assignWorkerClusterDirs(n) {
  const base = process.env.HDH_TEST_CLUSTER_DIR.replace(/\/+$/, '');
  const dirs = Array.from({ length: Math.max(1, n) }, (_, i) => (i === 0 ? base : `${base}.w${i + 1}`));
  process.env.HDH_TEST_CLUSTER_DIRS = dirs.join(delimiter);
  return dirs;
}

/** The directories the global setup assigned (none when it has not run). */
export function workerClusterDirs() {
  return (process.env.HDH_TEST_CLUSTER_DIRS ?? '').split(delimiter).filter(Boolean);
}
