// The production dependency set is enough: what the image installs (`npm ci --omit=dev` with the
// package's manifest and lock, and the built dist) runs `hdh-operator --version` and `hdh-operator
// run --help` from a directory where no development dependency can be found. Uses the machine's
// npm cache (offline preferred); the PKCS#11 binding compiles against the running Node's headers
// when they ship with it (npm_config_nodedir), as in the image.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};

describe('the production install', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdh-prod-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs hdh-operator --version and run --help with only the runtime dependencies', async () => {
    for (const path of ['package.json', 'package-lock.json', 'dist/src']) {
      cpSync(join(root, path), join(dir, path), { recursive: true });
    }
    const nodeDir = dirname(dirname(process.execPath));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // node-gyp and the addon's build run with this very Node.
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      ...(existsSync(join(nodeDir, 'include', 'node')) ? { npm_config_nodedir: nodeDir } : {}),
    };
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      env,
      timeout: 80_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const dep of Object.keys(pkg.dependencies))
      expect(existsSync(join(dir, 'node_modules', dep))).toBe(true);
    // Whatever the lock marks development-only is absent (typescript, jest, eslint, ...).
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => path && entry.dev)
      .map(([path]) => path);
    expect(devOnly).toEqual(expect.arrayContaining(['node_modules/typescript', 'node_modules/jest']));
    expect(devOnly.filter((path) => existsSync(join(dir, path)))).toEqual([]);

    const cli = join(dir, 'dist', 'src', 'cli', 'main.js');
    const version = await run(process.execPath, [cli, '--version'], { cwd: dir, env });
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = await run(process.execPath, [cli, 'run', '--help'], { cwd: dir, env });
    expect(help.stdout).toContain('--image <image>');
    expect(help.stdout).toContain('--pkcs11-allowed-modules');

    const { stdout } = await run('du', ['-sb', join(dir, 'node_modules')]);
    process.stderr.write(`production node_modules: ${stdout.split('\t')[0]} bytes\n`);
  }, 90_000);
});
