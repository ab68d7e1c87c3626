// The formats of the report and where each is written: one to --out or standard output, several
// to PREFIX.json, PREFIX.md and PREFIX.html. Light on purpose: the command line parses --format
// with it before any client is loaded.
import { InvalidArgumentError } from 'commander';
import { UserError } from './errors.js';

export const REPORT_FORMATS = ['json', 'markdown', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The extension of each format's file when several are written. */
const EXTENSION: Record<ReportFormat, string> = { json: '.json', markdown: '.md', html: '.html' };

/** `--format json,html`: the formats asked, each once, in the order given. */
export function parseFormats(text: string): ReportFormat[] {
  const names = text.split(',').map((f) => f.trim());
  const bad = names.filter((f) => !(REPORT_FORMATS as readonly string[]).includes(f));
  if (bad.length) {
    throw new InvalidArgumentError(
      `Formats are ${REPORT_FORMATS.join(', ')}, one or several separated by commas.`,
    );
  }
  return [...new Set(names as ReportFormat[])];
}

/** One file to write (standard output when it has no path). */
export interface OutputFile {
  format: ReportFormat;
  path?: string;
}

/**
 * Where each format goes: one format to --out as given, or to standard output; several to
 * PREFIX.json, PREFIX.md and PREFIX.html, PREFIX being --out less any of those extensions.
 */
export function outputFiles(formats: readonly ReportFormat[], out: string | undefined): OutputFile[] {
  if (formats.length === 1) return [{ format: formats[0]!, ...(out !== undefined ? { path: out } : {}) }];
  if (out === undefined) {
    throw new UserError(
      `--format ${formats.join(',')} writes one file per format: give --out PREFIX (PREFIX.json, PREFIX.md, PREFIX.html)`,
    );
  }
  const extensions = Object.values(EXTENSION);
  const prefix = extensions.reduce((p, ext) => (p.endsWith(ext) ? p.slice(0, -ext.length) : p), out);
  return formats.map((format) => ({ format, path: `${prefix}${EXTENSION[format]}` }));
}
