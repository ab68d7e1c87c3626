// The record of a running local cluster, kept in DIR/cluster.json.
import type { ControlPlaneBinaries } from './binaries.js';
import type { ProcessRecord } from './processes.js';

/** What `cluster up` leaves in DIR/cluster.json: enough for `down`, `status` and test harnesses. */
export interface ClusterState {
  dir: string;
  kubeconfig: string;
  server: string;
  /** etcd's client URL (tests use it to compact history). */
  etcdUrl: string;
  kubernetesVersion: string;
  binaries: ControlPlaneBinaries['paths'];
  processes: ProcessRecord[];
  /** Restarts the components that exit on their own (see supervisor.ts); absent while starting. */
  supervisor?: ProcessRecord;
  startedAt: string;
  readyAfterMs: number;
  /** The API server's audit log (JSON lines): metadata of every write request, for tests. */
  auditLog?: string;
}
