/** Every worker's cluster directory (see worker-clusters.js). */
export function workerClusterDirs(): string[];
/** The cluster directory of the Jest worker this code runs in. */
export function workerClusterDir(): string | undefined;
