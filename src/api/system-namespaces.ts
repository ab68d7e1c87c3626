// Namespaces a hub may not live in. A hub makes its namespace sovereign territory: every pod there
// is held to the policy, refused at admission and evicted when its node stops qualifying. In
// Kubernetes' own namespaces that would turn a tenant's hub against the cluster's control plane
// and node agents; in the operator's namespace, against the operator and the builtin
// key-encryption keys it keeps there. A CRD rule cannot see metadata.namespace, so the operator
// refuses such hubs itself.

/** Namespaces of Kubernetes itself. */
export const KUBERNETES_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

/** Why a hub in `namespace` is refused, or undefined when it may live there. */
export function systemNamespaceRefusal(
  namespace: string,
  operatorNamespace: string | undefined,
): string | undefined {
  const why = KUBERNETES_NAMESPACES.includes(namespace)
    ? `namespace ${namespace} belongs to Kubernetes itself`
    : namespace === operatorNamespace
      ? `namespace ${namespace} is the operator's own (--operator-namespace)`
      : undefined;
  return (
    why &&
    `${why}: a hub there would hold every pod of the namespace to its policy, so the operator does nothing ` +
      `for it (no namespace label, storage, keys or pods); delete it and create it in a namespace of its own`
  );
}
