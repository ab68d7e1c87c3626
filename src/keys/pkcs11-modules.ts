// Which PKCS#11 modules the operator may load. A module is a shared library loaded into the
// operator's own process, and a hub's spec (which a tenant writes) names it. Loading it reads the
// file on the main thread: a pipe, a FIFO or a device would block every hub, the probes and
// shutdown. So the platform names the modules (--pkcs11-allowed-modules) and anything else is
// refused from the path alone, before the filesystem is touched: the refusal never tells whether
// a file exists.
import { spawn } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, posix } from 'node:path';

export const ALLOWED_MODULES_FLAG = '--pkcs11-allowed-modules';

// Pseudo-filesystems: their files are not libraries, and reading some of them never ends.
const FORBIDDEN_ROOTS = ['/proc', '/dev', '/sys'];

/** How long an allowed module may take to load and initialise in the probe process. */
const MODULE_PROBE_TIMEOUT_MS = 10_000;

function underForbiddenRoot(path: string): string | undefined {
  return FORBIDDEN_ROOTS.find((root) => path === root || path.startsWith(`${root}/`));
}

/**
 * The allowed modules of the flag's value: comma-separated absolute paths of library files, none
 * under /proc, /dev or /sys. Empty or absent: no module is allowed. Throws saying what to fix.
 */
export function parseAllowedModules(value: string | readonly string[] | undefined): string[] {
  const items = (typeof value === 'string' ? value.split(',') : (value ?? [])).map((p) => p.trim());
  const paths = items.filter((p) => p.length > 0);
  for (const p of paths) {
    const why = !isAbsolute(p)
      ? 'is not an absolute path'
      : posix.normalize(p) !== p
        ? `is not in normal form (write ${posix.normalize(p)})`
        : underForbiddenRoot(p)
          ? `lies under ${underForbiddenRoot(p)}, which holds no libraries`
          : undefined;
    if (why) {
      throw new Error(
        `${ALLOWED_MODULES_FLAG}: ${JSON.stringify(p)} ${why}; list the modules' library files`,
      );
    }
  }
  return [...new Set(paths)];
}

/**
 * `module` and, when it is a symbolic link, the file it resolves to: the list for a module that
 * was already checked against the platform's (the datastore's init container runs the module the
 * operator rendered into its pod). The file checks and the probe still apply.
 */
export function modulesAsNamed(module: string): string[] {
  try {
    const real = realpathSync(module);
    return real === module ? [module] : [module, real];
  } catch {
    return [module];
  }
}

/**
 * Why `module` may not be loaded, or undefined when the platform allows it. Decided from the path
 * alone (pure), so the answer is the same whether or not such a file exists.
 */
export function moduleRefusal(module: string, allowed: readonly string[]): string | undefined {
  if (allowed.includes(module) && !underForbiddenRoot(module)) return undefined;
  const what = `PKCS#11 module ${JSON.stringify(module)} (spec.encryption.pkcs11.module)`;
  const fix = allowed.length
    ? `is not one the operator may load; allowed by the platform (${ALLOWED_MODULES_FLAG}): ${allowed.join(', ')}`
    : `is not one the operator may load: the platform allows no module (the operator flag ${ALLOWED_MODULES_FLAG} lists none)`;
  return `${what} ${isAbsolute(module) ? '' : 'is not an absolute path and '}${fix}`;
}

/**
 * Checks the file behind an allowed path without opening it: after resolving symbolic links it
 * must be an allowed path too, outside /proc, /dev and /sys, and a regular file. Returns what is
 * wrong (for the platform team: the path is theirs), or undefined.
 */
export function moduleFileProblem(module: string, allowed: readonly string[]): string | undefined {
  const refused = moduleRefusal(module, allowed);
  if (refused) return refused;
  const fix = `fix the module's installation or ${ALLOWED_MODULES_FLAG}`;
  let real: string;
  try {
    real = realpathSync(module);
  } catch (e) {
    return `allowed PKCS#11 module ${module} cannot be resolved (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${fix}`;
  }
  if (real !== module && (!allowed.includes(real) || underForbiddenRoot(real))) {
    return `allowed PKCS#11 module ${module} resolves to ${real}, which is not allowed: list the library file itself in ${ALLOWED_MODULES_FLAG} too`;
  }
  try {
    if (!statSync(real).isFile()) return `allowed PKCS#11 module ${module} is not a regular file: ${fix}`;
  } catch (e) {
    return `allowed PKCS#11 module ${module} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${fix}`;
  }
  return undefined;
}

// Loads the module, initialises and finalises it; exits 0 when all went well. Run with
// `node -e`, so the binding is named by its resolved path.
const PROBE = `
const [binding, module] = process.argv.slice(1);
const pk = require(binding);
const lib = new pk.PKCS11();
lib.load(module);
try {
  lib.C_Initialize({ flags: pk.CKF_OS_LOCKING_OK });
} catch (e) {
  if (e.code !== pk.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
}
lib.C_Finalize();
`;

// Probe processes still running. A hung one is killed when this process exits: nothing else would
// end it outside a container.
const running = new Set<ReturnType<typeof spawn>>();
let killOnExit = false;

/** Ends the probes still running (they report failure): the operator is shutting down. */
export function stopModuleProbes(): void {
  for (const c of running) c.kill('SIGKILL');
}

/**
 * Loads `module` once in a separate process (dlopen, C_Initialize, C_Finalize) and resolves with
 * what went wrong, or undefined. A module that hangs or crashes there is killed after `timeoutMs`
 * and never reaches the operator's process. A process, not a worker thread: a thread stuck in
 * native code cannot be stopped, and the process would wait for it when exiting.
 */
export function probeModule(
  module: string,
  bindingPath: string,
  timeoutMs = MODULE_PROBE_TIMEOUT_MS,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', PROBE, bindingPath, module], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.add(child);
    if (!killOnExit) {
      killOnExit = true;
      process.once('exit', stopModuleProbes);
    }
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(
        `PKCS#11 module ${module} did not load and initialise within ${timeoutMs / 1000} s; it is not loaded into the operator`,
      );
    }, timeoutMs);
    child.on('error', (e) => {
      running.delete(child);
      clearTimeout(timer);
      resolve(`cannot start a process to try PKCS#11 module ${module}: ${e.message}`);
    });
    child.on('exit', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      if (code === 0) return resolve(undefined);
      // The last error line the module or the binding printed, without the stack.
      const line = stderr
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /Error/.test(l) && !l.startsWith('at '))
        .pop();
      resolve(
        `PKCS#11 module ${module} failed to load or initialise (${line ?? (signal ? `killed by ${signal}` : `exit code ${code}`)}); it is not loaded into the operator`,
      );
    });
  });
}
