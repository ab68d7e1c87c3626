import { join, resolve } from 'node:path';
import type { ClusterState } from './cluster-types.js';
import { readJson, withFileLock, writeJson } from './processes.js';

// DIR/cluster.json is changed by more than one process (the CLI or a test harness, and the
// cluster's supervisor): every read-change-write goes through `updateClusterState`.

export const stateFile = (dir: string) => join(dir, 'cluster.json');
export const stateLockFile = (dir: string) => join(dir, 'cluster.json.lock');

export function readClusterState(dir: string): ClusterState | undefined {
  return readJson<ClusterState>(stateFile(resolve(dir)));
}

/** Writes the whole state; only for the process that owns the cluster while it starts it. */
export function writeClusterState(state: ClusterState): void {
  writeJson(stateFile(state.dir), state);
}

/** Reads, changes and writes DIR/cluster.json under its lock; `change` returns a value to pass on. */
export function updateClusterState<T>(dir: string, change: (state: ClusterState) => T): T {
  dir = resolve(dir);
  return withFileLock(stateLockFile(dir), () => {
    const state = readClusterState(dir);
    if (!state) throw new Error(`no cluster in ${dir}`);
    const result = change(state);
    writeJson(stateFile(dir), state);
    return result;
  });
}
