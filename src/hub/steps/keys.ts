// The keys step of the hub reconciler: the seam between the hub and its key lifecycle. Its result
// gates the datastore: no StatefulSet is applied while the hub's keys are not usable, and the key
// delivery it returns is rendered into the datastore's pods.
import type {
  ConditionUpdate,
  HealthDataHub,
  HubEncryptionStatus,
  PlannedEvent,
  SovereigntyPolicy,
} from '../../api/index.js';
import type { KeyDelivery } from '../../storage/datastore.js';

/** An Event of the keys step, for the hub. */
export type KeyGateEvent = PlannedEvent;

export interface KeyGateResult {
  /** True when the datastore may run: its keys exist and can be delivered. */
  ready: boolean;
  /** KeysReady; undefined when the keys are not managed by this gate (nothing to report). */
  condition?: ConditionUpdate;
  /** status.encryption (identities and versions only, never key material). */
  encryption?: HubEncryptionStatus;
  /** What the datastore's pods need to receive their key. */
  delivery?: KeyDelivery;
  requeueAfterMs?: number;
  events?: KeyGateEvent[];
  /** True when only a person can unblock the keys (KeyMissing, KeyInvalid, a key of another hub…). */
  blocked?: boolean;
}

export interface KeyReleaseResult {
  /** True when the keys need nothing more and the hub's finalizer may go (as far as keys go). */
  released: boolean;
  /** Why the release cannot finish yet (shown in the DeletionBlocked condition). */
  message?: string;
  requeueAfterMs?: number;
  events?: KeyGateEvent[];
}

export interface KeyGate {
  /**
   * Brings the hub's keys to where its spec asks (called only for a hub not being deleted). Once
   * `signal` is aborted (leadership lost, shutdown) no further key step is taken: the call
   * rejects with the signal's reason.
   */
  ensure(hub: HealthDataHub, policy: SovereigntyPolicy, signal?: AbortSignal): Promise<KeyGateResult>;
  /** The keys' part of the hub's deletion: keep them, or crypto-shred on confirmation (signal: as ensure). */
  release(hub: HealthDataHub, signal?: AbortSignal): Promise<KeyReleaseResult>;
}

/**
 * The gate used while the key lifecycle is not wired into the reconciler: it lets the datastore
 * start and reports no KeysReady condition, so Ready stays Unknown ("KeysReady is not reported
 * yet") rather than claiming keys that nothing manages.
 */
export const unmanagedKeys: KeyGate = {
  ensure: () => Promise.resolve({ ready: true }),
  release: () => Promise.resolve({ released: true }),
};
