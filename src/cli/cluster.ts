import { resolve } from 'node:path';
import { clusterDown, clusterStatus, clusterUp } from '../devcluster/cluster.js';

export const DEFAULT_CLUSTER_DIR = '.hdh-dev/cluster';

const say = (line: string) => process.stderr.write(`${line}\n`);

export async function clusterUpCommand(dir: string): Promise<void> {
  const state = await clusterUp({ dir, log: say });
  const kubectlDir = state.binaries.kubectl.replace(/\/kubectl$/, '');
  process.stdout.write(
    [
      `Local control plane (Kubernetes v${state.kubernetesVersion}) is ready at ${state.server}`,
      `Use it with kubectl:`,
      `  export KUBECONFIG=${state.kubeconfig}`,
      `  export PATH=${kubectlDir}:$PATH   # kubectl v${state.kubernetesVersion}`,
      `  kubectl get nodes -L topology.kubernetes.io/region,topology.kubernetes.io/zone`,
      `Logs: ${resolve(dir, 'logs')}/   Stop: hdh-operator cluster down --dir ${dir}`,
      '',
    ].join('\n'),
  );
}

export async function clusterDownCommand(dir: string): Promise<void> {
  await clusterDown(dir, { log: say });
  say(`cluster in ${resolve(dir)} stopped`);
}

export async function clusterStatusCommand(dir: string): Promise<number> {
  const s = await clusterStatus(dir);
  if (s.processes.length === 0) {
    process.stdout.write(`no cluster in ${s.dir}\n`);
    return 1;
  }
  process.stdout.write(`cluster in ${s.dir}: ${s.running ? 'running' : 'NOT healthy'}\n`);
  if (s.server) process.stdout.write(`  server      ${s.server}\n  kubeconfig  ${s.kubeconfig}\n`);
  for (const p of [...s.processes, ...(s.supervisor ? [s.supervisor] : [])]) {
    const how = p.alive ? 'running' : p.stopped ? 'stopped on purpose' : 'stopped';
    process.stdout.write(`  ${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${how}\n`);
  }
  return s.running ? 0 : 1;
}
