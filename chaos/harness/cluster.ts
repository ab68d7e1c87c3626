// The experiment's own local control plane (the cached binaries, loopback only, supervised), in a
// fresh directory, and the faults it injects into its components: a signal to one recorded PID.
// A component killed is brought back by the cluster's supervisor; if the supervisor has not done
// so in time, the experiment starts exactly that component itself and says so.
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiserverReady } from '../../src/devcluster/cluster-health.js';
import {
  clusterDown,
  clusterUp,
  readClusterState,
  startComponent,
  type ClusterState,
} from '../../src/devcluster/cluster.js';
import { isOurProcess, type ProcessRecord } from '../../src/devcluster/processes.js';

export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

export interface Restart {
  pid: number;
  /** From the signal to the new process. */
  afterMs: number;
  by: 'supervisor' | 'experiment';
}

export class ChaosCluster {
  readonly kc = new KubeConfig();
  /** Components this experiment has paused (SIGSTOP) and not resumed yet. */
  private readonly paused = new Set<number>();

  private constructor(
    readonly dir: string,
    readonly initial: ClusterState,
  ) {
    this.kc.loadFromFile(initial.kubeconfig);
  }

  static async start(name: string, log: (line: string) => void): Promise<ChaosCluster> {
    const dir = mkdtempSync(join(tmpdir(), `hdh-chaos-${name}-`));
    try {
      const state = await clusterUp({ dir, log: (l) => log(`cluster: ${l}`) });
      return new ChaosCluster(dir, state);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get kubeconfig(): string {
    return this.initial.kubeconfig;
  }

  /** The API server's audit log: every write, with the User-Agent that sent it. */
  get auditLog(): string {
    if (!this.initial.auditLog) throw new Error('the local control plane records no audit log');
    return this.initial.auditLog;
  }

  state(): ClusterState {
    const s = readClusterState(this.dir);
    if (!s) throw new Error(`the cluster state in ${this.dir} is gone`);
    return s;
  }

  component(name: Component): ProcessRecord {
    const rec = this.state().processes.find((p) => p.name === name);
    if (!rec) throw new Error(`no ${name} in the cluster state`);
    return rec;
  }

  apiserverReady(): Promise<boolean> {
    return apiserverReady(this.state());
  }

  /** Sends `signal` to the component's recorded process; returns its PID. */
  signal(name: Component, signal: NodeJS.Signals): number {
    const rec = this.component(name);
    if (!isOurProcess(rec)) throw new Error(`${name} (pid ${rec.pid}) is not running`);
    process.kill(rec.pid, signal);
    if (signal === 'SIGSTOP') this.paused.add(rec.pid);
    if (signal === 'SIGCONT' || signal === 'SIGKILL') this.paused.delete(rec.pid);
    return rec.pid;
  }

  /**
   * Waits for the supervisor to replace the process `pid` of `name` (killed at `since`); after
   * `timeoutMs` starts that component itself, with its recorded flags.
   */
  async restarted(name: Component, pid: number, since: number, timeoutMs: number): Promise<Restart> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const rec = this.component(name);
      if (rec.pid !== pid && isOurProcess(rec)) {
        return { pid: rec.pid, afterMs: Date.now() - since, by: 'supervisor' };
      }
      await sleep(100);
    }
    await startComponent(this.dir, name);
    return { pid: this.component(name).pid, afterMs: Date.now() - since, by: 'experiment' };
  }

  /** Polls the API server's /readyz until it answers 200; returns the ms waited. */
  async ready(timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    while (!(await this.apiserverReady())) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`kube-apiserver not ready after ${timeoutMs} ms`);
      await sleep(100);
    }
    return Date.now() - t0;
  }

  /**
   * Stops exactly the processes of this cluster (resuming any it paused first), removes its
   * state; keeps the logs when asked and returns where they are.
   */
  async stop(keepLogs: boolean): Promise<string | undefined> {
    for (const pid of this.paused) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    this.paused.clear();
    await clusterDown(this.dir, { quiet: true, keepLogs });
    if (keepLogs) return join(this.dir, 'logs');
    rmSync(this.dir, { recursive: true, force: true });
    return undefined;
  }
}
