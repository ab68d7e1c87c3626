// The keys step backed by the key lifecycle (src/keys/lifecycle.ts): the hub's own KEK at its
// provider and its wrapped DEKs, created once, rotated by adding versions, kept or crypto-shredded
// on deletion. The lifecycle's verdict gates the datastore; once the keys are ready, the gate also
// describes how the datastore's pods receive them (and, for builtin, grants that access).
import { CustomObjectsApi } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, type HealthDataHub, type SovereigntyPolicy } from '../../api/index.js';
import { dekDelivery } from '../../keys/delivery.js';
import { KeyLifecycle, type KeyLifecycleOptions } from '../../keys/lifecycle.js';
import type { ApiClients } from '../../runtime/client.js';
import { statusCode } from '../../runtime/errors.js';
import type { KekAccessStep } from './kek-access.js';
import type { KeyGate, KeyGateResult, KeyReleaseResult } from './keys.js';

/** How the datastore's pods receive their keys (without it, the gate returns no delivery). */
export interface GateDeliveryOptions {
  /** The operator's image: it runs the `unwrap-dek` init container. */
  image: string;
  operatorNamespace: string;
  /** Applies and removes the builtin KEK access (service account, Role, RoleBinding). */
  access: KekAccessStep;
}

export class LifecycleKeyGate implements KeyGate {
  /**
   * One key operation per hub at a time: the keys controller's ensure and the hub controller's
   * release (deletion) run on separate queues, and must not overlap (a key created or rotated
   * while the hub's keys are being released or crypto-shredded).
   */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** Hubs (by UID) whose keys were released: nothing is ensured for them any more. */
  private readonly released = new Set<string>();

  constructor(
    private readonly lifecycle: KeyLifecycle,
    /** Evidence that the hub holds data (its claims exist): keys are then never created anew. */
    private readonly dataEvidence: (hub: HealthDataHub) => string | undefined,
    private readonly delivery?: GateDeliveryOptions,
  ) {}

  /** Runs fn once no other key operation of the same hub runs. */
  private async exclusive<T>(hub: HealthDataHub, fn: () => Promise<T>): Promise<T> {
    const uid = hub.metadata.uid ?? `${hub.metadata.namespace}/${hub.metadata.name}`;
    const before = this.busy.get(uid) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(fn);
    this.busy.set(uid, run);
    try {
      return await run;
    } finally {
      if (this.busy.get(uid) === run) this.busy.delete(uid);
    }
  }

  ensure(hub: HealthDataHub, policy?: SovereigntyPolicy, signal?: AbortSignal): Promise<KeyGateResult> {
    return this.exclusive(hub, () =>
      this.released.has(hub.metadata.uid ?? '')
        ? Promise.resolve({ ready: false })
        : this.ensureNow(hub, policy, signal),
    );
  }

  release(hub: HealthDataHub, signal?: AbortSignal): Promise<KeyReleaseResult> {
    return this.exclusive(hub, async () => {
      const r = await this.releaseNow(hub, signal);
      if (r.released && hub.metadata.uid) this.released.add(hub.metadata.uid);
      return r;
    });
  }

  private async ensureNow(
    hub: HealthDataHub,
    _policy?: SovereigntyPolicy,
    signal?: AbortSignal,
  ): Promise<KeyGateResult> {
    const r = await this.lifecycle.reconcileHub(hub, { dataEvidence: this.dataEvidence(hub), signal });
    let delivery: KeyGateResult['delivery'];
    if (r.ready && this.delivery) {
      const d = dekDelivery(hub, {
        image: this.delivery.image,
        operatorNamespace: this.delivery.operatorNamespace,
        activeVersion: r.encryption?.activeVersion,
        kek: r.kek,
      });
      // Before the StatefulSet: its pods name the service account, which must exist to admit them.
      if (d.kekAccess) {
        signal?.throwIfAborted();
        await this.delivery.access.apply(hub, d.kekAccess);
      }
      delivery = d;
    }
    return {
      ready: r.ready,
      ...(delivery ? { delivery } : {}),
      condition: r.condition,
      ...(r.encryption ? { encryption: r.encryption } : {}),
      ...(r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : {}),
      events: r.events,
      ...(r.action === 'block' ? { blocked: true } : {}),
    };
  }

  private async releaseNow(hub: HealthDataHub, signal?: AbortSignal): Promise<KeyReleaseResult> {
    const r = await this.lifecycle.reconcileHub(hub, { dataEvidence: this.dataEvidence(hub), signal });
    // Nothing is left to unwrap for: whoever could read the KEK no longer may.
    if (r.released && this.delivery) {
      signal?.throwIfAborted();
      await this.delivery.access.remove(hub);
    }
    return {
      released: r.released,
      ...(r.released ? {} : { message: r.condition.message }),
      ...(r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : {}),
      events: r.events,
    };
  }
}

/** Reads a hub afresh from the API server (undefined when gone), for the lifecycle's creation check. */
export function hubReader(clients: ApiClients): NonNullable<KeyLifecycleOptions['readHub']> {
  const custom = clients.make(CustomObjectsApi);
  return async (namespace, name) => {
    try {
      return (await custom.getNamespacedCustomObject({
        ...HEALTH_DATA_HUB,
        namespace,
        name,
      })) as HealthDataHub;
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  };
}
