// The plugin's reads, with kubernetes-fluent-client's typed fluent API: a short-lived,
// read-only client is what it fits best (the operator's own informers and writes use
// @kubernetes/client-node). Every call names its verb and resource so a failure says which.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { GenericKind, K8s, RegisterKind, modelToGroupVersionKind } from 'kubernetes-fluent-client';
import {
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../api/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { explainApiError, failedStatus, type ApiCall } from './errors.js';
import type { Connection } from './kubeconfig.js';

/** The HealthDataHub kind for the fluent client (the generated type is its shape). */
export class HdhHealthDataHub extends GenericKind {
  declare spec: HealthDataHub['spec'];
  declare status?: HealthDataHub['status'];
}

/** The SovereigntyPolicy kind for the fluent client. */
export class HdhSovereigntyPolicy extends GenericKind {
  declare spec: SovereigntyPolicy['spec'];
  declare status?: SovereigntyPolicy['status'];
}

// The fluent client keys kinds by class name and refuses a second registration.
for (const [model, crd] of [
  [HdhHealthDataHub, HEALTH_DATA_HUB],
  [HdhSovereigntyPolicy, SOVEREIGNTY_POLICY],
] as const) {
  if (!modelToGroupVersionKind(model.name)) {
    RegisterKind(model, { group: crd.group, version: crd.version, kind: crd.kind, plural: crd.plural });
  }
}

export const HUB_RESOURCE = `${HEALTH_DATA_HUB.plural}.${HEALTH_DATA_HUB.group}`;
export const POLICY_RESOURCE = `${SOVEREIGNTY_POLICY.plural}.${SOVEREIGNTY_POLICY.group}`;

/** How often a throttled read is tried. */
const READ_ATTEMPTS = 4;

/** A model the fluent client knows: one of its `kind` classes or a registered GenericKind. */
type Model<T extends KubernetesObject> = new () => T;

export interface ListOptions {
  /** Namespaced resources: only this namespace; absent: every namespace (or cluster-scoped). */
  namespace?: string;
  /** Label filters: key = value, or key alone (exists). */
  labels?: Record<string, string>;
}

/** Reads of one connection; every failure becomes a UserError naming the call. */
export class Reader {
  constructor(readonly connection: Connection) {}

  private async call<T>(call: ApiCall, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        // Throttled, or a resource whose storage is still starting (a CRD just installed): a
        // read can be asked again; anything else is told at once.
        const code = failedStatus(e);
        if ((code === 429 || code === 503) && attempt < READ_ATTEMPTS) {
          await sleep(500 * attempt);
          continue;
        }
        throw explainApiError(e, call, this.connection.server);
      }
    }
  }

  async list<T extends KubernetesObject>(
    model: Model<T>,
    resource: string,
    opts: ListOptions = {},
  ): Promise<T[]> {
    const list = await this.call({ verb: 'list', resource, namespace: opts.namespace }, () => {
      const query = opts.namespace ? K8s(model).InNamespace(opts.namespace) : K8s(model);
      for (const [key, value] of Object.entries(opts.labels ?? {})) query.WithLabel(key, value);
      return query.Get() as Promise<KubernetesListObject<T>>;
    });
    return list.items ?? [];
  }

  async get<T extends KubernetesObject>(
    model: Model<T>,
    resource: string,
    name: string,
    namespace?: string,
  ): Promise<T> {
    return this.call({ verb: 'get', resource, namespace, name }, () =>
      namespace ? K8s(model).InNamespace(namespace).Get(name) : K8s(model).Get(name),
    );
  }

  async hubs(namespace: string | undefined): Promise<HealthDataHub[]> {
    return (await this.list(HdhHealthDataHub, HUB_RESOURCE, { namespace })) as unknown as HealthDataHub[];
  }

  async hub(namespace: string, name: string): Promise<HealthDataHub> {
    return (await this.get(HdhHealthDataHub, HUB_RESOURCE, name, namespace)) as unknown as HealthDataHub;
  }

  async policies(): Promise<SovereigntyPolicy[]> {
    return (await this.list(HdhSovereigntyPolicy, POLICY_RESOURCE)) as unknown as SovereigntyPolicy[];
  }
}
