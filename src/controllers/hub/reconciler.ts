import { refusalReport } from '../../hub/refusal.js';
import type { V1Node } from '@kubernetes/client-node';
import {
  ConditionStatus,
  ConditionType,
  FINALIZER,
  getCondition,
  HEALTH_DATA_HUB,
  KEYS_FIELD_MANAGER,
  PLACEMENT_FIELD_MANAGER,
  Reason,
  setCondition,
  type Condition,
  type ConditionUpdate,
  type HealthDataHub,
  type HealthDataHubStatus,
  type SovereigntyPolicy,
} from '../../api/index.js';
import { nodeFacts, type NodeFacts } from '../../placement/audit.js';
import { schedulableNodes } from '../../policy/nodes.js';
import type { Writer } from '../../runtime/apply.js';
import type { Cache } from '../../runtime/cache.js';
import type { ReconcileResult, Reconciler } from '../../runtime/controller.js';
import { describeError, statusCode, WriteRefused } from '../../runtime/errors.js';
import type { EventSink } from '../../runtime/events.js';
import type { Logger } from '../../runtime/logging.js';
import { statusUnchanged, WrittenStatus } from '../../runtime/status.js';
import type { NamespaceLabels } from '../placement/reconciler.js';
import { checkReferences, type PlatformSettings } from '../../hub/references.js';
import { datastoreReport, storageReport } from '../../storage/index.js';
import {
  desiredHubStatus,
  hubOwnedStatus,
  keysReadiness,
  suspendedHubStatus,
  systemNamespaceHubStatus,
  type HubComponents,
} from '../../hub/status.js';
import { systemNamespaceRefusal } from '../../api/system-namespaces.js';
import type { DatastoreStep } from '../../hub/steps/datastore.js';
import { finalizeHub, type DeletionDeps } from '../../hub/steps/deletion.js';
import { dekDelivery, type DekDeliveryOptions } from '../../keys/delivery.js';
import type { StorageStep } from '../../hub/steps/storage.js';

export interface HubReconcilerDeps {
  hubs: Cache<HealthDataHub>;
  policies: Cache<SovereigntyPolicy>;
  nodes: Cache<V1Node>;
  /** Object writes, and the hub's status with the hub controller's field manager. */
  writer: Pick<Writer, 'applyStatus' | 'addFinalizer'>;
  events: EventSink;
  namespaces: NamespaceLabels;
  storage: StorageStep;
  datastore: DatastoreStep;
  /** How the datastore's pods receive their keys (the operator's image and namespace). */
  delivery: Pick<DekDeliveryOptions, 'image' | 'operatorNamespace'>;
  deletion: DeletionDeps;
  log: Logger;
  /** The operator's flags that hubs are checked against (default: DEFAULT_PLATFORM_SETTINGS). */
  platform?: PlatformSettings;
  /** The operator's own namespace: no hub is served there (systemNamespaceRefusal). */
  operatorNamespace?: string;
}

/** A blocked deletion is tried again this often (the controller's backoff covers errors). */
const DELETION_RETRY_MS = 10_000;

/**
 * `owned` plus the parts of the status whose controllers' field managers do not own them yet, as
 * they are now (see writeStatus).
 */
function withUnclaimedParts(hub: HealthDataHub, owned: HealthDataHubStatus): HealthDataHubStatus {
  const claimed = (manager: string) =>
    hub.metadata.managedFields?.some((f) => f.manager === manager && f.subresource === 'status');
  const carried: Condition[] = [];
  let body = owned;
  for (const { manager, condition, section } of [
    { manager: PLACEMENT_FIELD_MANAGER, condition: ConditionType.PlacementCompliant, section: 'placement' },
    { manager: KEYS_FIELD_MANAGER, condition: ConditionType.KeysReady, section: 'encryption' },
  ] as const) {
    if (claimed(manager)) continue;
    const c = getCondition(hub.status?.conditions, condition);
    if (c) carried.push(c);
    const value = hub.status?.[section];
    if (value) body = { ...body, [section]: value };
  }
  if (carried.length === 0) return body;
  const conditions = [...(body.conditions ?? []), ...carried].sort((a, b) => a.type.localeCompare(b.type));
  return { ...body, conditions };
}

