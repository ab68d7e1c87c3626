// Failure injection on a running local cluster: stopping and restarting single components, and a
// second API server on the same etcd.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { apiserverReady, waitFor } from './cluster-health.js';
import type { ClusterState } from './cluster-types.js';
import { releaseNodeLeases } from './nodes.js';
import { freeLoopbackPort, isOurProcess, removeTree, startDetached, stopProcess } from './processes.js';
import { readClusterState, updateClusterState } from './state.js';

function requireState(dir: string): ClusterState {
  const state = readClusterState(dir);
  if (!state) throw new Error(`no cluster in ${resolve(dir)}`);
  return state;
}

/**
 * Stops one component, keeping its record so `startComponent` can bring it back (failure
 * injection). It is marked stopped on purpose first, so the supervisor leaves it down.
 */
export async function stopComponent(dir: string, name: string): Promise<void> {
  const rec = updateClusterState(dir, (state) => {
    const r = state.processes.find((p) => p.name === name);
    if (!r) throw new Error(`no component ${name} in ${state.dir}`);
    r.stopped = true;
    return r;
  });
  await stopProcess(rec);
}

/** Starts a stopped component again with its recorded flags; waits for the API server to be ready. */
export async function startComponent(dir: string, name: string, timeoutMs = 120_000): Promise<void> {
  const state = requireState(dir);
  const recorded = state.processes.find((p) => p.name === name);
  if (name === 'kwok' && recorded && !isOurProcess(recorded)) {
    releaseNodeLeases(state.binaries.kubectl, state.kubeconfig);
  }
  const rec = updateClusterState(dir, (s) => {
    const index = s.processes.findIndex((p) => p.name === name);
    const r = s.processes[index];
    if (!r) throw new Error(`no component ${name} in ${s.dir}`);
    if (isOurProcess(r)) {
      delete r.stopped;
      return r;
    }
    s.processes[index] = startDetached(r.name, r.binary, r.args, r.log);
    return s.processes[index];
  });
  if (name === 'kube-apiserver')
    await waitFor('kube-apiserver /readyz', () => apiserverReady(state), timeoutMs, rec.log);
}

/**
 * A second kube-apiserver on the same etcd, on another port: clients of the first see an outage
 * while tests keep changing the cluster through this one.
 */
export async function startApiserverReplica(
  dir: string,
  timeoutMs = 120_000,
): Promise<{ server: string; kubeconfig: string; stop: () => Promise<void> }> {
  const state = requireState(dir);
  const primary = state.processes.find((p) => p.name === 'kube-apiserver');
  if (!primary) throw new Error('no kube-apiserver recorded');
  const port = await freeLoopbackPort();
  const name = `kube-apiserver-replica-${port}`;
  const args = primary.args
    .filter((a) => !/^--(secure-port|cert-dir|audit-log-path)=/.test(a))
    .concat(
      `--secure-port=${port}`,
      `--cert-dir=${join(state.dir, 'pki', name)}`,
      `--audit-log-path=${join(state.dir, 'logs', `audit-${name}.log`)}`,
    );
  const rec = updateClusterState(dir, (s) => {
    const r = startDetached(name, primary.binary, args, join(state.dir, 'logs', `${name}.log`));
    s.processes.push(r);
    return r;
  });
  const server = `https://127.0.0.1:${port}`;
  const kubeconfig = join(state.dir, `kubeconfig-${name}`);
  writeFileSync(kubeconfig, readFileSync(state.kubeconfig, 'utf8').replace(state.server, server), {
    mode: 0o600,
  });
  await waitFor(`${name} /readyz`, () => apiserverReady({ ...state, server }), timeoutMs, rec.log);
  return {
    server,
    kubeconfig,
    stop: async () => {
      await stopComponent(dir, name);
      updateClusterState(dir, (s) => {
        s.processes = s.processes.filter((p) => p.name !== name);
      });
      removeTree(kubeconfig);
    },
  };
}
