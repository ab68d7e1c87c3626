// The keys controller, keyed by hub: the hub's KEK at its provider and its wrapped DEKs (the key
// lifecycle), the builtin KEK access of its datastore pods, KeysReady and status.encryption,
// applied with its own field manager. Pods, volumes and the datastore never wake it: key custody
// work does not scale with pod churn, and an HSM is not asked for an unwrap when a pod changes.
import {
  ConditionType,
  FINALIZER,
  HEALTH_DATA_HUB,
  KEYS_FIELD_MANAGER,
  Reason,
  getCondition,
  setCondition,
  type Condition,
  type ConditionUpdate,
  type HealthDataHub,
  type HealthDataHubStatus,
  type SovereigntyPolicy,
} from '../../api/index.js';
import { HISTORY_CAPS, historyEntry, type HistoryEntry, type HistorySink } from '../../api/history.js';
import { systemNamespaceRefusal } from '../../api/system-namespaces.js';
import { checkReferences, type PlatformSettings } from '../../hub/references.js';
import { refusalReport } from '../../hub/refusal.js';
import type { KeyGate, KeyGateResult } from '../../hub/steps/keys.js';
import type { StatusWriter } from '../../runtime/apply.js';
import type { Cache } from '../../runtime/cache.js';
import type { ReconcileResult, Reconciler } from '../../runtime/controller.js';
import { statusCode, WriteRefused } from '../../runtime/errors.js';
import type { EventSink } from '../../runtime/events.js';
import type { Logger } from '../../runtime/logging.js';
import { statusUnchanged, WrittenStatus } from '../../runtime/status.js';
import type { NamespaceLabels } from '../placement/reconciler.js';

export interface KeysReconcilerDeps {
  hubs: Cache<HealthDataHub>;
  policies: Cache<SovereigntyPolicy>;
  namespaces: Pick<NamespaceLabels, 'labelsOf'>;
  keys: KeyGate;
  /**
   * Why the hub's StorageClass is refused, if it is: nothing of the hub is created then, keys
   * included (StorageReady says so; the hub controller reports it).
   */
  storageClassRefusal: (hub: HealthDataHub, policy: SovereigntyPolicy) => string | undefined;
  /** Applies KeysReady and status.encryption, with the keys controller's field manager. */
  status: StatusWriter;
  events: EventSink;
  /** The durable history: key rotations. */
  history?: HistorySink;
  log: Logger;
  platform?: PlatformSettings;
  operatorNamespace?: string;
  now?: () => Date;
}

/** The KeysReady reasons of checkReferences: refusals of the input, not verdicts of the keys. */
const REFERENCE_REFUSALS: ReadonlySet<string> = new Set([
  Reason.KeyProviderNotAllowed,
  Reason.Pkcs11ModuleNotAllowed,
  Reason.Pkcs11TokenNotAllowed,
]);

/** What the keys controller owns of a hub's status. */
interface KeysSection {
  condition?: Condition | undefined;
  encryption?: HealthDataHubStatus['encryption'];
}

export class KeysReconciler implements Reconciler {
  /** The keys sections this controller wrote that its hub cache may not show yet. */
  private readonly written = new WrittenStatus<KeysSection>();

  constructor(private readonly d: KeysReconcilerDeps) {}

  async reconcile(key: string, signal?: AbortSignal): Promise<ReconcileResult | void> {
    const cached = this.d.hubs.get(key);
    if (!cached) return;
    const hub = this.asWritten(cached);
    const namespace = hub.metadata.namespace!;
    // A system namespace's hub is refused whole; a deleted hub's keys are its deletion's to
    // keep or destroy (the hub controller's finalizer).
    if (systemNamespaceRefusal(namespace, this.d.operatorNamespace)) return;
    const current = getCondition(hub.status?.conditions, ConditionType.KeysReady);
    if (hub.metadata.deletionTimestamp) {
      // Kept under this controller's field manager (after an upgrade): the deletion reads
      // status.encryption to know which KEK the hub used.
      return this.write(hub, { condition: current, encryption: hub.status?.encryption });
    }
    const policy = this.d.policies.get(hub.spec.policyName);
    const failures = checkReferences(hub, policy, this.d.platform, this.d.namespaces.labelsOf(namespace));
    const refusal = failures.filter((f) => f.type === ConditionType.KeysReady).at(-1);
    if (refusal)
      return this.write(hub, { condition: this.merge(hub, refusal), encryption: hub.status?.encryption });
    if (!policy || failures.length > 0 || hub.spec.suspend) {
      // Nothing to do until the input holds or the hub is resumed; a refusal of the input it no
      // longer has goes, and what is there is kept under this controller's field manager.
      const stale = current && REFERENCE_REFUSALS.has(current.reason);
      await this.write(hub, { condition: stale ? undefined : current, encryption: hub.status?.encryption });
      return;
    }
    // The finalizer first (the hub controller adds it): no key exists that the hub's deletion
    // would not account for. Its addition wakes this controller.
    if (!hub.metadata.finalizers?.includes(FINALIZER)) return;
    // A class that is refused holds everything back; its change wakes this controller.
    if (this.d.storageClassRefusal(hub, policy)) {
      return this.write(hub, { condition: current, encryption: hub.status?.encryption });
    }
    let result;
    try {
      result = await this.d.keys.ensure(hub, policy, signal);
    } catch (e) {
      signal?.throwIfAborted();
      // The API server refused a key-access object rendered from the hub: only a change of the
      // hub or the platform can lift it; tried again with a growing delay.
      if (!(e instanceof WriteRefused)) throw e;
      const { condition } = refusalReport(hub, e);
      await this.write(hub, { condition: this.merge(hub, condition), encryption: hub.status?.encryption });
      if (current?.message !== condition.message) {
        await this.d.events.record(hub, 'Warning', condition.reason, condition.message);
      }
      return { backoff: true };
    }
    signal?.throwIfAborted();
    // Before the status write, which a rotation's record is derived from on the next pass.
    await this.recordRotations(hub, result);
    await this.write(hub, {
      condition: result.condition ? this.merge(hub, result.condition) : current,
      encryption: result.encryption ?? hub.status?.encryption,
    });
    for (const e of result.events ?? []) await this.d.events.record(hub, e.type, e.reason, e.note);
    return result.requeueAfterMs === undefined ? undefined : { requeueAfterMs: result.requeueAfterMs };
  }

