// The API calls of the policy report controller: discovery of the report kinds, and reads, applies
// and deletions of the one report per namespace, through the custom objects API (the body goes
// out as rendered, never through the client's model serializer).
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../../api/index.js';
import type { ApiClients } from '../../runtime/client.js';
import { statusCode } from '../../runtime/errors.js';
import type { PolicyReportObject, ReportKind } from './render.js';

/** What the reconciler asks of the API server; the unit tests give a fake. */
export interface ReportApi {
  /** Whether the API server serves `kind` now (its group version lists the resource). */
  served(kind: ReportKind): Promise<boolean>;
  /** The object of that name, whoever made it; undefined when there is none. */
  get(kind: ReportKind, namespace: string, name: string): Promise<KubernetesObject | undefined>;
  /** Server-side apply, forced: the operator's fields win over anyone else's. */
  apply(kind: ReportKind, report: PolicyReportObject): Promise<void>;
  /** Deletes exactly that object (its UID); already gone is fine. */
  delete(kind: ReportKind, namespace: string, name: string, uid: string | undefined): Promise<void>;
}

export class ClusterReportApi implements ReportApi {
  private readonly custom: CustomObjectsApi;

  constructor(clients: ApiClients) {
    this.custom = clients.make(CustomObjectsApi);
  }

  async served(kind: ReportKind): Promise<boolean> {
    try {
      const list = await this.custom.getAPIResources({ group: kind.group, version: kind.version });
      return list.resources.some((r) => r.name === kind.plural);
    } catch (e) {
      // 404: the group version is not served; 503: its CRD is being installed or removed.
      if (statusCode(e) === 404 || statusCode(e) === 503) return false;
      throw e;
    }
  }

  async get(kind: ReportKind, namespace: string, name: string): Promise<KubernetesObject | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        ...ref(kind),
        namespace,
        name,
      })) as KubernetesObject;
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  async apply(kind: ReportKind, report: PolicyReportObject): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      {
        ...ref(kind),
        namespace: report.metadata.namespace,
        name: report.metadata.name,
        body: report,
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async delete(kind: ReportKind, namespace: string, name: string, uid: string | undefined): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({
        ...ref(kind),
        namespace,
        name,
        ...(uid ? { body: { preconditions: { uid } } } : {}),
      });
    } catch (e) {
      // 409: a precondition failed, the object is another one by now (the next event tells).
      if (statusCode(e) !== 404 && statusCode(e) !== 409) throw e;
    }
  }
}

const ref = (kind: ReportKind) => ({ group: kind.group, version: kind.version, plural: kind.plural });
