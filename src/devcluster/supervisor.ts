import { appendFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { releaseNodeLeases } from './nodes.js';
import { isOurProcess, startDetached, type ProcessRecord } from './processes.js';
import { readClusterState, updateClusterState } from './state.js';
import { RESTART_POLICY, restarted, superviseStep, type RestartPolicy, type Track } from './supervision.js';

// The supervisor of one local cluster: a small process `cluster up` starts detached and records
// in DIR/cluster.json; `cluster down` stops it first. It restarts the components that exit on
// their own (kube-scheduler exits on purpose when its cache disagrees with a restarted API
// server), with backoff, and leaves alone those stopped on purpose. It imports no Kubernetes
// client: it only reads the state file and /proc.

export interface SupervisorOptions {
  pollMs?: number;
  policy?: RestartPolicy;
  log?: (line: string) => void;
}

const say = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

/**
 * Starts the component again with its recorded binary, flags and log, unless the state changed
 * meanwhile (stopped on purpose, started by someone else, removed). Returns the new record.
 */
function restartComponent(dir: string, name: string, exitedPid: number): ProcessRecord | undefined {
  return updateClusterState(dir, (state) => {
    const i = state.processes.findIndex((p) => p.name === name);
    const rec = state.processes[i];
    if (!rec || rec.pid !== exitedPid || rec.stopped || isOurProcess(rec)) return undefined;
    appendFileSync(rec.log, `--- ${new Date().toISOString()} restarted by the cluster supervisor ---\n`);
    const next = startDetached(rec.name, rec.binary, rec.args, rec.log);
    state.processes[i] = next;
    return next;
  });
}

/** Watches DIR's components until the cluster is gone or another supervisor took over. */
export async function superviseCluster(dir: string, opts: SupervisorOptions = {}): Promise<void> {
  dir = resolve(dir);
  const pollMs = opts.pollMs ?? 500;
  const policy = opts.policy ?? RESTART_POLICY;
  const log = opts.log ?? say;
  const tracks = new Map<string, Track>();
  log(`supervising the cluster in ${dir} (pid ${process.pid})`);
  for (;;) {
    const state = readClusterState(dir);
    if (!state) return log('the cluster state is gone: exiting');
    if (state.supervisor && state.supervisor.pid !== process.pid) {
      return log(`superseded by the supervisor with pid ${state.supervisor.pid}: exiting`);
    }
    const now = Date.now();
    for (const rec of state.processes) {
      const obs = { pid: rec.pid, alive: isOurProcess(rec), stopped: !!rec.stopped };
      const next = superviseStep(tracks.get(rec.name), obs, now, policy);
      const step = next.step;
      let track = next.track;
      if (step.kind === 'exited' && track) {
        log(
          `${rec.name} (pid ${rec.pid}) exited on its own; restarting in ${step.delayMs / 1000} s ` +
            `(restart ${track.restarts + 1} since it was last stable; see ${rec.log})`,
        );
      } else if (step.kind === 'restart' && track) {
        const due = track;
        try {
          // Outside the state lock: kubectl may wait for a slow API server.
          if (rec.name === 'kwok') releaseNodeLeases(state.binaries.kubectl, state.kubeconfig);
          const started = restartComponent(dir, rec.name, rec.pid);
          if (started) {
            track = restarted(due, started.pid, now);
            log(`${rec.name} restarted as pid ${started.pid}`);
          } else {
            track = undefined; // the state changed under us: look again next time
          }
        } catch (e) {
          log(`${rec.name}: restart failed: ${e instanceof Error ? e.message : String(e)}`);
          track = { ...due, restartAt: now + policy.maxDelayMs };
        }
      }
      if (track) tracks.set(rec.name, track);
      else tracks.delete(rec.name);
    }
    for (const name of tracks.keys()) {
      if (!state.processes.some((p) => p.name === name)) tracks.delete(name);
    }
    await sleep(pollMs);
  }
}

const isMain = (() => {
  try {
    return (
      !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (isMain) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: supervisor.js <cluster dir>\n');
    process.exit(2);
  }
  // Stopped by `cluster down`: nothing is ever left half-done, as every change of the state file
  // happens in one synchronous step.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      say(`${sig}: exiting`);
      process.exit(0);
    });
  }
  superviseCluster(dir).then(
    () => process.exit(0),
    (e: unknown) => {
      say(`supervisor failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exit(1);
    },
  );
}
