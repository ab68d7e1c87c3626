// `report` writes one sealed report in one or several formats, so a printed page can be tied to
// its JSON by the digest; `verify` prints what it read from a file only through the terminal
// sanitiser, so a crafted file cannot make its refusal look like a success.
import { InvalidArgumentError } from 'commander';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../../src/cli/hdh/errors.js';
import {
  outputFiles,
  parseFormats,
  sealNote,
  verifyCommand,
  writeReport,
} from '../../../../src/cli/hdh/report.js';
import type { Terminal } from '../../../../src/cli/hdh/terminal.js';
import {
  buildComplianceReport,
  renderJson,
  sealReport,
  verifyReport,
} from '../../../../src/report/compliance/index.js';
import { cluster } from '../../report/compliance/fixtures.js';

function terminal(): Terminal & { text: { out: string; err: string } } {
  const text = { out: '', err: '' };
  return {
    text,
    out: (t) => void (text.out += t),
    err: (t) => void (text.err += t),
    colour: false,
    interactive: false,
    ask: async () => '',
  };
}

describe('--format', () => {
  it('takes one format or several, separated by commas, each once', () => {
    expect(parseFormats('json')).toEqual(['json']);
    expect(parseFormats('json,html,markdown')).toEqual(['json', 'html', 'markdown']);
    expect(parseFormats('html, json,html')).toEqual(['html', 'json']);
  });

  it.each(['pdf', 'json,pdf', '', 'json,'])('refuses %j', (text) => {
    expect(() => parseFormats(text)).toThrow(InvalidArgumentError);
  });
});

describe('outputFiles', () => {
  it('writes one format to standard output or to the file --out names, as given', () => {
    expect(outputFiles(['html'], undefined)).toEqual([{ format: 'html' }]);
    expect(outputFiles(['html'], 'x.html')).toEqual([{ format: 'html', path: 'x.html' }]);
    expect(outputFiles(['json'], 'report')).toEqual([{ format: 'json', path: 'report' }]);
  });

  it('writes several formats to PREFIX.json, PREFIX.md and PREFIX.html', () => {
    expect(outputFiles(['json', 'html', 'markdown'], 'audit/2025-03')).toEqual([
      { format: 'json', path: 'audit/2025-03.json' },
      { format: 'html', path: 'audit/2025-03.html' },
      { format: 'markdown', path: 'audit/2025-03.md' },
    ]);
    // An extension given with the prefix is not doubled.
    expect(outputFiles(['json', 'html'], 'audit/report.html').map((f) => f.path)).toEqual([
      'audit/report.json',
      'audit/report.html',
    ]);
  });

  it('refuses several formats without --out', () => {
    expect(() => outputFiles(['json', 'html'], undefined)).toThrow(UserError);
  });
});

describe('writeReport', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hdh-report-out-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every format of the one sealed report: the page shows the digest the JSON verifies with', async () => {
    const sealed = sealReport(buildComplianceReport(cluster()));
    const files = outputFiles(['json', 'html', 'markdown'], join(dir, 'report'));
    const term = terminal();
    await writeReport(sealed, files, term);
    expect(term.text.out).toBe('');
    const json = readFileSync(join(dir, 'report.json'), 'utf8');
    expect(json).toBe(renderJson(sealed));
    expect(verifyReport(json).ok).toBe(true);
    for (const page of ['report.html', 'report.md']) {
      expect(readFileSync(join(dir, page), 'utf8')).toContain(sealed.integrity!.digest);
    }
    expect(sealNote(sealed, files)).toBe(
      `report digest: sha256:${sealed.integrity!.digest} (RFC8785 canonical JSON)\n` +
        `written to ${join(dir, 'report.json')}, ${join(dir, 'report.html')}, ${join(dir, 'report.md')}\n`,
    );
  });

  it('writes one format to standard output', async () => {
    const sealed = sealReport(buildComplianceReport(cluster()));
    const term = terminal();
    await writeReport(sealed, [{ format: 'json' }], term);
    expect(term.text.out).toBe(renderJson(sealed));
  });
});

describe('verifyCommand', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hdh-verify-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the reasons a crafted file gives through the sanitiser: no escape reaches the terminal', async () => {
    const sealed = sealReport(buildComplianceReport(cluster()));
    const disguise = '\u001b[2K\r\u001b[32mverified\u001b[0m';
    const file = join(dir, 'report.json');
    writeFileSync(
      file,
      renderJson({ ...sealed, integrity: { ...sealed.integrity!, canonicalization: disguise } }),
    );
    const term = terminal();
    expect(await verifyCommand(file, {}, term)).toBe(false);
    expect(term.text.out).toBe('');
    expect(term.text.err).toMatch(/^not verified: unknown canonicalization/);
    for (const c of ['\u001b', '\r']) expect(term.text.err).not.toContain(c);
    expect(term.text.err).toContain('\\u{1b}[2K\\u{d}\\u{1b}[32mverified');
  });
});
