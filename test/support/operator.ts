import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../src/devcluster/processes.js';
import { testCluster } from './cluster.js';
import { eventually } from './wait.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

export interface OperatorProcess {
  child: ChildProcess;
  metricsUrl: string;
  probesUrl: string;
  output: () => string;
  metrics: () => Promise<string>;
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Runs `hdh-operator run` as its own process against the test cluster, as users run it. */
export async function startOperatorProcess(args: string[] = []): Promise<OperatorProcess> {
  const [mPort, pPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const child = spawn(
    process.execPath,
    [
      cli,
      'run',
      // The admin kubeconfig unless the caller names another (a least-privilege identity).
      ...(args.some((a) => a.startsWith('--kubeconfig='))
        ? []
        : [`--kubeconfig=${testCluster().kubeconfig}`]),
      `--metrics-bind-address=127.0.0.1:${mPort}`,
      `--health-probe-bind-address=127.0.0.1:${pPort}`,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const metricsUrl = `http://127.0.0.1:${mPort}/metrics`;
  const probesUrl = `http://127.0.0.1:${pPort}`;
  const proc: OperatorProcess = {
    child,
    metricsUrl,
    probesUrl,
    output: () => out,
    metrics: async () => (await fetch(metricsUrl)).text(),
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  await eventually(
    'operator /healthz',
    async () => (await fetch(`${probesUrl}/healthz`).catch(() => undefined))?.ok,
    30_000,
  ).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${out}`);
  });
  return proc;
}