  /** The hub with the keys section this controller last wrote, if its cache lags behind. */
  private asWritten(hub: HealthDataHub): HealthDataHub {
    const conditions = hub.status?.conditions ?? [];
    const cached: KeysSection = {
      condition: getCondition(conditions, ConditionType.KeysReady),
      encryption: hub.status?.encryption,
    };
    const current = this.written.current(hub, cached);
    if (current === cached) return hub;
    const others = conditions.filter((c) => c.type !== ConditionType.KeysReady);
    const { encryption: _stale, ...rest } = hub.status ?? {};
    return {
      ...hub,
      status: {
        ...rest,
        conditions: current.condition ? [...others, current.condition] : others,
        ...(current.encryption ? { encryption: current.encryption } : {}),
      },
    };
  }

  /**
   * Each version a rotation added, in the durable history (the Event that says it expires):
   * this pass's rotation, and every version added since the one the hub's status records as
   * active, of the same KEK. So a rotation whose record was lost (the operator stopped after it,
   * or the status write failed) is recorded on the next pass; the history keeps a version once.
   */
  private async recordRotations(hub: HealthDataHub, result: KeyGateResult): Promise<void> {
    const entries = rotationEntries(hub, result, this.d.now?.() ?? new Date());
    if (entries.length > 0) await this.d.history?.record(hub.metadata.namespace!, entries);
  }

  private merge(hub: HealthDataHub, update: ConditionUpdate): Condition {
    const previous = getCondition(hub.status?.conditions, ConditionType.KeysReady);
    return setCondition(previous ? [previous] : [], update, this.d.now?.() ?? new Date())[0]!;
  }

  /**
   * Applies the keys section when it changed, or when this controller's field manager does not
   * own it yet (an earlier version wrote it under the hub's manager, which would drop it).
   */
  private async write(hub: HealthDataHub, section: KeysSection): Promise<void> {
    const before = getCondition(hub.status?.conditions, ConditionType.KeysReady);
    const owned = hub.metadata.managedFields?.some(
      (f) => f.manager === KEYS_FIELD_MANAGER && f.subresource === 'status',
    );
    if (
      (owned || (!section.condition && !section.encryption)) &&
      statusUnchanged(before, section.condition) &&
      statusUnchanged(hub.status?.encryption, section.encryption)
    ) {
      return;
    }
    const status: HealthDataHubStatus = {
      conditions: section.condition ? [section.condition] : [],
      ...(section.encryption ? { encryption: section.encryption } : {}),
    };
    const resourceVersion = await this.d.status
      .applyStatus(HEALTH_DATA_HUB, hub.metadata.name!, hub.metadata.namespace, status)
      .catch((e: unknown) => {
        if (statusCode(e) !== 404) throw e;
        return undefined;
      });
    this.written.remember(hub, resourceVersion, section);
  }
}

/** The KeyRotated entries of a keys reconcile (see KeysReconciler.recordRotations). */
function rotationEntries(hub: HealthDataHub, result: KeyGateResult, now: Date): HistoryEntry[] {
  const before = hub.status?.encryption;
  const after = result.encryption;
  const kekRef = after?.keyRef ?? before?.keyRef;
  const rotated = (result.events ?? []).filter((e) => e.reason === Reason.KeyRotated).at(-1);
  const to = after?.activeVersion;
  const entry = (message: string, keyVersion?: number) =>
    historyEntry(hub, now, {
      type: 'KeyRotated',
      reason: Reason.KeyRotated,
      ...(kekRef ? { kekRef } : {}),
      ...(keyVersion !== undefined ? { keyVersion } : {}),
      message: kekRef ? `${message}; key-encryption key ${kekRef}` : message,
    });
  if (to === undefined) return rotated ? [entry(rotated.note)] : [];
  // Only versions of the KEK on record: keys made anew or adopted start their own count.
  const from =
    before?.keyRef !== undefined && before.keyRef === after?.keyRef ? before.activeVersion : undefined;
  const versions = new Set<number>();
  // No more than the history keeps of them.
  for (let v = Math.max((from ?? to) + 1, to - HISTORY_CAPS.KeyRotated + 1); v <= to; v++) versions.add(v);
  if (rotated) versions.add(to);
  return [...versions]
    .sort((a, b) => a - b)
    .map((v) =>
      v === to && rotated
        ? entry(rotated.note, v)
        : entry(
            `key version ${v} was added and made active; found on a later pass (status.encryption still ` +
              `recorded version ${from} as active): the record of its rotation was interrupted`,
            v,
          ),
    );
}
