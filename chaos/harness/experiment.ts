// What a chaos experiment is, and the verdict it reaches: each one states what it proves, runs on
// its own local control plane, records figures as it goes and fails on the first broken promise it
// can name (a check), or on anything it could not do (a timeout, a process that would not start).
import type { ChaosCluster } from './cluster.js';
import type { Operators } from './operators.js';

/** `small`: minutes, the size CI runs; `full`: the sizes the experiments are specified at. */
export type Scale = 'small' | 'full';
export const SCALES: readonly Scale[] = ['small', 'full'];

export type Figure = number | string | boolean | readonly number[];
export type Figures = Record<string, Figure>;

export interface Outcome {
  name: string;
  title: string;
  scale: Scale;
  verdict: 'PASS' | 'FAIL';
  startedAt: string;
  durationMs: number;
  figures: Figures;
  /** Every broken promise, each naming what was expected and what was seen. */
  failures: string[];
  /** Where the logs of a failed run were kept. */
  logs?: string;
}

export interface ExperimentContext {
  scale: Scale;
  cluster: ChaosCluster;
  operators: Operators;
  /** A progress line (stderr). */
  log: (line: string) => void;
  /** Records a figure of the outcome (last value wins). */
  figure: (name: string, value: Figure) => void;
  /** Records a failure unless `ok`; returns `ok`. */
  check: (ok: boolean, failure: string) => boolean;
  /** A directory of this experiment's own files (operator logs), kept with the summary. */
  workDir: string;
}

export interface Experiment {
  /** What `--only` takes. */
  name: string;
  title: string;
  /** One sentence: the property a PASS proves. */
  proves: string;
  run: (ctx: ExperimentContext) => Promise<void>;
}

/** Milliseconds as seconds with one decimal, for figures read by people. */
export const seconds = (ms: number) => Math.round(ms / 100) / 10;
