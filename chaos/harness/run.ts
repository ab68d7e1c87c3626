// Runs one experiment: its own control plane and operators, the experiment, the checks every
// experiment shares (no operator ended on its own, none logged a crash), then the cleanup of
// exactly what it started, whatever happened.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ChaosCluster } from './cluster.js';
import type { Experiment, Figure, Figures, Outcome, Scale } from './experiment.js';
import { crashLines, Operators } from './operators.js';

export interface RunOptions {
  scale: Scale;
  /** This experiment's files go to `<outDir>/<name>`. */
  outDir: string;
  log?: (line: string) => void;
}

/** Cleanups of the experiments running now, for an interrupted run (SIGINT) to call. */
const running = new Set<() => Promise<void>>();

export async function cleanupRunning(): Promise<void> {
  await Promise.all([...running].map((c) => c().catch(() => undefined)));
}

export async function runExperiment(exp: Experiment, opts: RunOptions): Promise<Outcome> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const say = (l: string) => log(`[${exp.name}] ${l}`);
  const workDir = join(opts.outDir, exp.name);
  mkdirSync(workDir, { recursive: true });
  const startedAt = new Date();
  const figures: Figures = {};
  const failures: string[] = [];
  const check = (ok: boolean, failure: string) => {
    if (!ok) {
      failures.push(failure);
      say(`FAILED: ${failure}`);
    }
    return ok;
  };

  let cluster: ChaosCluster | undefined;
  let operators: Operators | undefined;
  const cleanup = async (keepLogs: boolean) => {
    await operators?.cleanup();
    return cluster?.stop(keepLogs);
  };
  const interrupted = async () => void (await cleanup(true));
  running.add(interrupted);
  let logs: string | undefined;
  try {
    say(`starting (${opts.scale} scale)`);
    cluster = await ChaosCluster.start(exp.name, say);
    operators = new Operators(cluster.kubeconfig, workDir);
    await exp.run({
      scale: opts.scale,
      cluster,
      operators,
      log: say,
      figure: (name: string, value: Figure) => void (figures[name] = value),
      check,
      workDir,
    });
  } catch (e) {
    check(false, `did not complete: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    for (const p of operators?.all ?? []) {
      check(
        p.running || p.endExpected,
        `operator pid ${p.pid} exited on its own (${p.exitInfo?.signal ?? `code ${p.exitInfo?.code}`}); ` +
          `its last lines:\n${p.output().slice(-1500)}`,
      );
      const crashes = crashLines(p.output());
      check(crashes.length === 0, `operator pid ${p.pid} logged a crash:\n${crashes.slice(0, 5).join('\n')}`);
    }
    logs = await cleanup(failures.length > 0).catch((e: unknown) => {
      check(false, `cleanup failed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    running.delete(interrupted);
  }
  const outcome: Outcome = {
    name: exp.name,
    title: exp.title,
    scale: opts.scale,
    verdict: failures.length === 0 ? 'PASS' : 'FAIL',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    figures,
    failures,
    ...(logs ? { logs } : {}),
  };
  say(`${outcome.verdict} in ${Math.round(outcome.durationMs / 1000)} s ${JSON.stringify(figures)}`);
  return outcome;
}
