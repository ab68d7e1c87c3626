// `npm run chaos`: runs the fault experiments one after the other, each on its own local control
// plane, prints PASS or FAIL with figures, writes a JSON and a Markdown summary, and exits 1 on
// any FAIL. SIGINT or SIGTERM stops exactly what the running experiment started.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../src/devcluster/paths.js';
import { parseChaosArgs } from './args.js';
import { EXPERIMENTS } from './experiments/index.js';
import type { Outcome } from './harness/experiment.js';
import { cleanupRunning, runExperiment } from './harness/run.js';
import { renderMarkdown, summarise, writeSummary } from './harness/summary.js';

async function main(argv: readonly string[]): Promise<number> {
  const args = parseChaosArgs(
    argv,
    EXPERIMENTS.map((e) => e.name),
  );
  if (args.list) {
    for (const e of EXPERIMENTS) process.stdout.write(`${e.name}\n  ${e.title}.\n  Proves: ${e.proves}.\n`);
    return 0;
  }
  const startedAt = new Date();
  const out = resolve(
    args.out ?? join(packageRoot(), '.cache', 'chaos', startedAt.toISOString().replace(/[:.]/g, '-')),
  );
  mkdirSync(out, { recursive: true });
  const selected = EXPERIMENTS.filter((e) => args.only.length === 0 || args.only.includes(e.name));
  const outcomes: Outcome[] = [];
  for (const exp of selected) {
    const outcome = await runExperiment(exp, { scale: args.scale, outDir: out });
    outcomes.push(outcome);
    process.stdout.write(`${outcome.verdict} ${exp.name} (${Math.round(outcome.durationMs / 1000)} s)\n`);
    for (const f of outcome.failures) process.stdout.write(`  - ${f}\n`);
    // Written after each experiment: an interrupted run keeps what it learnt.
    writeSummary(out, summarise(args.scale, startedAt, outcomes, EXPERIMENTS));
  }
  const summary = summarise(args.scale, startedAt, outcomes, EXPERIMENTS);
  const files = writeSummary(out, summary);
  process.stdout.write(`\n${renderMarkdown(summary)}\nwritten: ${files.join(', ')}\n`);
  return summary.verdict === 'PASS' ? 0 : 1;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`${sig}: stopping what the running experiment started\n`);
    void cleanupRunning().finally(() => process.exit(130));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
