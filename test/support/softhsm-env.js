// A private SoftHSM2 token directory for one test run. SoftHSM2 reads SOFTHSM2_CONF from the
// real process environment when first initialised, and Jest hands test files a copy of
// process.env, so the variable is set here, by the global setup, before any test file runs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Points SOFTHSM2_CONF at a fresh, empty token directory (once per run; tests never use the system's). */
export function prepareSoftHsmConf() {
  if (process.env.HDH_TEST_SOFTHSM_DIR) return;
  const dir = mkdtempSync(join(tmpdir(), 'hdh-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env.HDH_TEST_SOFTHSM_DIR = dir;
  process.env.SOFTHSM2_CONF = conf;
}

export function removeSoftHsmConf() {
  const dir = process.env.HDH_TEST_SOFTHSM_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
