import type { KubernetesObject } from '@kubernetes/client-node';

export type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/**
 * A JSON patch adding `finalizer`, guarded by a `test` of what was read: if anyone changed the
 * finalizers meanwhile, the API server refuses the patch (422) instead of losing their edit.
 * Undefined when the finalizer is already there.
 */
export function addFinalizerPatch(obj: KubernetesObject, finalizer: string): JsonPatchOp[] | undefined {
  const current = obj.metadata?.finalizers;
  if (current?.includes(finalizer)) return undefined;
  if (!current || current.length === 0) {
    // No list to test: guard on the whole object's version instead.
    return [
      { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata?.resourceVersion },
      { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
    ];
  }
  return [
    { op: 'test', path: '/metadata/finalizers', value: current },
    { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
  ];
}

/** A JSON patch removing `finalizer` at the index it was read at; undefined when absent. */
export function removeFinalizerPatch(obj: KubernetesObject, finalizer: string): JsonPatchOp[] | undefined {
  const index = obj.metadata?.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return undefined;
  return [
    { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer },
    { op: 'remove', path: `/metadata/finalizers/${index}` },
  ];
}
