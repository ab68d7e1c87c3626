// Where each Jest worker's control plane lives: worker 1 in HDH_TEST_CLUSTER_DIR itself (so a
// run in band reuses the directory as before), worker N in HDH_TEST_CLUSTER_DIR.wN.

/** Every worker's cluster directory (HDH_TEST_CLUSTERS of them). */
export function workerClusterDirs() {
  const base = process.env.HDH_TEST_CLUSTER_DIR;
  if (!base) return [];
  const n = Math.max(1, Number(process.env.HDH_TEST_CLUSTERS ?? 1));
  return Array.from({ length: n }, (_, i) => (i === 0 ? base : `${base}.w${i + 1}`));
}

/** The cluster directory of the Jest worker this code runs in (JEST_WORKER_ID is 1 in band). */
export function workerClusterDir() {
  const dirs = workerClusterDirs();
  if (!dirs.length) return undefined;
  const id = Math.max(1, Number(process.env.JEST_WORKER_ID ?? 1));
  return dirs[(id - 1) % dirs.length];
}
