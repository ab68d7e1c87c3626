// Records of retained claims, kept in the operator's namespace where a hub's tenant cannot write:
// which policy a namespace stays held to after its hub was deleted with its data kept. Written
// before the claim is marked retained, removed once the claim is gone or adopted.
import type { CoreV1Api, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { HealthDataHub } from '../api/index.js';
import type { Writer } from '../runtime/apply.js';
import { statusCode } from '../runtime/errors.js';
import {
  LABEL_RETAINED_NAMESPACE,
  readRetainedRecord,
  retainedRecord,
  type RetainedRecord,
} from '../storage/retention.js';

export class RetainedClaimRecords {
  constructor(
    private readonly core: CoreV1Api,
    private readonly writer: Writer,
    private readonly operatorNamespace: string,
  ) {}

  /** Records that `claim` was retained from `hub` (idempotent: server-side apply). */
  async record(hub: HealthDataHub, claim: V1PersistentVolumeClaim): Promise<void> {
    await this.writer.apply(retainedRecord(hub, claim, this.operatorNamespace));
  }

  /** The records of a namespace's claims, read from the API server. */
  async list(namespace: string): Promise<RetainedRecord[]> {
    const { items } = await this.core.listNamespacedConfigMap({
      namespace: this.operatorNamespace,
      labelSelector: `${LABEL_RETAINED_NAMESPACE}=${namespace}`,
    });
    return items
      .map(readRetainedRecord)
      .filter((r): r is RetainedRecord => r !== undefined && r.namespace === namespace);
  }

  /** Removes a record; one already gone counts as removed. */
  async remove(record: RetainedRecord): Promise<void> {
    try {
      await this.core.deleteNamespacedConfigMap({ name: record.name, namespace: this.operatorNamespace });
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
    }
  }
}
