// The lifecycle's Secret I/O. Every write is conditional: a Secret is created only where none
// exists, replaced only at the resourceVersion read, deleted only as the object observed. A write
// that loses a race throws WriteConflict, and the lifecycle observes again.
import type { V1Secret } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../../api/index.js';
import { statusCode } from '../../runtime/errors.js';
import type { SecretsApi } from './types.js';

/** A conditional write lost a race: observe again. */
export class WriteConflict extends Error {
  override name = 'WriteConflict';
}

export class SecretStore {
  constructor(private readonly secrets: SecretsApi) {}

  /** The Secret, or undefined when it does not exist; other API errors propagate. */
  async read(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.secrets.readNamespacedSecret({ name, namespace });
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  /** Creates `body` in its namespace; WriteConflict when a Secret of that name exists. */
  async create(body: V1Secret): Promise<void> {
    await this.createIn(body.metadata!.namespace!, body);
  }

  /** Creates `body` in `namespace`; WriteConflict when a Secret of that name exists. */
  async createIn(namespace: string, body: V1Secret): Promise<void> {
    try {
      await this.secrets.createNamespacedSecret({ namespace, body, fieldManager: FIELD_MANAGER });
    } catch (e) {
      if (statusCode(e) === 409)
        throw new WriteConflict(`Secret ${body.metadata?.name} was created meanwhile`);
      throw e;
    }
  }

  /**
   * Replaces `current` with `next` only if it is still the version read (resourceVersion).
   * Labels others added are kept (backup tools, the retained mark) unless named in dropLabels.
   */
  async replace(current: V1Secret, next: V1Secret, dropLabels: string[] = []): Promise<void> {
    const md = current.metadata!;
    const labels = { ...md.labels, ...next.metadata?.labels };
    for (const l of dropLabels) delete labels[l];
    const body: V1Secret = {
      ...current,
      ...next,
      metadata: {
        ...md,
        labels,
        resourceVersion: md.resourceVersion,
      },
      // Unknown data keys are kept; every known one is in `next` (assertOnlyAdds ran before).
      data: { ...current.data, ...next.data },
    };
    try {
      await this.secrets.replaceNamespacedSecret({
        name: md.name!,
        namespace: md.namespace!,
        body,
        fieldManager: FIELD_MANAGER,
      });
    } catch (e) {
      const code = statusCode(e);
      if (code === 409 || code === 404) throw new WriteConflict(`Secret ${md.name} changed meanwhile`);
      throw e;
    }
  }

  /** Deletes exactly the object observed; a Secret already gone is fine. */
  async delete(current: V1Secret): Promise<void> {
    const md = current.metadata!;
    try {
      await this.secrets.deleteNamespacedSecret({
        name: md.name!,
        namespace: md.namespace!,
        // Exactly the object observed: never a Secret written in between.
        body: { preconditions: { uid: md.uid, resourceVersion: md.resourceVersion } },
      });
    } catch (e) {
      const code = statusCode(e);
      if (code === 404) return;
      if (code === 409) throw new WriteConflict(`Secret ${md.name} changed meanwhile`);
      throw e;
    }
  }
}
