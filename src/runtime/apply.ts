import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { ApiClients } from './client.js';
import { asWriteRefused, statusCode } from './errors.js';
import { addFinalizerPatch, removeFinalizerPatch, type JsonPatchOp } from './finalizers.js';

/** Kubernetes API access the controllers share: typed clients built once per KubeConfig. */
/** Status writes, as reconcilers see them: the Writer, or the unit tests' fake cluster. */
export type StatusWriter = Pick<Writer, 'applyStatus'>;

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

  /**
   * Server-side apply of a whole desired object, taking ownership of the fields it sets. A refusal
   * (invalid, forbidden, too large) throws WriteRefused naming the object.
   */
  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    try {
      return await this.objects.patch(
        obj,
        undefined,
        undefined,
        this.fieldManager,
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (e) {
      throw asWriteRefused(e, obj);
    }
  }

  /**
   * Server-side apply to the /status subresource: only the operator writes status, and a field
   * it stops sending is removed. Answers the resourceVersion the object has after the write.
   */
  async applyStatus(
    ref: { group: string; version: string; plural: string; kind: string },
    name: string,
    namespace: string | undefined,
    status: unknown,
  ): Promise<string | undefined> {
    const body = {
      apiVersion: `${ref.group}/${ref.version}`,
      kind: ref.kind,
      metadata: namespace ? { name, namespace } : { name },
      status,
    };
    const opts = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    const written = (await (namespace
      ? this.custom.patchNamespacedCustomObjectStatus(
          { ...ref, namespace, name, body, fieldManager: this.fieldManager, force: true },
          opts,
        )
      : this.custom.patchClusterCustomObjectStatus(
          { ...ref, name, body, fieldManager: this.fieldManager, force: true },
          opts,
        ))) as { metadata?: { resourceVersion?: string } } | undefined;
    return written?.metadata?.resourceVersion;
  }

  /**
   * Adds a finalizer unless present; refused (422) if the finalizers changed since `obj` was read.
   * An object without finalizers is guarded by its resourceVersion, which any write changes (another
   * controller's status write, say): on that refusal it is read again and the patch made once more
   * on what it holds now.
   */
  async addFinalizer(ref: CustomResourceRef, obj: KubernetesObject, finalizer: string): Promise<boolean> {
    try {
      return await this.jsonPatch(ref, obj, addFinalizerPatch(obj, finalizer));
    } catch (e) {
      if (statusCode(e) !== 422 || obj.metadata?.finalizers?.length) throw e;
      const fresh = await this.read(ref, obj);
      return this.jsonPatch(ref, fresh, addFinalizerPatch(fresh, finalizer));
    }
  }

  private async read(ref: CustomResourceRef, obj: KubernetesObject): Promise<KubernetesObject> {
    const name = obj.metadata?.name ?? '';
    const namespace = obj.metadata?.namespace;
    return (await (namespace
      ? this.custom.getNamespacedCustomObject({ ...ref, namespace, name })
      : this.custom.getClusterCustomObject({ ...ref, name }))) as KubernetesObject;
  }

  /** Removes a finalizer if present, with the same guard. */
  async removeFinalizer(ref: CustomResourceRef, obj: KubernetesObject, finalizer: string): Promise<boolean> {
    return this.jsonPatch(ref, obj, removeFinalizerPatch(obj, finalizer));
  }

  private async jsonPatch(ref: CustomResourceRef, obj: KubernetesObject, patch: JsonPatchOp[] | undefined) {
    if (!patch) return false;
    const name = obj.metadata?.name ?? '';
    const namespace = obj.metadata?.namespace;
    const opts = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    if (namespace) {
      await this.custom.patchNamespacedCustomObject({ ...ref, namespace, name, body: patch }, opts);
    } else {
      await this.custom.patchClusterCustomObject({ ...ref, name, body: patch }, opts);
    }
    return true;
  }
}

export interface CustomResourceRef {
  group: string;
  version: string;
  plural: string;
}
