import {
  ConditionStatus,
  ConditionType,
  getCondition,
  Reason,
  mergeConditions,
  setCondition,
  summarizeReady,
  type Condition,
  type ConditionUpdate,
  type HealthDataHub,
  type HealthDataHubStatus,
  type HubDatastoreStatus,
  type HubEncryptionStatus,
  type HubStorageStatus,
  type SovereigntyPolicy,
} from '../api/index.js';
import { countEligibleNodes, type NodeFacts } from '../placement/compliance.js';
import { noEligibleNodesMessage, reportsOnly } from '../placement/hub-status.js';
import type { Labels } from '../policy/eligibility.js';
import { KEYS_BLOCKED_REASONS } from '../keys/blocked.js';
import { checkReferences, type PlatformSettings } from './references.js';

export interface HubObservation {
  hub: HealthDataHub;
  policy: SovereigntyPolicy | undefined;
  /** The nodes that can take pods (Ready, schedulable): counted with the one node verdict. */
  nodes: readonly NodeFacts[];
  /**
   * What the storage, keys and datastore steps found (StorageReady, KeysReady, DatastoreReady and
   * their status sections). Undefined when they did not run (the hub's input must be fixed first).
   */
  components?: HubComponents;
  /** The operator's flags that hubs are checked against (default: DEFAULT_PLATFORM_SETTINGS). */
  platform?: PlatformSettings | undefined;
  /** The labels of the hub's namespace, for the policy's namespaceSelector. */
  namespaceLabels?: Labels | undefined;
}

export interface HubComponents {
  conditions: ConditionUpdate[];
  storage?: HubStorageStatus;
  datastore?: HubDatastoreStatus;
  encryption?: HubEncryptionStatus;
  /**
   * Set when progress needs a change of input the steps cannot make (the API server refused an
   * object rendered from the hub, or keys only a person can unblock): Stalled, and Ready False,
   * with this reason and message.
   */
  stalled?: { reason: string; message: string };
}

/** The status the hub should have, computed from what was observed (pure). */
export function desiredHubStatus(obs: HubObservation, now: Date): HealthDataHubStatus {
  const { hub, policy } = obs;
  const generation = hub.metadata.generation ?? 0;
  const updates: ConditionUpdate[] = [];
  const cond = (type: string, status: ConditionStatus, reason: string, message: string) =>
    updates.push({ type, status, reason, message, observedGeneration: generation });

  const failures = checkReferences(hub, policy, obs.platform, obs.namespaceLabels);
  const eligible = policy ? countEligibleNodes(obs.nodes, policy.spec, hub.spec.placement?.regions) : 0;

  updates.push(...failures);
  // Components are reported only for input that holds (the caller runs them only then).
  const components = failures.length === 0 ? obs.components : undefined;
  if (components) updates.push(...components.conditions);
  // PlacementCompliant is the placement controller's: read here, for Ready, never written.
  const placementBlocked = !policy || failures.some((f) => f.type === ConditionType.PlacementCompliant);
  const placement = placementBlocked ? undefined : currentPlacement(hub);
  if (placement) updates.push(placement);
  // KeysReady likewise is the keys controller's (stale ones are read as pending).
  const keys = getCondition(hub.status?.conditions, ConditionType.KeysReady);
  if (components && keys) updates.push({ ...keys, observedGeneration: keys.observedGeneration ?? 0 });
  const noEligible =
    placement?.status === ConditionStatus.False && placement.reason === Reason.NoEligibleNodes
      ? noEligibleNodesMessage(hub)
      : undefined;

  const first = failures[0];
  const stalled = components?.stalled;
  /** Whether Ready would be True with the given component condition counted as True. */
  const readyBut = (ignored?: string): boolean =>
    summarizeReady(
      mergeConditions(
        undefined,
        updates.map((u) => (u.type === ignored ? { ...u, status: ConditionStatus.True } : u)),
        now,
      ),
      generation,
    ).status === ConditionStatus.True;
  if (first) {
    cond(ConditionType.Stalled, ConditionStatus.True, first.reason, first.message);
    cond(ConditionType.Reconciling, ConditionStatus.False, first.reason, 'waiting for the input to be fixed');
  } else if (stalled) {
    cond(ConditionType.Stalled, ConditionStatus.True, stalled.reason, stalled.message);
    cond(
      ConditionType.Reconciling,
      ConditionStatus.False,
      stalled.reason,
      'waiting for the input to be fixed',
    );
  } else if (noEligible) {
    cond(ConditionType.Stalled, ConditionStatus.True, Reason.NoEligibleNodes, noEligible);
    cond(
      ConditionType.Reconciling,
      ConditionStatus.False,
      Reason.NoEligibleNodes,
      'waiting for eligible nodes',
    );
  } else if (
    policy &&
    placement?.status === ConditionStatus.False &&
    placement.reason === Reason.PodsOutsidePolicy &&
    reportsOnly(policy) &&
    readyBut(ConditionType.PlacementCompliant)
  ) {
    // Pods outside a policy that only reports them: nothing the operator does will move them, so
    // this is not work in progress (kstatus would read InProgress forever); Ready stays False.
    cond(
      ConditionType.Reconciling,
      ConditionStatus.False,
      Reason.PodsOutsidePolicy,
      'nothing left to do: the pods outside the policy are reported, not removed; move or delete them',
    );
  } else if (
    // kstatus reads Reconciling=True as InProgress: it is True only while this generation is
    // being worked on, and False (not absent: `kubectl wait --for=condition=Reconciling=False`
    // waits for a condition that exists) once every component is ready.
    !readyBut()
  ) {
    cond(
      ConditionType.Reconciling,
      ConditionStatus.True,
      Reason.Reconciling,
      `SovereigntyPolicy "${hub.spec.policyName}" accepted with ${eligible} eligible node(s); storage, keys and datastore are reported as they are reconciled`,
    );
  } else {
    cond(
      ConditionType.Reconciling,
      ConditionStatus.False,
      Reason.AllReady,
      `generation ${generation} is reconciled: placement, storage, keys and datastore are ready`,
    );
  }

  const merged = mergeConditions(hub.status?.conditions, updates, now);
  return {
    ...(hub.status ?? {}),
    observedGeneration: generation,
    // A refusal says what blocks the hub more precisely than the claims it keeps from existing.
    conditions: withReady(hub, merged, generation, now, first ? undefined : stalled),
    ...(components?.storage ? { storage: components.storage } : {}),
    ...(components?.datastore ? { datastore: components.datastore } : {}),
    ...(components?.encryption ? { encryption: components.encryption } : {}),
  };
}

