// The Node.js options the operator's image runs it with (ENV NODE_OPTIONS in the Dockerfile), so
// that the bench measures the operator's memory and speed as deployed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The last `ENV NODE_OPTIONS=…` of the Dockerfile (the final stage's), or '' when none. */
export function imageNodeOptions(packageRoot) {
  const dockerfile = readFileSync(join(packageRoot, 'Dockerfile'), 'utf8');
  const set = [...dockerfile.matchAll(/^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S*))\s*$/gm)].at(-1);
  return set ? (set[1] ?? set[2]) : '';
}
