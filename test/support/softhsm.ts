// Real PKCS#11 tokens for tests: SoftHSM2 with the run's private token directory (see
// softhsm-env.js), one freshly initialised token per call.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type * as Pkcs11 from 'pkcs11js';
import { pkcs11Module } from '../../src/keys/pkcs11.js';
import { ALLOWED_MODULES_FLAG, modulesAsNamed } from '../../src/keys/pkcs11-modules.js';
import { ALLOWED_TOKENS_FLAG, type AllowedToken } from '../../src/keys/pkcs11-tokens.js';

export const DEBIAN_SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  module: string;
  /** The module and the file it resolves to: what the operator must be allowed to load. */
  allowedModules: string[];
  label: string;
  /** The token's label alone: what a provider of a namespace mapped to it may use. */
  allowedTokens: string[];
  pin: string;
  soPin: string;
}

const INSTALL =
  'install the Debian package softhsm2 (apt-get install softhsm2), or set SOFTHSM2_MODULE to the path of libsofthsm2.so';

/** The SoftHSM2 module: $SOFTHSM2_MODULE or Debian's path. Throws, saying how to install it. */
export function softHsmModule(): string {
  const module = process.env.SOFTHSM2_MODULE ?? DEBIAN_SOFTHSM2_MODULE;
  if (!existsSync(module)) throw new Error(`SoftHSM2 PKCS#11 module not found at ${module}: ${INSTALL}`);
  return module;
}

/** The SoftHSM2 module and the file it resolves to (Debian's path is a symbolic link). */
export function softHsmAllowedModules(): string[] {
  return modulesAsNamed(softHsmModule());
}

/** The namespaces allowed to use `token` (ProviderDeps.pkcs11AllowedTokens). */
export function tokenFor(token: SoftHsmToken, ...namespaces: string[]): AllowedToken[] {
  return namespaces.map((namespace) => ({ namespace, label: token.label }));
}

/** The operator flag letting `namespaces` use `token`, for tests that run `hdh-operator run`. */
export function allowedTokensFlag(token: SoftHsmToken, ...namespaces: string[]): string {
  return `${ALLOWED_TOKENS_FLAG}=${namespaces.map((ns) => `${ns}/${token.label}`).join(',')}`;
}

/** The operator flag allowing the SoftHSM2 module, for tests that run `hdh-operator run`. */
export function softHsmAllowedModulesFlag(): string {
  return `${ALLOWED_MODULES_FLAG}=${softHsmAllowedModules().join(',')}`;
}

// The token directory comes from the global setup (softhsm-env.js): the module reads
// SOFTHSM2_CONF from the real environment, which test files cannot change.
function requireConf(): void {
  if (!process.env.HDH_TEST_SOFTHSM_DIR || !process.env.SOFTHSM2_CONF) {
    throw new Error('no SoftHSM2 token directory: run this test through the integration or e2e Jest project');
  }
}

function softhsm2Util(args: string[]): string {
  const r = spawnSync('softhsm2-util', args, { encoding: 'utf8', env: process.env });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`softhsm2-util not found: ${INSTALL}`);
  }
  if (r.status !== 0) throw new Error(`softhsm2-util ${args[0]} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * Initialises a new token labelled `label` (at most 32 characters) with the given PINs. Tokens are
 * never deleted during a run: SoftHSM2, loaded once per test process, fails every later slot
 * listing (CKR_GENERAL_ERROR) when a token directory it knew disappears. The run's private token
 * directory is removed by the global teardown.
 */
export function createSoftHsmToken(label: string, pin = '246813', soPin = '975310'): SoftHsmToken {
  const module = softHsmModule();
  requireConf();
  softhsm2Util(['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin]);
  return {
    module,
    allowedModules: softHsmAllowedModules(),
    label,
    allowedTokens: [label],
    pin,
    soPin,
  };
}

/**
 * Runs fn in a logged-in session on the token, through the operator's own module handle (a
 * second C_Initialize in the same process is not allowed). For checks the provider does not
 * offer, such as trying to read a key's value.
 */
export interface TokenSession {
  lib: Pkcs11.PKCS11;
  pk: typeof Pkcs11;
  session: Pkcs11.Handle;
}

export function withTokenSession<T>(token: SoftHsmToken, fn: (t: TokenSession) => T): T {
  const { lib, pk } = pkcs11Module(token.module);
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.label);
  if (!slot) throw new Error(`token ${token.label} not found`);
  const session = lib.C_OpenSession(slot, pk.CKF_SERIAL_SESSION | pk.CKF_RW_SESSION);
  try {
    loginSharingToken(lib, pk, session, token.pin);
    try {
      return fn({ lib, pk, session });
    } finally {
      try {
        lib.C_Logout(session);
      } catch {
        // fn may have ended the login (a provider logging out the process); nothing to undo.
      }
    }
  } finally {
    lib.C_CloseSession(session);
  }
}

// SoftHSM2 rewrites its token file on every login; a login racing the operator's own (another
// process, same token directory) fails with CKR_GENERAL_ERROR. Two processes logging in in a loop
// see that on about half their attempts, one alone never: retry it briefly.
const LOGIN_ATTEMPTS = 40;
const LOGIN_PAUSE_MS = 50;

function loginSharingToken(lib: Pkcs11.PKCS11, pk: typeof Pkcs11, session: Pkcs11.Handle, pin: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      lib.C_Login(session, pk.CKU_USER, pin);
      return;
    } catch (e) {
      const raced = e instanceof pk.Pkcs11Error && e.code === pk.CKR_GENERAL_ERROR;
      if (!raced || attempt >= LOGIN_ATTEMPTS) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LOGIN_PAUSE_MS);
    }
  }
}

/** Handles of the secret-key objects labelled `label` on the token. */
export function findKeyObjects({ lib, pk, session }: TokenSession, label: string): Pkcs11.Handle[] {
  lib.C_FindObjectsInit(session, [
    { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
    { type: pk.CKA_LABEL, value: label },
  ]);
  try {
    return lib.C_FindObjects(session, 10);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}
