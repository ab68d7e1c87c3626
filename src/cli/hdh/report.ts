// `report` builds the compliance report from the cluster, seals it (always the digest; an
// Ed25519 signature with --sign) and renders it, in one format or several: every file of one run
// is the same sealed report, so an HTML or Markdown page shows the digest its JSON verifies with.
// `verify` checks a report file.
import { readFile, writeFile } from 'node:fs/promises';
import {
  buildComplianceReport,
  renderHtml,
  renderJson,
  renderMarkdown,
  sealReport,
  verifyReport,
  type ComplianceReport,
} from '../../report/compliance/index.js';
import { UserError } from './errors.js';
import { outputFiles, type OutputFile, type ReportFormat } from './formats.js';
import { connect } from './kubeconfig.js';
import { Reader } from './reads.js';
import { checkScope, parseSince, scopeOf, type CommonOptions } from './scope.js';
import { readComplianceSnapshot } from './snapshot.js';
import { oneLine, type Terminal } from './terminal.js';

export { outputFiles, parseFormats, type OutputFile, type ReportFormat } from './formats.js';

export interface ReportOptions extends CommonOptions {
  format: ReportFormat[];
  out?: string;
  since?: string;
  sign?: string;
  operatorNamespace: string;
}

async function readText(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new UserError(
      `${flag} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
}

/** The sealed report in the format asked. */
export function render(report: ComplianceReport, format: ReportFormat): string {
  if (format === 'markdown') return renderMarkdown(report);
  if (format === 'html') return renderHtml(report);
  return renderJson(report);
}

/** Seals with the key given, saying what is wrong with the key as the flag's fault. */
export function seal(
  report: ComplianceReport,
  signingKeyPem: string | undefined,
  keyFile?: string,
): ComplianceReport {
  try {
    return sealReport(report, signingKeyPem === undefined ? {} : { signingKeyPem });
  } catch (e) {
    throw new UserError(`--sign ${keyFile ?? ''}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** What the report command says on stderr: the digest always, and where the report went. */
export function sealNote(report: ComplianceReport, files: readonly OutputFile[]): string {
  const integrity = report.integrity!;
  const lines = [`report digest: sha256:${integrity.digest} (${integrity.canonicalization} canonical JSON)`];
  if (integrity.signature) lines.push('signed with Ed25519; the public key is embedded in the report');
  const paths = files.flatMap((f) => (f.path !== undefined ? [f.path] : []));
  if (paths.length) lines.push(`written to ${paths.join(', ')}`);
  if (report.historySource && !report.historySource.operatorFound) {
    lines.push(`warning: history from ${report.historySource.source}`);
  }
  return `${lines.map(oneLine).join('\n')}\n`;
}

/** Writes the one sealed report in each format asked. */
export async function writeReport(
  sealed: ComplianceReport,
  files: readonly OutputFile[],
  term: Terminal,
): Promise<void> {
  for (const { format, path } of files) {
    const text = render(sealed, format);
    if (path === undefined) {
      term.out(text);
      continue;
    }
    try {
      await writeFile(path, text);
    } catch (e) {
      throw new UserError(
        `--out ${path}: cannot write it (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
  }
}

export async function reportCommand(opts: ReportOptions, term: Terminal): Promise<void> {
  // Everything the user gave is checked before the cluster is read.
  checkScope(opts);
  const files = outputFiles(opts.format, opts.out);
  const now = new Date();
  const since = opts.since !== undefined ? parseSince(opts.since, now) : undefined;
  const signingKeyPem = opts.sign ? await readText('--sign', opts.sign) : undefined;
  // A bad key is told now, not after the cluster was read (sealing anything checks it).
  if (signingKeyPem !== undefined) seal({} as ComplianceReport, signingKeyPem, opts.sign);
  const connection = connect(opts);
  const namespace = scopeOf(opts, connection.namespace);
  const snapshot = await readComplianceSnapshot(new Reader(connection), namespace, {
    operatorNamespace: opts.operatorNamespace,
    history: true,
    identity: 'required',
    now: () => now,
  });
  const report = buildComplianceReport(snapshot, {
    ...(namespace ? { namespaces: [namespace] } : {}),
    ...(since ? { since } : {}),
  });
  const sealed = seal(report, signingKeyPem, opts.sign);
  await writeReport(sealed, files, term);
  term.err(sealNote(sealed, files));
}

export interface VerifyOptions {
  publicKey?: string;
}

/** `verify REPORT`: "verified" and true, or the reasons on stderr and false. */
export async function verifyCommand(file: string, opts: VerifyOptions, term: Terminal): Promise<boolean> {
  const text = await readText('REPORT', file);
  const publicKeyPem = opts.publicKey ? await readText('--public-key', opts.publicKey) : undefined;
  const result = verifyReport(text, publicKeyPem === undefined ? {} : { publicKeyPem });
  if (!result.ok) {
    // The reasons quote the file: a crafted one must not write to the terminal.
    term.err(`not verified: ${result.reasons.map(oneLine).join('; ')}\n`);
    return false;
  }
  const digest = (JSON.parse(text) as ComplianceReport).integrity!.digest;
  const how =
    result.signatureOk === undefined
      ? 'not signed: the digest shows the file is intact, not who made it'
      : publicKeyPem !== undefined
        ? `signed with the key in ${opts.publicKey}`
        : 'signed with the key embedded in the report (give --public-key to check whose it is)';
  term.out(`${oneLine(`verified: sha256:${digest}; ${how}`)}\n`);
  return true;
}
