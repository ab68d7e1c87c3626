// The key lifecycle's options, results and the observation its steps work from.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { ConditionUpdate, HealthDataHub, HubEncryptionStatus, PlannedEvent } from '../../api/index.js';
import type { Logger } from '../../runtime/logging.js';
import type { KeyIdentity } from '../identity.js';
import type { KeyMetrics } from '../metrics.js';
import type { KeyObservation, KeyPlan } from '../plan.js';
import type { ProviderDeps } from '../providers.js';

/** The Secret operations the lifecycle uses (CoreV1Api; narrowed so tests can inject failures). */
export type SecretsApi = Pick<
  CoreV1Api,
  'readNamespacedSecret' | 'createNamespacedSecret' | 'replaceNamespacedSecret' | 'deleteNamespacedSecret'
>;

export interface KeyLifecycleOptions {
  secrets: SecretsApi;
  /** For reconcileHub: how providers are built from hub specs. */
  providers?: ProviderDeps | undefined;
  /** hdh_key_rotations_total is counted here (provider operations by the provider wrapper). */
  metrics?: KeyMetrics | undefined;
  log?: Logger | undefined;
  /**
   * Reads the hub from the API server. Before keys are ever created, the lifecycle reads the hub
   * afresh: a cached copy may not show yet the status that reported versions (the evidence that
   * keys existed), and creation must not rest on a stale view. Without it, the hub passed in is
   * trusted.
   */
  readHub?: ((namespace: string, name: string) => Promise<HealthDataHub | undefined>) | undefined;
  clock?: () => Date;
  /** Retry after the provider was unavailable. Default 30 s. */
  unavailableRetryMs?: number;
  /** Look again at a blocked hub (a person may restore a key the operator cannot watch). 60 s. */
  blockedRecheckMs?: number;
  /** Longest requeue for the next interval rotation (resyncs cover the rest). Default 6 h. */
  maxRequeueMs?: number;
  /**
   * The operator's namespace, where owner records of legacy keys live (owner-record.ts); default
   * providers.operatorNamespace. Without either, legacy keys of earlier hubs are never adopted.
   */
  operatorNamespace?: string | undefined;
}

/** An Event of the key lifecycle, for the hub. */
export type KeyEvent = PlannedEvent;

export interface KeyLifecycleResult {
  /** The last plan: none, block, wait or released. */
  action: KeyPlan['action'];
  /** True when the hub's keys are usable: the datastore may start. */
  ready: boolean;
  /** Deletion only: the keys need nothing more, the finalizer may go (as far as keys go). */
  released: boolean;
  /** status.encryption; identities and counts only, never key material. */
  encryption: HubEncryptionStatus | undefined;
  /**
   * The UID in the identity of the KEK that wraps the hub's keys: the hub's own, or for adopted
   * keys the earlier hub's. Undefined while the hub has no readable key set.
   */
  kekUid: string | undefined;
  /**
   * The identity of the KEK that wraps the hub's keys, once they are ready (and so its ownership
   * verified): the one the datastore's pods may be granted. Undefined otherwise.
   */
  kek: KeyIdentity | undefined;
  /** The KeysReady condition. */
  condition: ConditionUpdate;
  /** Events for the hub, in order. Notes hold names and numbers, never key material. */
  events: KeyEvent[];
  requeueAfterMs: number | undefined;
}

/** Options of one reconcile. */
export interface ReconcileKeysOptions {
  /** Evidence that the hub holds data (e.g. "PersistentVolumeClaim data-oncology-0 exists"). */
  dataEvidence?: string | undefined;
  /**
   * Aborted when the work should stop (leadership lost, shutdown): checked between steps, so no
   * further write is made once it is aborted; the reconcile then rejects with its reason.
   */
  signal?: AbortSignal | undefined;
}

/** One observation of the hub's keys, as the steps act on it. */
export interface Observed {
  observation: KeyObservation;
  secret: V1Secret | undefined;
  /** The identity of the KEK observed: the one wrapping the stored keys, else the hub's own. */
  identity: KeyIdentity;
}
