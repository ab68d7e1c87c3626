// The environment the operator's image runs it with (the ENV lines of the Dockerfile's final
// stage: NODE_OPTIONS, MALLOC_ARENA_MAX…), so that the bench measures its memory and speed as
// deployed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The ENV variables of the Dockerfile's last stage. */
export function imageEnv(packageRoot) {
  const dockerfile = readFileSync(join(packageRoot, 'Dockerfile'), 'utf8');
  const finalStage = dockerfile.split(/^FROM /m).at(-1);
  const env = {};
  for (const [, name, quoted, bare] of finalStage.matchAll(/^ENV (\w+)=(?:"([^"]*)"|(\S*))\s*$/gm)) {
    env[name] = quoted ?? bare;
  }
  return env;
}