/** A status write to a hub deleted meanwhile: nothing to report on. */
function ignoreGone(e: unknown): false {
  if (statusCode(e) === 404) return false;
  throw e;
}

function soonest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/**
 * The hub controller, keyed by hub: finalizer, storage, datastore and deletion, and the
 * summary conditions (Ready, Reconciling, Stalled) derived from every component's condition,
 * PlacementCompliant included as the placement controller wrote it. Pods are none of its business.
 */
export class HubReconciler implements Reconciler {
  /** The status this controller wrote that its hub cache may not show yet. */
  private readonly written = new WrittenStatus<HealthDataHubStatus>();

  constructor(private readonly d: HubReconcilerDeps) {}

  async reconcile(key: string, signal?: AbortSignal): Promise<ReconcileResult | void> {
    const [namespace, name] = key.split('/') as [string, string];
    // First of all, before any pod of a hub exists: the namespace becomes (or stops being)
    // sovereign territory for the policies of the hubs it holds (never a system namespace).
    await this.d.namespaces.sync(namespace);
    const refusal = systemNamespaceRefusal(namespace, this.d.operatorNamespace);
    if (refusal) return this.refuse(key, refusal);
    const hub = this.d.hubs.get(key);
    if (!hub) {
      // deleted: nothing else of ours to report on
      this.d.storage.forget(namespace, name);
      return;
    }
    // The placement controller goes on auditing a hub being deleted, however long someone's
    // finalizer keeps it; the deletion runs, even for a suspended hub.
    if (hub.metadata.deletionTimestamp) return this.finalize(hub, signal);
    const policy = this.d.policies.get(hub.spec.policyName);
    const nodes = schedulableNodes(this.d.nodes.list());
    // Storage, keys and datastore: only for a hub that is not suspended and whose input holds.
    let components: HubComponents | undefined;
    let requeue: number | undefined;
    // A refusal of this controller's own writes (the keys controller reports and retries its own).
    let refused: boolean | undefined;
    const namespaceLabels = this.d.namespaces.labelsOf(namespace);
    if (
      !hub.spec.suspend &&
      policy &&
      checkReferences(hub, policy, this.d.platform, namespaceLabels).length === 0
    ) {
      ({ components, requeueAfterMs: requeue, refused } = await this.reconcileData(hub, policy, signal));
    }
    const observation = { hub, policy, nodes, components, platform: this.d.platform, namespaceLabels };
    const status = hub.spec.suspend
      ? suspendedHubStatus(observation, new Date())
      : desiredHubStatus(observation, new Date());
    await this.writeStatus(hub, status);
    await this.reportChanges(hub, status).then(() => this.reportStorage(hub, status));
    if (refused && components?.stalled) {
      await this.reportRefusal(hub, components.stalled);
      // Tried again with a growing delay, and at once when the hub or its policy changes.
      return requeue === undefined ? { backoff: true } : { requeueAfterMs: requeue, backoff: true };
    }
    return requeue === undefined ? undefined : { requeueAfterMs: requeue };
  }

  /**
   * Applies the hub controller's part of the status when it changed; false when it had not. The
   * parts of the placement and keys controllers are sent as they are until their field managers
   * own them: an earlier version wrote them under this controller's manager, and server-side apply
   * would remove what this manager stops sending before their controllers take them over.
   */
  private async writeStatus(hub: HealthDataHub, status: HealthDataHubStatus): Promise<boolean> {
    const body = withUnclaimedParts(hub, hubOwnedStatus(status));
    const current = this.written.current(hub, withUnclaimedParts(hub, hubOwnedStatus(hub.status)));
    if (statusUnchanged(current, body)) return false;
    const resourceVersion = await this.d.writer.applyStatus(
      HEALTH_DATA_HUB,
      hub.metadata.name!,
      hub.metadata.namespace,
      body,
    );
    this.written.remember(hub, resourceVersion, body);
    return true;
  }

  /**
   * A Warning Event for a refusal of the API server, once per new message (the Ready Event says
   * the same when Ready changes; the recorder folds the two into one).
   */
  private async reportRefusal(
    hub: HealthDataHub,
    stalled: { reason: string; message: string },
  ): Promise<void> {
    const before = getCondition(hub.status?.conditions, ConditionType.Stalled);
    if (before?.status === ConditionStatus.True && before.message === stalled.message) return;
    this.d.log.warn('the API server refused an object of the hub', {
      hub: `${hub.metadata.namespace}/${hub.metadata.name}`,
      reason: stalled.message,
    });
    await this.d.events.record(hub, 'Warning', stalled.reason, stalled.message);
  }

