// The operator as users run it: `hdh-operator run` in its own process (the built code), each
// with its metrics and probes on loopback ports and its output in a file of the experiment's
// directory. Every process started here is remembered by PID, and only those are ever signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/devcluster/paths.js';
import { freeLoopbackPort } from '../../src/devcluster/processes.js';
import type { RunOptions } from '../../src/cli/run.js';
import { TEST_OPERATOR_IMAGE } from '../../test/support/operator.js';

export interface OperatorSpec {
  /** Flags added to `hdh-operator run` (the kubeconfig, probes and image are set here). */
  args?: string[];
  /**
   * Informer tuning no flag sets (a shorter watch timeout, so that the staleness timer fires in
   * seconds): the process then runs the same `run` command through its module, with these options.
   */
  informer?: RunOptions['informer'];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class OperatorProcess {
  /** Set when the experiment itself ended or expects the end of this process. */
  endExpected = false;
  exitInfo: Exit | undefined;
  readonly exited: Promise<Exit>;

  constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly logFile: string,
    readonly probesUrl: string,
    readonly metricsUrl: string,
    readonly startedAt: number,
  ) {
    this.exited = new Promise((r) =>
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        r(this.exitInfo);
      }),
    );
  }

  /** The leader-election identity and User-Agent instance of this process (`<hostname>_<pid>`). */
  get identity(): string {
    return `${hostname()}_${this.pid}`;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    if (sig === 'SIGKILL' || sig === 'SIGTERM') this.endExpected = true;
    this.child.kill(sig);
  }

  /** SIGKILL (after SIGCONT, should it be paused); resolves once it is gone. */
  async kill(): Promise<Exit> {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    return this.exited;
  }

  async probe(path: '/healthz' | '/readyz'): Promise<boolean> {
    const r = await fetch(`${this.probesUrl}${path}`, { signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    );
    return !!r?.ok;
  }

  /** Polls /readyz until it answers 200 (true) or `timeoutMs` passes (false). */
  async readyWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.probe('/readyz')) return true;
      await sleep(100);
    }
    return false;
  }

  /** Write requests this process has sent (`rest_client_requests_total`, every method but GET). */
  async writesSent(): Promise<number> {
    const text = await (await fetch(this.metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
    let n = 0;
    for (const line of text.split('\n')) {
      const m = /^rest_client_requests_total\{(.*)\} (\d+)/.exec(line);
      if (m && !/method="(GET|HEAD|OPTIONS)"/.test(m[1]!)) n += Number(m[2]);
    }
    return n;
  }

  output(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

/** Lines of an operator's output that no run may have: a crash of the process or of a promise. */
export function crashLines(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => /unhandled ?rejection|uncaught ?exception|UnhandledPromiseRejection|FATAL ERROR/i.test(l));
}

class PortTaken extends Error {}

export class Operators {
  private readonly procs: OperatorProcess[] = [];
  private count = 0;

  constructor(
    private readonly kubeconfig: string,
    private readonly dir: string,
  ) {}

  get all(): readonly OperatorProcess[] {
    return this.procs;
  }

  /**
   * Starts one; resolves once its /healthz answers. A port taken between its choice and the
   * operator's bind (other processes share the machine) is chosen again.
   */
  async start(spec: OperatorSpec = {}): Promise<OperatorProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce(spec);
      } catch (e) {
        if (attempt >= 3 || !(e instanceof PortTaken)) throw e;
      }
    }
  }

  private async startOnce(spec: OperatorSpec): Promise<OperatorProcess> {
    const metricsPort = await freeLoopbackPort();
    let probesPort = await freeLoopbackPort();
    while (probesPort === metricsPort) probesPort = await freeLoopbackPort();
    const metricsBindAddress = `127.0.0.1:${metricsPort}`;
    const healthProbeBindAddress = `127.0.0.1:${probesPort}`;
    const root = packageRoot();
    const argv = spec.informer
      ? moduleRun(root, {
          kubeconfig: this.kubeconfig,
          metricsBindAddress,
          healthProbeBindAddress,
          leaderElect: false,
          logLevel: 'info',
          logFormat: 'json',
          concurrency: 4,
          image: TEST_OPERATOR_IMAGE,
          informer: spec.informer,
        })
      : [
          join(root, 'dist', 'src', 'cli', 'main.js'),
          'run',
          `--kubeconfig=${this.kubeconfig}`,
          `--metrics-bind-address=${metricsBindAddress}`,
          `--health-probe-bind-address=${healthProbeBindAddress}`,
          // Simulated nodes never pull the datastore's init container image.
          `--image=${TEST_OPERATOR_IMAGE}`,
          ...(spec.args ?? []),
        ];
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // a test runner's own options stay out of the operator
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
    if (child.pid === undefined) throw new Error('could not start the operator');
    const logFile = join(this.dir, `operator-${++this.count}-${child.pid}.log`);
    const out = createWriteStream(logFile);
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    const p = new OperatorProcess(
      child,
      child.pid,
      logFile,
      `http://${healthProbeBindAddress}`,
      `http://${metricsBindAddress}/metrics`,
      Date.now(),
    );
    void p.exited.then(() => out.end());
    this.procs.push(p);
    const deadline = Date.now() + 60_000;
    while (!(await p.probe('/healthz'))) {
      if (!p.running || Date.now() > deadline) {
        await p.kill();
        p.endExpected = true; // reported by the error below, or started again
        if (p.output().includes('EADDRINUSE')) throw new PortTaken(p.output());
        throw new Error(`the operator did not serve /healthz (see ${logFile})\n${p.output().slice(-2000)}`);
      }
      await sleep(50);
    }
    return p;
  }

  /** Ends every process started here that still runs (SIGKILL: nothing of theirs is kept). */
  async cleanup(): Promise<void> {
    await Promise.all(this.procs.filter((p) => p.running).map((p) => p.kill()));
  }
}

/** `node -e` running the `run` command's module with options no flag sets. */
function moduleRun(root: string, opts: RunOptions): string[] {
  const module = pathToFileURL(join(root, 'dist', 'src', 'cli', 'run.js')).href;
  const script =
    `const { runCommand } = await import(${JSON.stringify(module)});` +
    'process.exitCode = await runCommand(JSON.parse(process.argv[1]));';
  return ['--input-type=module', '-e', script, JSON.stringify(opts)];
}
