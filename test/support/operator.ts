import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
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

/** The image tests' datastores name for the unwrap-dek init container (simulated nodes never pull it). */
export const TEST_OPERATOR_IMAGE = 'hdh-operator:test';

/**
 * Runs `hdh-operator run` as its own process against the test cluster, as users run it; `env`
 * is added to the test's environment (e.g. POD_NAME and POD_NAMESPACE, as the downward API sets
 * them). Outside a Pod, `run` is told its image: --image=TEST_OPERATOR_IMAGE unless the caller
 * passes --image or POD_NAME.
 */
export async function startOperatorProcess(
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<OperatorProcess> {
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
      ...(args.some((a) => a.startsWith('--image')) || env.POD_NAME
        ? []
        : [`--image=${TEST_OPERATOR_IMAGE}`]),
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
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

/** The Lease `run --leader-elect=true` elects its leader with (src/cli/run.ts). */
export const LEADER_LEASE = 'hdh-operator-leader';

/** The flags of a process taking part in leader election: watching `namespace`, its Lease in `leaseNamespace`. */
export function leaderElectionArgs(namespace: string, leaseNamespace: string): string[] {
  return ['--leader-elect=true', `--leader-election-namespace=${leaseNamespace}`, `--namespace=${namespace}`];
}

/** The identity a process started here holds the Lease under (`<hostname>_<pid>`, as run builds it). */
export function leaderIdentity(p: OperatorProcess): string {
  return `${hostname()}_${p.child.pid}`;
}

/** Who holds the leader Lease in `leaseNamespace`. */
export async function leaseHolder(kc: KubeConfig, leaseNamespace: string): Promise<string | undefined> {
  const lease = await kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: LEADER_LEASE, namespace: leaseNamespace });
  return lease.spec?.holderIdentity;
}
