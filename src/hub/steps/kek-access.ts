// Applies and removes the builtin KEK access of a hub (src/keys/kek-access.ts): its service
// account, and the Role and RoleBinding that let it get the hub's KEK Secret. Applied with
// server-side apply, skipped when unchanged since the last apply or already on the server as
// applied (an operator at rest, or just restarted, writes nothing); removed by name when the hub's keys are released. The Role and RoleBinding are named
// after the hub's own key identity; those named under the legacy identity (made before the
// current scheme) are removed once the current ones are applied (only for a hub whose KEK predates
// that scheme: no other hub had them), and on release.
import { CoreV1Api, RbacAuthorizationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import type { HealthDataHub } from '../../api/index.js';
import { kekServiceAccountName } from '../../keys/delivery.js';
import { hubRefOf, keyIdentity, legacyKeyIdentity, parseKeyName } from '../../keys/identity.js';
import { kekAccessList, renderKekAccess, type KekAccess } from '../../keys/kek-access.js';
import type { Writer } from '../../runtime/apply.js';
import type { AppliedCache } from '../../runtime/apply-cache.js';
import type { ApiClients } from '../../runtime/client.js';
import { ignoreNotFound } from '../../runtime/errors.js';
import { appliedKey } from './datastore.js';

export interface KekAccessStepDeps {
  clients: ApiClients;
  writer: Writer;
  applied: AppliedCache;
  /** The operator's namespace, where KEK Secrets (and so the Roles) live. */
  operatorNamespace: string;
  /** An access object as watched, if it is: one unchanged is not applied again after a restart. */
  live?: (obj: KubernetesObject) => KubernetesObject | undefined;
}

export class KekAccessStep {
  private readonly core: CoreV1Api;
  private readonly rbac: RbacAuthorizationV1Api;

  constructor(private readonly d: KekAccessStepDeps) {
    this.core = d.clients.make(CoreV1Api);
    this.rbac = d.clients.make(RbacAuthorizationV1Api);
  }

  async apply(hub: HealthDataHub, access: KekAccess): Promise<void> {
    const ref = hubRefOf(hub);
    let applied = false;
    for (const obj of kekAccessList(renderKekAccess(ref, access))) {
      const key = appliedKey(obj);
      if (!this.d.applied.needsApply(key, obj, this.d.live?.(obj))) continue;
      const result = await this.d.writer.apply(obj);
      this.d.applied.remember(key, obj, result.metadata);
      applied = true;
    }
    // After the current grant exists (no pod loses access in between): once per apply, which an
    // operator at rest does not repeat. Only a hub made before the current scheme can have a grant
    // named the earlier way, and its KEK is still one of that scheme (a current-scheme KEK is only
    // made for a hub without keys): the others are spared two deletes at every start.
    if (applied && !parseKeyName(access.kekSecret)) await this.removeRbac(legacyKeyIdentity(ref).name);
  }

  /** Deletes the access objects of a builtin hub by name; those already gone are fine. */
  async remove(hub: HealthDataHub): Promise<void> {
    if ((hub.spec.encryption?.provider ?? 'builtin') !== 'builtin') return;
    const ref = hubRefOf(hub);
    const name = keyIdentity(ref).name;
    const ns = this.d.operatorNamespace;
    const sa = kekServiceAccountName(ref.name);
    await this.removeRbac(name);
    await this.removeRbac(legacyKeyIdentity(ref).name);
    await this.core
      .deleteNamespacedServiceAccount({ name: sa, namespace: ref.namespace })
      .catch(ignoreNotFound);
    for (const [kind, namespace, n] of [
      ['RoleBinding', ns, name],
      ['Role', ns, name],
      ['ServiceAccount', ref.namespace, sa],
    ] as const) {
      this.d.applied.forget(appliedKey({ kind, metadata: { namespace, name: n } }));
    }
  }

  private async removeRbac(name: string): Promise<void> {
    const namespace = this.d.operatorNamespace;
    // The binding first: once it is gone the account can read nothing, whatever fails next.
    await this.rbac.deleteNamespacedRoleBinding({ name, namespace }).catch(ignoreNotFound);
    await this.rbac.deleteNamespacedRole({ name, namespace }).catch(ignoreNotFound);
  }
}