  /**
   * finalizer -> storage class -> adoption -> growth -> datastore (once the keys controller reports
   * KeysReady) -> volume audit. Each step
   * that fails stops the ones that would create something; the report covers every component.
   */
  private async reconcileData(
    hub: HealthDataHub,
    policy: SovereigntyPolicy,
    signal?: AbortSignal,
  ): Promise<{ components: HubComponents; requeueAfterMs?: number; refused?: boolean }> {
    // Before anything exists, so that nothing of the hub can outlive it unaccounted for.
    if (!hub.metadata.finalizers?.includes(FINALIZER)) {
      await this.d.writer.addFinalizer(HEALTH_DATA_HUB, hub, FINALIZER);
    }
    const nodes = this.allNodes();
    const storageClass = this.d.storage.checkClass(hub, policy, nodes);
    // The audit only reads: it reports volumes outside the regions whatever else is wrong.
    const audit = this.d.storage.audit(hub, policy, nodes);
    const conditions: ConditionUpdate[] = [];
    let live = this.d.datastore.live(hub);
    let requeueAfterMs: number | undefined;
    // What the steps found so far: a refusal reports them with the refused object's condition.
    const verdicts: Parameters<typeof storageReport>[2] = { storageClass };
    const report = () => {
      const storage = storageReport(hub, policy.spec.regions, { ...verdicts, audit });
      const datastore = datastoreReport(hub, live);
      conditions.push(storage.condition, datastore.condition);
      const components: HubComponents = {
        conditions,
        storage: storage.status,
        datastore: datastore.status,
      };
      return requeueAfterMs === undefined ? { components } : { components, requeueAfterMs };
    };

    // Keys only a person can unblock stall the hub (kstatus Stalled, not InProgress forever).
    const keys = keysReadiness(hub);
    const stall = (result: ReturnType<typeof report>) => {
      if (keys.blocked && !result.components.stalled) result.components.stalled = keys.blocked;
      return result;
    };
    if (!storageClass.ok) return stall(report());
    try {
      const adoption = await this.d.storage.adopt(hub);
      requeueAfterMs = soonest(requeueAfterMs, adoption.requeueAfterMs);
      verdicts.adoption = adoption.plan;
      if (adoption.plan.conflicts.length) return stall(report());
      // Claims grow first: the StatefulSet's claim template follows (datastore step).
      const growth = await this.d.storage.grow(hub);
      requeueAfterMs = soonest(requeueAfterMs, growth.requeueAfterMs);
      verdicts.growth = growth.plan;
      requeueAfterMs = soonest(requeueAfterMs, (await this.d.storage.dropLegacyLabels(hub)).requeueAfterMs);
      signal?.throwIfAborted();
      // The datastore waits for its keys: KeysReady, as the keys controller reported it.
      if (keys.ready) {
        const delivery = dekDelivery(hub, {
          ...this.d.delivery,
          activeVersion: hub.status?.encryption?.activeVersion,
        });
        const outcome = await this.d.datastore.apply(hub, policy, delivery);
        if (outcome.ok) {
          live = outcome.live;
          requeueAfterMs = soonest(requeueAfterMs, outcome.requeueAfterMs);
        } else {
          const result = report();
          result.components.conditions = result.components.conditions.map((c) =>
            c.type === ConditionType.DatastoreReady
              ? { ...c, status: ConditionStatus.False, reason: outcome.reason, message: outcome.message }
              : c,
          );
          return stall(result);
        }
      }
      return stall(report());
    } catch (e) {
      // What the API server refuses to store is reported (with backoff), not retried blindly:
      // only a change of the hub, its policy or the platform can lift it.
      if (!(e instanceof WriteRefused)) throw e;
      const refusal = refusalReport(hub, e);
      const result = report();
      const others = result.components.conditions.filter((c) => c.type !== refusal.condition.type);
      result.components.conditions = [...others, refusal.condition];
      result.components.stalled = refusal.stalled;
      return { ...result, refused: true };
    }
  }

