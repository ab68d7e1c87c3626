// builtin only: who may read a hub's KEK Secret. The datastore's pod runs as the service account
// `<hub>-keys` of the hub's namespace; a Role in the operator's namespace lets it `get` exactly
// that hub's KEK Secret (resourceNames), nothing else — not another hub's KEK, not a list.
// Pure rendering; src/hub/steps/kek-access.ts applies and removes the objects.
import type { KubernetesObject, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { LABEL_HUB, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/index.js';
import type { DekDelivery } from './delivery.js';
import { LABEL_HUB_NAMESPACE, type HubRef } from './identity.js';

export type KekAccess = NonNullable<DekDelivery['kekAccess']>;

/** The objects granting `access`, in the order they must exist (the binding names the others). */
export interface KekAccessObjects {
  serviceAccount: V1ServiceAccount;
  role: V1Role;
  roleBinding: V1RoleBinding;
}

export function renderKekAccess(hub: HubRef, access: KekAccess): KekAccessObjects {
  const labels = { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_HUB]: hub.name };
  // In the operator's namespace the hub label alone is ambiguous: say which namespace too.
  const remoteLabels = { ...labels, [LABEL_HUB_NAMESPACE]: hub.namespace };
  // In the operator's namespace next to the KEK, named after the hub's own key identity: it
  // carries the hub's namespace, name and UID, so two hubs never share a Role.
  const roleName = access.roleName;
  return {
    serviceAccount: {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: access.serviceAccountName, namespace: hub.namespace, labels },
      // The token is projected into the init container only (see delivery.ts).
      automountServiceAccountToken: false,
    },
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: roleName, namespace: access.namespace, labels: remoteLabels },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [access.kekSecret], verbs: ['get'] }],
    },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: roleName, namespace: access.namespace, labels: remoteLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name: access.serviceAccountName, namespace: hub.namespace }],
    },
  };
}

/** The objects in apply order: the account and the Role before the binding that names them. */
export function kekAccessList(o: KekAccessObjects): KubernetesObject[] {
  return [o.serviceAccount, o.role, o.roleBinding];
}