/**
 * The status of a hub the operator refuses to act for (systemNamespaceRefusal): Stalled, and Ready
 * False with the same reason; every other condition of an earlier version is dropped, since
 * nothing is reconciled.
 */
export function systemNamespaceHubStatus(
  hub: HealthDataHub,
  message: string,
  now: Date,
): HealthDataHubStatus {
  const generation = hub.metadata.generation ?? 0;
  const c = (type: string, status: ConditionStatus): ConditionUpdate => ({
    type,
    status,
    reason: Reason.SystemNamespace,
    message,
    observedGeneration: generation,
  });
  const conditions = mergeConditions(
    hub.status?.conditions,
    [
      c(ConditionType.Ready, ConditionStatus.False),
      c(ConditionType.Stalled, ConditionStatus.True),
      c(ConditionType.Reconciling, ConditionStatus.False),
    ],
    now,
  );
  return { observedGeneration: generation, conditions };
}

/**
 * The status of a suspended hub: nothing changes but the placement audit, which goes on so the
 * hub stays held to its policy (spec.suspend). Input that does not hold (no policy, a region or
 * provider it does not allow) is reported as for any hub — Stalled, Ready False — since resuming
 * could not help; the other conditions stay as they were.
 */
export function suspendedHubStatus(obs: HubObservation, now: Date): HealthDataHubStatus {
  const { hub, policy } = obs;
  const generation = hub.metadata.generation ?? 0;
  const failures = checkReferences(hub, policy, obs.platform, obs.namespaceLabels);
  const first = failures[0];
  if (first) {
    const stalled = (type: string, status: ConditionStatus, message: string): ConditionUpdate => ({
      type,
      status,
      reason: first.reason,
      message,
      observedGeneration: generation,
    });
    let conditions = (hub.status?.conditions ?? []).filter((c) => c.type !== ConditionType.Ready);
    for (const u of [
      ...failures,
      stalled(ConditionType.Stalled, ConditionStatus.True, first.message),
      stalled(ConditionType.Reconciling, ConditionStatus.False, 'waiting for the input to be fixed'),
    ])
      conditions = setCondition(conditions, u, now);
    return {
      ...(hub.status ?? {}),
      observedGeneration: generation,
      conditions: withReady(hub, conditions, generation, now, {
        reason: first.reason,
        message: first.message,
      }),
    };
  }
  if (!policy) return hub.status ?? {};
  // Nothing is being worked on and no input blocks the hub: Reconciling False and no Stalled, so
  // kstatus reads the suspended hub from Ready (Unknown: InProgress), never from the Reconciling
  // or Stalled of the generation before the suspension.
  // A KeysReady refusal written above while the input did not hold goes too: it no longer holds.
  const others = (hub.status?.conditions ?? []).filter(
    (c) =>
      c.type !== ConditionType.PlacementCompliant &&
      c.type !== ConditionType.Ready &&
      c.type !== ConditionType.Stalled &&
      !(c.type === ConditionType.KeysReady && REFERENCE_REFUSALS.has(c.reason)),
  );
  const conditions = setCondition(
    others.concat(getCondition(hub.status?.conditions, ConditionType.PlacementCompliant) ?? []),
    suspendedReconciling(generation),
    now,
  );
  // Not known while suspended, and said so: a suspended hub's components are not reconciled.
  const pending = summarizeReady(conditions, generation).status === ConditionStatus.Unknown;
  return {
    ...(hub.status ?? {}),
    // Observed: the spec says suspend (kstatus waits for this to match metadata.generation).
    observedGeneration: generation,
    conditions: withReady(
      hub,
      conditions,
      generation,
      now,
      pending
        ? {
            status: ConditionStatus.Unknown,
            reason: Reason.Suspended,
            message:
              'spec.suspend is true: storage, keys and the datastore are not reconciled until it is false; ' +
              'placement is still audited',
          }
        : undefined,
    ),
  };
}