  /**
   * A hub in a system namespace: Stalled, nothing else (no namespace label, storage, keys, audit or
   * eviction). Its deletion still runs, so a finalizer an earlier version added never holds it.
   */
  private async refuse(key: string, refusal: string): Promise<ReconcileResult | void> {
    const hub = this.d.hubs.get(key);
    if (!hub) return;
    if (hub.metadata.deletionTimestamp) return this.finalize(hub);
    const status = systemNamespaceHubStatus(hub, refusal, new Date());
    if (!(await this.writeStatus(hub, status))) return;
    await this.d.events.record(hub, 'Warning', Reason.SystemNamespace, refusal);
  }

  /** The finalizer's work; a cleanup that cannot finish says why (DeletionBlocked) and retries. */
  private async finalize(hub: HealthDataHub, signal?: AbortSignal): Promise<ReconcileResult | void> {
    let message: string;
    let requeueAfterMs: number | undefined;
    try {
      const outcome = await finalizeHub(this.d.deletion, hub, signal);
      if (outcome.done) return;
      ({ message, requeueAfterMs } = outcome);
    } catch (e) {
      // Stopping (leadership lost, shutdown) is not a blocked deletion: the next leader goes on.
      if (signal?.aborted) throw e;
      message = `the deletion could not finish: ${describeError(e)}`;
    }
    const update: ConditionUpdate = {
      type: ConditionType.Ready,
      status: ConditionStatus.False,
      reason: Reason.DeletionBlocked,
      message: `${message}; the finalizer ${FINALIZER} stays until it can, and nothing is deleted meanwhile`,
      observedGeneration: hub.metadata.generation ?? 0,
    };
    const status: HealthDataHubStatus = {
      ...(hub.status ?? {}),
      conditions: setCondition(hub.status?.conditions, update, new Date()),
    };
    if (await this.writeStatus(hub, status).catch(ignoreGone)) {
      await this.d.events.record(hub, 'Warning', Reason.DeletionBlocked, update.message);
    }
    this.d.log.warn('hub deletion blocked', {
      hub: `${hub.metadata.namespace}/${hub.metadata.name}`,
      reason: message,
    });
    return { requeueAfterMs: requeueAfterMs ?? DELETION_RETRY_MS };
  }

  /** Every node by name, as the node verdict reads it: where `local` volumes and zones are. */
  private allNodes(): Map<string, NodeFacts> {
    return new Map(this.d.nodes.list().map((n) => [n.metadata!.name!, nodeFacts(n)]));
  }

  /**
   * Warning Events for storage problems that need a person, once per change of the condition
   * (a lasting violation is not re-announced on every reconcile: that would be a write at rest).
   */
  private async reportStorage(hub: HealthDataHub, status: HealthDataHubStatus): Promise<void> {
    const before = getCondition(hub.status?.conditions, ConditionType.StorageReady);
    const after = getCondition(status.conditions, ConditionType.StorageReady);
    if (!after || after.status !== ConditionStatus.False) return;
    if (before?.reason === after.reason && before.message === after.message) return;
    if (after.reason === Reason.VolumeOutsideJurisdiction || after.reason === Reason.ExpansionNotSupported) {
      await this.d.events.record(hub, 'Warning', after.reason, after.message);
    }
  }

  /** An Event when Ready changes (the placement controller says what changed in placement). */
  private async reportChanges(hub: HealthDataHub, status: HealthDataHubStatus): Promise<void> {
    const readyBefore = getCondition(hub.status?.conditions, ConditionType.Ready);
    const readyAfter = getCondition(status.conditions, ConditionType.Ready);
    if (
      !readyAfter ||
      (readyBefore?.status === readyAfter.status && readyBefore?.reason === readyAfter.reason)
    ) {
      return;
    }
    this.d.log.info('hub status changed', {
      hub: `${hub.metadata.namespace}/${hub.metadata.name}`,
      ready: readyAfter.status,
      reason: readyAfter.reason,
    });
    // The placement controller's Event already says it, with the pods named.
    if (readyAfter.reason === Reason.PodsOutsidePolicy) return;
    if (readyAfter.status === 'False') {
      await this.d.events.record(hub, 'Warning', readyAfter.reason, readyAfter.message);
    } else if (readyAfter.status === 'True') {
      await this.d.events.record(hub, 'Normal', readyAfter.reason, readyAfter.message);
    }
  }
}
