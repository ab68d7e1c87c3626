// The command line as registered: the plugin's subcommands and hdh-operator's read-only ones,
// and arguments refused before anything is read (no cluster is involved here).
import { Command } from 'commander';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { addHdhCommands, HDH_COMMANDS } from '../../../../src/cli/hdh/commands.js';
import { annotationPatch } from '../../../../src/cli/hdh/writes.js';
import { rotationValue, rotateMessage } from '../../../../src/cli/hdh/annotate.js';
import type { Terminal } from '../../../../src/cli/hdh/terminal.js';
import type { HealthDataHub } from '../../../../src/api/index.js';

const NOWHERE = join(tmpdir(), 'no-such-kubeconfig-for-kubectl-hdh');

/** Runs `args` through a program with the commands registered; returns the exit code and output. */
async function run(
  args: string[],
  names?: Parameters<typeof addHdhCommands>[2],
): Promise<{ code: number | string | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  const term: Terminal = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    colour: false,
    interactive: false,
    ask: async () => '',
  };
  const program = new Command().name('kubectl hdh').exitOverride();
  program.configureOutput({ writeErr: (t) => void (err += t), writeOut: (t) => void (out += t) });
  addHdhCommands(program, 'kubectl hdh', names, () => term);
  for (const c of program.commands) c.exitOverride();
  process.exitCode = undefined;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    return { code: 'commander', out, err: `${err}${(e as Error).message}` };
  }
  const code = process.exitCode as number | undefined;
  process.exitCode = undefined;
  return { code, out, err };
}

describe('kubectl hdh commands', () => {
  it('registers every subcommand, and only the read-only ones for hdh-operator', () => {
    const all = new Command();
    addHdhCommands(all, 'kubectl hdh');
    expect(all.commands.map((c) => c.name())).toEqual([...HDH_COMMANDS]);
    const operator = new Command();
    addHdhCommands(operator, 'hdh-operator', ['what-if', 'status', 'report', 'verify']);
    expect(operator.commands.map((c) => c.name()).sort()).toEqual(['report', 'status', 'verify', 'what-if']);
  });

  it.each([
    [['status', '-n', 'a', '-A'], 'kubectl hdh status: give either -n NAMESPACE or -A, not both'],
    [
      ['status', 'oncology', '-A'],
      'kubectl hdh status: a hub is named within one namespace: give -n NAMESPACE, not -A',
    ],
    [['status', 'Not_A_Hub'], 'kubectl hdh status: "Not_A_Hub" is not a HealthDataHub name'],
    [['report', '--since', 'last week'], 'kubectl hdh report: --since "last week": give a duration'],
    [['report', '-n', 'a', '-A'], 'kubectl hdh report: give either -n NAMESPACE or -A, not both'],
    [['rotate', 'oncology', '-A'], "error: unknown option '-A'"],
    [
      ['adopt-keys', 'oncology', '--from-uid', 'yesterday'],
      'kubectl hdh adopt-keys: --from-uid "yesterday" is not a UID',
    ],
    [['destroy', 'oncology', '--yes'], 'kubectl hdh destroy: --yes needs --confirm-uid'],
    [['destroy', 'oncology', '--confirm-uid', 'x'], 'kubectl hdh destroy: --confirm-uid "x" is not a UID'],
    [['status', `--kubeconfig=${NOWHERE}`], `kubectl hdh status: no kubeconfig at ${NOWHERE}`],
    [['verify', join(NOWHERE, 'report.json')], 'kubectl hdh verify: REPORT'],
    [
      ['report', '--format', 'json,html'],
      'kubectl hdh report: --format json,html writes one file per format: give --out PREFIX',
    ],
  ])('refuses %j before reading the cluster', async (args, message) => {
    const r = await run(args);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack
    expect(r.code === 1 || r.code === 'commander').toBe(true);
  });

  it('prints what went wrong through the terminal sanitiser, whatever it quotes', async () => {
    const r = await run(['status', `--kubeconfig=${join(NOWHERE, 'a\u001b]0;x\u0007\u202eb')}`]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('a\\u{1b}]0;x\\u{7}\\u{202e}b');
    for (const c of ['\u001b', '\u0007', '\u202e']) expect(r.err).not.toContain(c);
  });

  it('refuses a format or output the command does not have', async () => {
    expect((await run(['report', '--format', 'pdf'])).err).toContain("argument 'pdf' is invalid");
    expect((await run(['report', '--format', 'json,pdf'])).err).toContain("argument 'json,pdf' is invalid");
    expect((await run(['status', '-o', 'yaml'])).err).toContain("argument 'yaml' is invalid");
    expect((await run(['what-if'])).err).toContain("required option '--policy <file>' not specified");
  });
});

describe('writes', () => {
  it('patch only annotations, carrying the UID of the hub that was read', () => {
    expect(annotationPatch('u-1', { 'hdh.sovereign.eu/rotate-key': 'v' })).toEqual({
      metadata: { uid: 'u-1', annotations: { 'hdh.sovereign.eu/rotate-key': 'v' } },
    });
  });

  it('carry the resourceVersion read when the write must meet the hub as shown', () => {
    expect(annotationPatch('u-1', { 'hdh.sovereign.eu/confirm-destroy': 'u-1' }, '42')).toEqual({
      metadata: {
        uid: 'u-1',
        resourceVersion: '42',
        annotations: { 'hdh.sovereign.eu/confirm-destroy': 'u-1' },
      },
    });
  });

  it('rotate always sets a new value, and says how to watch', () => {
    const now = new Date('2025-03-01T00:00:00.000Z');
    expect(rotationValue(now, undefined)).toBe('2025-03-01T00:00:00.000Z');
    expect(rotationValue(now, '2025-03-01T00:00:00.000Z')).toBe('2025-03-01T00:00:00.001Z');
    const hub = {
      metadata: { name: 'oncology', namespace: 'research' },
      spec: { suspend: true },
      status: { encryption: { activeVersion: 2 } },
    } as unknown as HealthDataHub;
    const text = rotateMessage(hub, 'v');
    expect(text).toContain('healthdatahub research/oncology: hdh.sovereign.eu/rotate-key set to v');
    expect(text).toContain('version 2 is active');
    expect(text).toContain('suspended');
    expect(text).toContain('kubectl hdh status oncology -n research');
  });
});
