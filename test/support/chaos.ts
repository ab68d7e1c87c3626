// The experiments of `npm run chaos` as e2e tests: the same code, at small scale, each on its own
// local control plane (they kill and pause its components). The figures go to stderr, the
// operators' logs to a directory removed when the experiment passes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Experiment, Outcome } from '../../chaos/harness/experiment.js';
import { cleanupRunning, runExperiment } from '../../chaos/harness/run.js';

/**
 * Stops what an experiment cut short (a test timeout) started: its operators and its control
 * plane, by PID. For afterAll.
 */
export const stopChaosLeftovers = cleanupRunning;

export async function runChaosExperiment(exp: Experiment): Promise<Outcome> {
  const outDir = mkdtempSync(join(tmpdir(), `hdh-chaos-e2e-${exp.name}-`));
  const outcome = await runExperiment(exp, {
    scale: 'small',
    outDir,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (outcome.verdict === 'PASS') rmSync(outDir, { recursive: true, force: true });
  else process.stderr.write(`operator logs kept in ${outDir}\n`);
  return outcome;
}
