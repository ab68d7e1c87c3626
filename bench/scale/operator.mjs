// The operator as users run it: `hdh-operator run` in its own process (the built dist), with
// its metrics and probes on loopback ports; its output goes to a file of the results directory.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../dist/src/devcluster/processes.js';
import { collectGarbage, heapSnapshot } from './gc.mjs';
import { snapshot } from './metrics.mjs';
import { until } from './pool.mjs';

/**
 * `namespace`: the hubs it watches (the bare run's hubs, in another namespace, are not its own);
 * no leader election (a single process, as in development).
 */
export async function startOperator({
  packageRoot,
  kubeconfig,
  namespace,
  concurrency,
  logFile,
  cpuProfDir,
  nodeFlags = [],
  env = {},
}) {
  const [metricsPort, probesPort, inspectPort] = [
    await freeLoopbackPort(),
    await freeLoopbackPort(),
    await freeLoopbackPort(),
  ];
  const startedAt = Date.now();
  const child = spawn(
    process.execPath,
    [
      // Inactive until collectGarbage opens it (SIGUSR1), on loopback.
      `--inspect-port=127.0.0.1:${inspectPort}`,
      ...nodeFlags,
      ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
      join(packageRoot, 'dist', 'src', 'cli', 'main.js'),
      'run',
      `--kubeconfig=${kubeconfig}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${probesPort}`,
      // Simulated nodes never pull the datastore's init container image.
      '--image=hdh-operator:bench',
      '--leader-elect=false',
      `--namespace=${namespace}`,
      `--concurrency=${concurrency}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } },
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal)));
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const probe = async (path) =>
    (await globalThis.fetch(`http://127.0.0.1:${probesPort}${path}`).catch(() => undefined))?.ok;
  const op = {
    pid: child.pid,
    startedAt,
    exited,
    async scrape() {
      return snapshot(await (await globalThis.fetch(metricsUrl)).text());
    },
    /** A scrape right after a full garbage collection: the heap retained. */
    async scrapeAfterGc() {
      await collectGarbage(child.pid, inspectPort);
      return this.scrape();
    },
    /** Writes a heap snapshot (after a full garbage collection) to `file`. */
    async heapSnapshot(file) {
      await heapSnapshot(child.pid, inspectPort, file);
    },
    /** Resolves with the ms from start to the first /readyz answered 200. */
    async readyAfterMs(timeoutMs = 120_000) {
      await until('operator /readyz', () => probe('/readyz'), timeoutMs, 50);
      return Date.now() - startedAt;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      log.end();
      return code;
    },
  };
  await until('operator /healthz', () => probe('/healthz'), 60_000, 50).catch(async (e) => {
    child.kill('SIGKILL');
    throw e;
  });
  return op;
}
