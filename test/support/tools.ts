// The Go-built tools that check what the project ships with its consumers' own code, built by
// hack/build-tools.sh into the cache (the jest global setups run it). No stand-in is ever used.
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile } from '../../src/devcluster/versions.js';

export type Tool = 'helm' | 'promtool' | 'actionlint' | 'hdh-gotools';

/** The folder hack/build-tools.sh writes into (HDH_CACHE_DIR, else ~/.cache/hdh-operator). */
export function toolsBinDir(): string {
  const generation = parseEnvFile(
    readFileSync(join(process.cwd(), 'hack', 'versions.env'), 'utf8'),
  ).TOOLS_CACHE_GENERATION;
  const cacheRoot = process.env.HDH_CACHE_DIR ?? join(homedir(), '.cache', 'hdh-operator');
  return join(cacheRoot, `tools-${generation}`, 'bin');
}

/** The absolute path of a built tool; throws saying how to build it when it is missing. */
export function toolPath(tool: Tool): string {
  const path = join(toolsBinDir(), tool);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`no ${tool} at ${path}: run hack/build-tools.sh (builds it from the Go module proxy)`);
  }
  return path;
}
