// Which PKCS#11 modules may be loaded: the path check decides from the path alone (the same answer
// whether or not a file exists), and the file check refuses whatever is not a regular library
// file among the allowed paths, without opening it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEALTH_DATA_HUB, type HealthDataHub, type SovereigntyPolicy } from '../../../src/api/index.js';
import { loadSamples, samplePkcs11Modules } from '../../../src/cli/dev.js';
import { checkReferences } from '../../../src/hub/references.js';
import {
  ALLOWED_MODULES_FLAG,
  moduleFileProblem,
  moduleRefusal,
  modulesAsNamed,
  parseAllowedModules,
} from '../../../src/keys/pkcs11-modules.js';

const LIB = '/opt/hsm/lib/libvendor-pkcs11.so';

describe('parseAllowedModules (the operator flag)', () => {
  it('reads comma-separated absolute paths; empty or absent allows none', () => {
    expect(parseAllowedModules(undefined)).toEqual([]);
    expect(parseAllowedModules('')).toEqual([]);
    expect(parseAllowedModules(` ${LIB} , /usr/lib/b.so,,${LIB}`)).toEqual([LIB, '/usr/lib/b.so']);
  });

  it.each([
    ['libsofthsm2.so', /not an absolute path/],
    ['/usr/lib/../lib/a.so', /not in normal form \(write \/usr\/lib\/a.so\)/],
    ['/proc/self/fd/13', /lies under \/proc/],
    ['/dev/zero', /lies under \/dev/],
    ['/sys/kernel/x', /lies under \/sys/],
  ])('refuses %s, naming the flag', (path, why) => {
    expect(() => parseAllowedModules(`${LIB},${path}`)).toThrow(why);
    expect(() => parseAllowedModules(path)).toThrow(ALLOWED_MODULES_FLAG);
  });
});

describe('moduleRefusal (from the path alone)', () => {
  it('allows exactly the listed paths', () => {
    expect(moduleRefusal(LIB, [LIB])).toBeUndefined();
    expect(moduleRefusal(`${LIB}.1`, [LIB])).toBeDefined();
    expect(moduleRefusal('/opt/hsm/lib/../lib/libvendor-pkcs11.so', [LIB])).toBeDefined();
  });

  it('gives one message, whatever the path is, that names the flag and the allowed modules', () => {
    const paths = ['/proc/self/fd/13', '/dev/zero', '/etc/hostname', '/no/such/file.so', '/tmp/fifo'];
    const messages = new Set(paths.map((p) => moduleRefusal(p, [LIB])!.replace(JSON.stringify(p), '<m>')));
    expect([...messages]).toEqual([
      `PKCS#11 module <m> (spec.encryption.pkcs11.module) is not one the operator may load; allowed by the platform (${ALLOWED_MODULES_FLAG}): ${LIB}`,
    ]);
    expect(moduleRefusal('/etc/hostname', [])).toContain(
      `the operator flag ${ALLOWED_MODULES_FLAG} lists none`,
    );
    expect(moduleRefusal('lib.so', [LIB])).toContain('is not an absolute path');
  });

  it('refuses /proc, /dev and /sys even when listed (a list not read through the flag)', () => {
    for (const p of ['/proc/self/fd/13', '/dev/zero', '/sys/x']) expect(moduleRefusal(p, [p])).toBeDefined();
  });
});

