// The process-wide PKCS#11 side of the provider: the pkcs11js binding, loaded on first use, and
// one initialised instance per module, opened only once the module is allowed and has survived a
// probe in a separate process.
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import type * as Pkcs11 from 'pkcs11js';
import { moduleFileProblem, moduleRefusal, probeModule } from './pkcs11-modules.js';
import { ProviderUnavailableError } from './provider.js';

export type Binding = typeof Pkcs11;
export type Handle = Pkcs11.Handle;

const require = createRequire(import.meta.url);
let binding: Binding | undefined;

/** The pkcs11js binding, loaded on first use so clusters without PKCS#11 never need it. */
function loadBinding(): Binding {
  if (binding) return binding;
  try {
    binding = require('pkcs11js') as Binding;
    return binding;
  } catch (e) {
    throw new ProviderUnavailableError(
      `the PKCS#11 binding (pkcs11js) cannot be loaded: ${(e as Error).message}; ` +
        'reinstall the operator with install scripts allowed for pkcs11js so its native part is built',
      'pkcs11',
    );
  }
}

// One initialised instance per module path for the whole process: C_Initialize may be called
// once per process, and a second caller would get CKR_CRYPTOKI_ALREADY_INITIALIZED.
const modules = new Map<string, Pkcs11.PKCS11>();

/**
 * The process-wide, initialised handle of a PKCS#11 module, loaded without any check of the path:
 * providers go through openPkcs11Module.
 */
export function pkcs11Module(path: string): { lib: Pkcs11.PKCS11; pk: Binding } {
  const pk = loadBinding();
  const known = modules.get(path);
  if (known) return { lib: known, pk };
  if (!isAbsolute(path)) {
    throw new ProviderUnavailableError(
      `PKCS#11 module path ${JSON.stringify(path)} is not absolute; set spec.encryption.pkcs11.module to the library's full path`,
      'pkcs11',
    );
  }
  // A fresh instance per attempt: a failed load leaves an instance unusable.
  const lib = new pk.PKCS11();
  try {
    lib.load(path);
  } catch (e) {
    throw new ProviderUnavailableError(
      `cannot load PKCS#11 module ${path}: ${(e as Error).message}; check spec.encryption.pkcs11.module and that the library is installed in the operator's image`,
      'pkcs11',
    );
  }
  try {
    lib.C_Initialize({ flags: pk.CKF_OS_LOCKING_OK });
  } catch (e) {
    // Another library in this process (or an earlier instance) initialised it: usable as is.
    if (!(e instanceof pk.Pkcs11Error && e.code === pk.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
      throw new ProviderUnavailableError(
        `PKCS#11 module ${path} failed to initialise: ${(e as Error).message}`,
        'pkcs11',
      );
    }
  }
  modules.set(path, lib);
  return { lib, pk };
}

// Probes in flight, passed or recently failed, per path: concurrent first uses share one probe.
const probes = new Map<string, Promise<string | undefined>>();
const FAILED_PROBE_KEPT_MS = 60_000;

/**
 * The process-wide handle of an allowed module. A path the platform did not allow is refused from
 * the path alone; an allowed one is checked as a file (no pipe, device or symbolic link out of the
 * allowed list) and tried in a separate process with a timeout before this process loads it, so a
 * module that hangs or crashes does not take the operator with it.
 */
export async function openPkcs11Module(
  path: string,
  allowed: readonly string[],
): Promise<{ lib: Pkcs11.PKCS11; pk: Binding }> {
  const refused = moduleRefusal(path, allowed);
  if (refused) throw new ProviderUnavailableError(refused, 'pkcs11');
  if (modules.has(path)) return pkcs11Module(path);
  loadBinding();
  const problem = moduleFileProblem(path, allowed);
  if (problem) throw new ProviderUnavailableError(problem, 'pkcs11');
  let probe = probes.get(path);
  if (!probe) {
    probe = probeModule(path, require.resolve('pkcs11js'));
    probes.set(path, probe);
  }
  const failed = await probe;
  if (failed) {
    // Remembered for a minute, so that reconciles of hubs naming it do not each wait for a probe
    // (and hold a worker); then tried again, as the platform may have fixed the module.
    const forget = () => probes.get(path) === probe && probes.delete(path);
    setTimeout(forget, FAILED_PROBE_KEPT_MS).unref();
    throw new ProviderUnavailableError(`${failed}: check the module's installation`, 'pkcs11');
  }
  return pkcs11Module(path);
}

/** Finalises every module this process initialised (at shutdown; providers stop working). */
export function finalizePkcs11Modules(): void {
  for (const [path, lib] of modules) {
    modules.delete(path);
    try {
      lib.C_Finalize();
    } catch {
      // Shutting down: nothing useful to do with a failure here.
    }
  }
}

/** A provider-unavailable error for a failed PKCS#11 call, with the module's own words. */
export function pkcs11Unavailable(message: string, e: unknown): ProviderUnavailableError {
  return new ProviderUnavailableError(`${message} (${(e as Error)?.message ?? String(e)})`, 'pkcs11');
}
