// Identities that do not play along, for the adversary tests: a tenant who administers one
// namespace (the built-in `admin` ClusterRole there, plus every verb on healthdatahubs), and a
// kubelet acting as its own node. The test's admin client impersonates them, so the API server's
// own authorizers (RBAC, Node) and admission (NodeRestriction) decide what they may do.
import {
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type RequestContext,
} from '@kubernetes/client-node';
import { API_GROUP } from '../../src/api/index.js';
import { testKubeConfig } from './cluster.js';
import { eventually } from './wait.js';

/** A KubeConfig whose requests are made as `user` (and `group`, when given) by impersonation. */
export function impersonating(user: string, group?: string): KubeConfig {
  const base = testKubeConfig();
  // client-node sends Impersonate-User from the kubeconfig but has no field for groups.
  class Impersonating extends KubeConfig {
    override async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await super.applySecurityAuthentication(context);
      context.setHeaderParam('Impersonate-User', user);
      if (group) context.setHeaderParam('Impersonate-Group', group);
    }
  }
  const kc = new Impersonating();
  kc.loadFromString(base.exportConfig());
  return kc;
}

const TENANT_HUB_ROLE = 'hdh-test-tenant-hubs';

/**
 * Makes `user` the admin of `namespace` as a platform team would: a RoleBinding to the built-in
 * `admin` ClusterRole, and one to a ClusterRole allowing every verb on healthdatahubs (not their
 * status). Returns the tenant's KubeConfig once the API server's authorizer allows both bindings
 * (its RBAC cache lags a new binding by a moment; a test's first request would get a 403).
 */
export async function tenantAdmin(namespace: string, user = `tenant@${namespace}`): Promise<KubeConfig> {
  const admin = testKubeConfig();
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac
    .createClusterRole({
      body: {
        metadata: { name: TENANT_HUB_ROLE },
        rules: [{ apiGroups: [API_GROUP], resources: ['healthdatahubs'], verbs: ['*'] }],
      },
    })
    .catch(ignoreConflict);
  for (const role of ['admin', TENANT_HUB_ROLE]) {
    await rbac
      .createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: `tenant-${role}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
        },
      })
      .catch(ignoreConflict);
  }
  const tenant = impersonating(user);
  const review = tenant.makeApiClient(AuthorizationV1Api);
  const allowed = async (group: string, resource: string): Promise<boolean> =>
    (
      await review.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { namespace, verb: 'create', group, resource } } },
      })
    ).status?.allowed === true;
  await eventually(
    `RBAC allowing ${user} to create in ${namespace}`,
    async () => (await allowed(API_GROUP, 'healthdatahubs')) && (await allowed('', 'secrets')),
    30_000,
    50,
  );
  return tenant;
}

/** The kubelet of `node`: user `system:node:<node>` in group `system:nodes`. */
export function kubeletOf(node: string): KubeConfig {
  return impersonating(`system:node:${node}`, 'system:nodes');
}

/** A namespace created by the test's admin, for tests that choose its name. */
export async function createNamespace(name: string, labels?: Record<string, string>): Promise<void> {
  await testKubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name, labels } } })
    .catch(ignoreConflict);
}

function ignoreConflict(e: { code?: number }): void {
  if (e.code !== 409) throw e;
}
