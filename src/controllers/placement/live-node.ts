// The Node as the API server has it now, for decisions a lagging node cache must not make alone
// (the pod watch can run ahead of the node watch; an eviction is confirmed on a fresh read).
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { statusCode } from '../../runtime/errors.js';

/** Reads a Node by name; undefined when it is gone. */
export function liveNodeReader(
  core: Pick<CoreV1Api, 'readNode'>,
): (name: string) => Promise<V1Node | undefined> {
  return async (name) => {
    try {
      return await core.readNode({ name });
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  };
}
