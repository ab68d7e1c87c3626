// Writes to a hub's PersistentVolumeClaims. Each one acts only on what it was computed from: the
// patches carry `test` operations (src/storage/patch.ts) and a deletion carries a UID
// precondition, so a claim changed or recreated meanwhile is refused (422/409), never clobbered.
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ApiClients } from '../../runtime/client.js';
import { statusCode } from '../../runtime/errors.js';
import type { JsonPatchOp } from '../../storage/patch.js';

export class ClaimWriter {
  private readonly core: CoreV1Api;

  constructor(clients: ApiClients) {
    this.core = clients.make(CoreV1Api);
  }

  async patch(namespace: string, name: string, patch: JsonPatchOp[]): Promise<void> {
    await this.core.patchNamespacedPersistentVolumeClaim(
      { namespace, name, body: patch },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  }

  /** Deletes the claim if it is still the one with `uid`; a claim already gone counts as deleted. */
  async delete(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPersistentVolumeClaim({
        namespace,
        name,
        body: { preconditions: { uid } },
      });
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
    }
  }

  /** Every claim of the namespace, read from the API server (deletion decides on fresh facts). */
  async list(namespace: string) {
    return (await this.core.listNamespacedPersistentVolumeClaim({ namespace })).items;
  }
}
