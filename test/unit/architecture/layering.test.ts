// The architecture's rules hold as the code changes: `npm run lint` refuses an import that breaks
// the layering (eslint.config.js), and no source file grows past 400 lines.
import { ESLint } from 'eslint';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const eslint = new ESLint({ cwd: process.cwd() });

async function importErrors(filePath: string, from: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import * as m from '${from}';\nexport const r = m;\n`, {
    filePath,
  });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering', () => {
  it.each([
    ['src/runtime/x.ts', '../api/index.js', 'runtime knows no domain word'],
    ['src/runtime/x.ts', '../hub/status.js', 'runtime knows no domain word'],
    ['src/api/x.ts', '../placement/audit.js', 'the contract depends on nothing of the domain'],
    ['src/keys/x.ts', '../placement/audit.js', 'keys stand alone'],
    ['src/keys/lifecycle/x.ts', '../../storage/claims.js', 'keys stand alone, at any depth'],
    ['src/placement/x.ts', '../keys/identity.js', 'placement does not reach into keys'],
    ['src/placement/x.ts', '../hub/status.js', 'placement does not reach up into the hub'],
    ['src/storage/x.ts', '../keys/lifecycle.js', 'storage does not reach into keys'],
    ['src/policy/x.ts', '../hub/status.js', 'policy does not reach up into the hub'],
    ['src/hub/x.ts', '../controllers/hub/reconciler.js', 'hub steps do not reach up into controllers'],
    ['src/controllers/hub/x.ts', '../../operator.js', 'controllers do not reach up into the composition'],
    ['src/controllers/hub/x.ts', '../../cli/run.js', 'controllers do not reach up into the command line'],
    [
      'src/report/x.ts',
      '../controllers/hub/reconciler.js',
      'reports use the pure verdicts, not the controllers',
    ],
    ['src/report/x.ts', '../hub/status.js', 'reports do not reach into the hub steps'],
    [
      'src/report/compliance/x.ts',
      '../../controllers/keys/reconciler.js',
      'the compliance report uses the pure verdicts, at any depth',
    ],
    ['src/placement/x.ts', '../report/what-if.js', 'the domain does not reach up into reports'],
  ])('%s may not import %s (%s)', async (file, from) => {
    expect(await importErrors(file, from)).toEqual([expect.stringContaining('layering')]);
  });

  it.each([
    ['src/runtime/x.ts', './cache.js'],
    ['src/keys/x.ts', '../api/index.js'],
    ['src/placement/x.ts', '../policy/eligibility.js'],
    ['src/hub/x.ts', '../keys/lifecycle.js'],
    ['src/controllers/hub/x.ts', '../placement/reconciler.js'],
    ['src/controllers/hub/x.ts', '../../hub/status.js'],
    ['src/operator.ts', './controllers/hub/reconciler.js'],
    ['src/report/x.ts', '../placement/audit.js'],
    ['src/report/x.ts', '../storage/volumes.js'],
    ['src/report/compliance/x.ts', '../../placement/audit.js'],
    ['src/cli/x.ts', '../report/what-if.js'],
  ])('%s may import %s', async (file, from) => {
    expect(await importErrors(file, from)).toEqual([]);
  });
});

describe('file size', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
    });

  it('no source file is over 400 lines (the generated API types excepted)', () => {
    const long = files('src')
      .filter((f) => !f.endsWith('.generated.ts'))
      .map((f) => ({ f, lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 400);
    expect(long).toEqual([]);
  });
});
