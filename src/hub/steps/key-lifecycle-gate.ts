// The keys step backed by the key lifecycle (src/keys/lifecycle.ts): the hub's own KEK at its
// provider and its wrapped DEKs, created once, rotated by adding versions, kept or crypto-shredded
// on deletion. The lifecycle's verdict gates the datastore.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, type HealthDataHub } from '../../api/index.js';
import { KeyLifecycle, type KeyEvent, type KeyLifecycleOptions } from '../../keys/lifecycle.js';
import type { ApiClients } from '../../runtime/client.js';
import { statusCode } from '../../runtime/errors.js';
import type { KeyGate, KeyGateEvent, KeyGateResult, KeyReleaseResult } from './keys.js';

const toGateEvents = (events: readonly KeyEvent[]): KeyGateEvent[] =>
  events.map((e) => ({ type: e.type, reason: e.reason, note: e.message }));

export class LifecycleKeyGate implements KeyGate {
  constructor(
    private readonly lifecycle: KeyLifecycle,
    /** Evidence that the hub holds data (its claims exist): keys are then never created anew. */
    private readonly dataEvidence: (hub: HealthDataHub) => string | undefined,
  ) {}

  async ensure(hub: HealthDataHub): Promise<KeyGateResult> {
    const r = await this.lifecycle.reconcileHub(hub, { dataEvidence: this.dataEvidence(hub) });
    return {
      ready: r.ready,
      condition: r.condition,
      ...(r.encryption ? { encryption: r.encryption } : {}),
      ...(r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : {}),
      events: toGateEvents(r.events),
    };
  }

  async release(hub: HealthDataHub): Promise<KeyReleaseResult> {
    const r = await this.lifecycle.reconcileHub(hub, { dataEvidence: this.dataEvidence(hub) });
    return {
      released: r.released,
      ...(r.released ? {} : { message: r.condition.message }),
      ...(r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : {}),
      events: toGateEvents(r.events),
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
