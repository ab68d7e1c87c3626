// The summary of a chaos run: JSON for tools, Markdown for people (a table of verdicts, then each
// experiment's figures and failures).
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { controlPlaneVersions } from '../../src/devcluster/versions.js';
import { OPERATOR_VERSION } from '../../src/version.js';
import type { Experiment, Outcome, Scale } from './experiment.js';

export interface Summary {
  scale: Scale;
  startedAt: string;
  durationMs: number;
  verdict: 'PASS' | 'FAIL';
  machine: { cpus: number; cpuModel: string; memoryGiB: number; loadAverage: number[]; node: string };
  versions: { operator: string; kubernetes: string };
  experiments: (Outcome & { proves: string })[];
}

export function summarise(
  scale: Scale,
  startedAt: Date,
  outcomes: readonly Outcome[],
  experiments: readonly Experiment[],
): Summary {
  return {
    scale,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    verdict: outcomes.every((o) => o.verdict === 'PASS') ? 'PASS' : 'FAIL',
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
      node: process.version,
    },
    versions: { operator: OPERATOR_VERSION, kubernetes: controlPlaneVersions().kubernetes },
    experiments: outcomes.map((o) => ({
      ...o,
      proves: experiments.find((e) => e.name === o.name)?.proves ?? '',
    })),
  };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(s: Summary): string {
  const lines = [
    `# Chaos run: ${s.verdict}`,
    '',
    `${s.startedAt}, ${s.scale} scale, ${Math.round(s.durationMs / 1000)} s in all; ` +
      `hdh-operator ${s.versions.operator}, Kubernetes ${s.versions.kubernetes}; ` +
      `${s.machine.cpus} × ${s.machine.cpuModel}, ${s.machine.memoryGiB} GiB, Node.js ${s.machine.node}, ` +
      `load average at the end ${s.machine.loadAverage.join(' ')}.`,
    '',
    '| experiment | verdict | time (s) | proves |',
    '|---|---|---|---|',
    ...s.experiments.map(
      (e) => `| ${e.name} | **${e.verdict}** | ${Math.round(e.durationMs / 1000)} | ${cell(e.proves)} |`,
    ),
  ];
  for (const e of s.experiments) {
    lines.push('', `## ${e.name}: ${e.verdict}`, '', e.title + '.', '', '| figure | value |', '|---|---|');
    for (const [k, v] of Object.entries(e.figures)) lines.push(`| ${cell(k)} | ${cell(String(v))} |`);
    if (e.failures.length) {
      lines.push('', 'Failures:', '');
      for (const f of e.failures) lines.push(`- ${f.split('\n').join('\n  ')}`);
    }
    if (e.logs) lines.push('', `Logs kept in \`${e.logs}\`.`);
  }
  return lines.join('\n') + '\n';
}

/** Writes summary.json and summary.md into `dir`; returns their paths. */
export function writeSummary(dir: string, s: Summary): string[] {
  const json = join(dir, 'summary.json');
  const md = join(dir, 'summary.md');
  writeFileSync(json, JSON.stringify(s, null, 2) + '\n');
  writeFileSync(md, renderMarkdown(s));
  return [json, md];
}
