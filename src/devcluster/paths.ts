import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, found from this module whether it runs from src/ or from dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'hdh-operator') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the hdh-operator package root');
    dir = parent;
  }
}

/** Root of everything the project caches on a machine (binaries, Node, build modules). */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.HDH_CACHE_DIR ? resolve(env.HDH_CACHE_DIR) : join(homedir(), '.cache', 'hdh-operator');
}