describe('moduleFileProblem (an allowed path, checked without opening it)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pkcs11-modules-'));
    writeFileSync(join(dir, 'lib.so'), 'not really a library');
    mkdirSync(join(dir, 'a-directory'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    symlinkSync(join(dir, 'lib.so'), join(dir, 'link.so'));
    symlinkSync('/dev/zero', join(dir, 'zero.so'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a listed regular file', () => {
    const lib = join(dir, 'lib.so');
    expect(moduleFileProblem(lib, [lib])).toBeUndefined();
  });

  it('refuses a FIFO and a directory, even when listed', () => {
    for (const name of ['fifo', 'a-directory']) {
      const p = join(dir, name);
      expect(moduleFileProblem(p, [p])).toMatch(/is not a regular file/);
    }
  });

  it('follows a symbolic link only to a file that is listed too', () => {
    const link = join(dir, 'link.so');
    const target = join(dir, 'lib.so');
    expect(moduleFileProblem(link, [link])).toMatch(
      new RegExp(`resolves to ${target}, which is not allowed: list the library file itself`),
    );
    expect(moduleFileProblem(link, [link, target])).toBeUndefined();
    const zero = join(dir, 'zero.so');
    expect(moduleFileProblem(zero, [zero, '/dev/zero'])).toMatch(
      /resolves to \/dev\/zero, which is not allowed/,
    );
  });

  it('says when an allowed module is not installed', () => {
    const p = join(dir, 'missing.so');
    expect(moduleFileProblem(p, [p])).toMatch(/cannot be resolved \(ENOENT\)/);
  });

  it('refuses an unlisted path before looking at the file', () => {
    const p = join(dir, 'lib.so');
    expect(moduleFileProblem(p, [])).toBe(moduleRefusal(p, []));
  });

  it('modulesAsNamed: the path and the file it resolves to', () => {
    expect(modulesAsNamed(join(dir, 'link.so'))).toEqual([join(dir, 'link.so'), join(dir, 'lib.so')]);
    expect(modulesAsNamed(join(dir, 'lib.so'))).toEqual([join(dir, 'lib.so')]);
    expect(modulesAsNamed(join(dir, 'missing.so'))).toEqual([join(dir, 'missing.so')]);
  });
});

describe('checkReferences: a hub naming a module the platform did not allow', () => {
  const policy = {
    metadata: { name: 'eu-hds' },
    spec: { regions: ['fr-par'], keyProviders: ['pkcs11'] },
  } as unknown as SovereigntyPolicy;
  const hub = (module: string): HealthDataHub =>
    ({
      apiVersion: HEALTH_DATA_HUB.apiVersion,
      kind: HEALTH_DATA_HUB.kind,
      metadata: { name: 'h', namespace: 'ten', generation: 3 },
      spec: {
        policyName: 'eu-hds',
        storage: { size: '1Gi', storageClassName: 'c' },
        encryption: {
          provider: 'pkcs11',
          pkcs11: { module, tokenLabel: 't', pinSecretRef: { name: 'p', key: 'pin' } },
        },
      },
    }) as HealthDataHub;

  it('is KeysReady=False, Pkcs11ModuleNotAllowed, with a message naming the flag', () => {
    const [failure, ...rest] = checkReferences(hub('/proc/self/fd/13'), policy, {
      pkcs11AllowedModules: [LIB],
      pkcs11AllowedTokens: [{ namespace: 'ten', label: 't' }],
    });
    expect(rest).toEqual([]);
    expect(failure).toMatchObject({
      type: 'KeysReady',
      status: 'False',
      reason: 'Pkcs11ModuleNotAllowed',
      observedGeneration: 3,
    });
    expect(failure!.message).toContain(ALLOWED_MODULES_FLAG);
    expect(failure!.message).toContain('set spec.encryption.pkcs11.module to an allowed module');
  });

  it('allows none by default (nor any token), and passes a listed module', () => {
    expect(checkReferences(hub(LIB), policy).map((f) => f.reason)).toEqual([
      'Pkcs11ModuleNotAllowed',
      'Pkcs11TokenNotAllowed',
    ]);
    const token = [{ namespace: 'ten', label: 't' }];
    expect(
      checkReferences(hub(LIB), policy, { pkcs11AllowedModules: [LIB], pkcs11AllowedTokens: token }),
    ).toEqual([]);
  });
});

describe('hdh-operator dev: the user is the platform team', () => {
  it('allows the modules the sample hubs name, and the files they resolve to', () => {
    const samples = loadSamples(join(process.cwd(), 'config', 'samples'), 'research');
    const allowed = samplePkcs11Modules(samples);
    expect(allowed[0]).toBe('/usr/lib/softhsm/libsofthsm2.so');
    expect(allowed).toEqual(modulesAsNamed('/usr/lib/softhsm/libsofthsm2.so'));
  });
});