/** The KeysReady reasons of checkReferences: refusals of the input, not verdicts of the keys step. */
const REFERENCE_REFUSALS: ReadonlySet<string> = new Set([
  Reason.KeyProviderNotAllowed,
  Reason.Pkcs11ModuleNotAllowed,
  Reason.Pkcs11TokenNotAllowed,
]);

/** Reconciling of a suspended hub: False, since nothing is reconciled until spec.suspend is false. */
function suspendedReconciling(generation: number): ConditionUpdate {
  return {
    type: ConditionType.Reconciling,
    status: ConditionStatus.False,
    reason: Reason.Suspended,
    message: 'spec.suspend is true: nothing is reconciled until it is false',
    observedGeneration: generation,
  };
}

/**
 * Ready is computed from the others; its previous value carries its lastTransitionTime. It always
 * comes first, so the order of the list is stable and an unchanged status compares equal.
 */
function withReady(
  hub: HealthDataHub,
  conditions: Condition[],
  generation: number,
  now: Date,
  /** Ready with this reason and message (False unless said), whatever the others say. */
  blocked?: { status?: ConditionStatus; reason: string; message: string },
): Condition[] {
  const previousReady = getCondition(hub.status?.conditions, ConditionType.Ready);
  const summary: ConditionUpdate = blocked
    ? {
        type: ConditionType.Ready,
        status: blocked.status ?? ConditionStatus.False,
        reason: blocked.reason,
        message: blocked.message,
        observedGeneration: generation,
      }
    : summarizeReady(conditions, generation);
  const [ready] = setCondition(previousReady ? [previousReady] : [], summary, now);
  return [ready!, ...conditions];
}

/**
 * The PlacementCompliant the placement controller wrote for this generation; undefined when it
 * has not audited this generation yet (summarizeReady then reads Ready as pending).
 */
function currentPlacement(hub: HealthDataHub): ConditionUpdate | undefined {
  const generation = hub.metadata.generation ?? 0;
  const c = getCondition(hub.status?.conditions, ConditionType.PlacementCompliant);
  return c && c.observedGeneration === generation ? { ...c, observedGeneration: generation } : undefined;
}

/**
 * The part of a hub's status the hub controller owns (and applies with its field manager):
 * everything but PlacementCompliant and status.placement, which are the placement controller's,
 * and KeysReady and status.encryption, which are the keys controller's.
 */
export function hubOwnedStatus(status: HealthDataHubStatus | undefined): HealthDataHubStatus {
  const { placement: _placement, encryption: _encryption, ...rest } = status ?? {};
  const conditions = rest.conditions
    ?.filter((c) => !OTHER_CONTROLLERS_CONDITIONS.has(c.type))
    .sort((a, b) => a.type.localeCompare(b.type));
  return conditions ? { ...rest, conditions } : rest;
}

const OTHER_CONTROLLERS_CONDITIONS: ReadonlySet<string> = new Set([
  ConditionType.PlacementCompliant,
  ConditionType.KeysReady,
]);

/**
 * How the keys controller reports the hub's keys for the current generation: whether the datastore
 * may be applied (KeysReady True: settings of a new generation, such as another token or Transit
 * address, are checked before the datastore's pods are rolled to them), and what only a person can
 * unblock (the hub is Stalled then). A verdict of an older generation is pending.
 */
export function keysReadiness(hub: HealthDataHub): {
  ready: boolean;
  blocked?: { reason: string; message: string };
} {
  const c = getCondition(hub.status?.conditions, ConditionType.KeysReady);
  if (!c || c.observedGeneration !== (hub.metadata.generation ?? 0)) return { ready: false };
  if (c.status === ConditionStatus.True) return { ready: true };
  if (c.status === ConditionStatus.False && KEYS_BLOCKED_REASONS.has(c.reason)) {
    return { ready: false, blocked: { reason: c.reason, message: c.message } };
  }
  return { ready: false };
}
