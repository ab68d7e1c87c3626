import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { ApiClients } from './client.js';

/** Kubernetes API access the controllers share: typed clients built once per KubeConfig. */
export class Writer {
  readonly objects: KubernetesObjectApi;
  readonly custom: CustomObjectsApi;

  constructor(
    clients: ApiClients,
    /** Every write carries this field manager, so ownership of fields stays unambiguous. */
    readonly fieldManager: string,
  ) {
    this.objects = clients.make(KubernetesObjectApi);
    this.custom = clients.make(CustomObjectsApi);
  }

  /** Server-side apply of a whole desired object, taking ownership of the fields it sets. */
  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.objects.patch(
      obj,
      undefined,
      undefined,
      this.fieldManager,
      true,
      PatchStrategy.ServerSideApply,
    );
  }

  /**
   * Server-side apply to the /status subresource: only the operator writes status, and a field
   * it stops sending is removed.
   */
  async applyStatus(
    ref: { group: string; version: string; plural: string; kind: string },
    name: string,
    namespace: string | undefined,
    status: unknown,
  ): Promise<void> {
    const body = {
      apiVersion: `${ref.group}/${ref.version}`,
      kind: ref.kind,
      metadata: namespace ? { name, namespace } : { name },
      status,
    };
    const opts = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    if (namespace) {
      await this.custom.patchNamespacedCustomObjectStatus(
        { ...ref, namespace, name, body, fieldManager: this.fieldManager, force: true },
        opts,
      );
    } else {
      await this.custom.patchClusterCustomObjectStatus(
        { ...ref, name, body, fieldManager: this.fieldManager, force: true },
        opts,
      );
    }
  }
}
