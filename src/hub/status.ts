import {
  ConditionStatus,
  ConditionType,
  getCondition,
  Reason,
  setCondition,
  summarizeReady,
  formatTime,
  type Condition,
  type ConditionUpdate,
  type HealthDataHub,
  type HealthDataHubStatus,
  type HubDatastoreStatus,
  type HubEncryptionStatus,
  type HubPlacementStatus,
  type HubStorageStatus,
  type PlacementViolation,
  type SovereigntyPolicy,
} from '../api/index.js';
import { describeViolations, sameViolations, statusViolations } from '../placement/audit.js';
import { countEligibleNodes, type NodeFacts } from '../placement/compliance.js';
import { DEFAULT_EVICTION_TIMEOUT, DEFAULT_MAX_GRACE_PERIOD_SECONDS } from '../placement/remediation.js';
import type { Labels } from '../policy/eligibility.js';
import { checkReferences, type PlatformSettings } from './references.js';

export interface HubObservation {
  hub: HealthDataHub;
  policy: SovereigntyPolicy | undefined;
  /** The nodes that can take pods (Ready, schedulable): counted with the one node verdict. */
  nodes: readonly NodeFacts[];
  /**
   * The placement audit of the hub's namespace (src/placement/audit.ts), every violation in pod
   * order; the status lists the first 64. Undefined when no audit ran.
   */
  violations?: readonly PlacementViolation[];
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

/** An object write the API server refused (src/runtime/errors.ts WriteRefused). */
export interface RefusedWrite {
  kind: string;
  /** `StatefulSet ns/name`. */
  subject: string;
  code: number;
  serverMessage: string;
}

/** The condition that reports an object of the given kind. */
function conditionOfKind(kind: string): string {
  switch (kind) {
    case 'ServiceAccount':
    case 'Role':
    case 'RoleBinding':
    case 'Secret':
      return ConditionType.KeysReady;
    case 'PersistentVolumeClaim':
      return ConditionType.StorageReady;
    default:
      // StatefulSet, Service, PodDisruptionBudget
      return ConditionType.DatastoreReady;
  }
}

/**
 * What a refusal of the API server becomes: the condition of the refused object's component
 * False with reason ApiServerRefused and the server's message, and what to do about it. 403 is
 * the platform's to fix (RBAC, a quota, an admission webhook); any other refusal the spec's.
 */
export function refusalReport(
  hub: HealthDataHub,
  refused: RefusedWrite,
): { condition: ConditionUpdate; stalled: { reason: string; message: string } } {
  const fix =
    refused.code === 403
      ? 'the operator is not allowed to write it (its RBAC, a ResourceQuota or an admission webhook refuses): ' +
        'ask the platform team'
      : `fix the hub's spec (or the tolerations and node requirements of SovereigntyPolicy ` +
        `"${hub.spec.policyName}") so that it renders a valid object`;
  const message =
    `the API server refused ${refused.subject} (${refused.code}): ${refused.serverMessage}; ${fix}. ` +
    'Retried with a growing delay, and at once when the hub changes';
  return {
    condition: {
      type: conditionOfKind(refused.kind),
      status: ConditionStatus.False,
      reason: Reason.ApiServerRefused,
      message,
      observedGeneration: hub.metadata.generation ?? 0,
    },
    stalled: { reason: Reason.ApiServerRefused, message },
  };
}

/**
 * Applies `updates` to the previous conditions and drops every other type, so conditions that no
 * longer apply disappear while unchanged ones keep their lastTransitionTime.
 */
export function mergeConditions(
  previous: Condition[] | undefined,
  updates: ConditionUpdate[],
  now: Date,
): Condition[] {
  let list = (previous ?? []).filter((c) => updates.some((u) => u.type === c.type));
  for (const u of updates) list = setCondition(list, u, now);
  return list;
}

/** The status the hub should have, computed from what was observed (pure). */
export function desiredHubStatus(obs: HubObservation, now: Date): HealthDataHubStatus {
  const { hub, policy } = obs;
  const generation = hub.metadata.generation ?? 0;
  const updates: ConditionUpdate[] = [];
  const cond = (type: string, status: ConditionStatus, reason: string, message: string) =>
    updates.push({ type, status, reason, message, observedGeneration: generation });

  const violations = obs.violations ?? [];
  const failures = checkReferences(hub, policy, obs.platform, obs.namespaceLabels);
  const eligible = policy ? countEligibleNodes(obs.nodes, policy.spec, hub.spec.placement?.regions) : 0;

  updates.push(...failures);
  // Components are reported only for input that holds (the caller runs them only then).
  const components = failures.length === 0 ? obs.components : undefined;
  if (components) updates.push(...components.conditions);
  // Placement has its own verdict as soon as the policy is known and the hub's regions fit it,
  // whatever else blocks the hub: pods outside the policy are reported in every case.
  const placementBlocked = !policy || failures.some((f) => f.type === ConditionType.PlacementCompliant);
  let noEligible: string | undefined;
  if (!placementBlocked && eligible === 0) {
    noEligible = `no Ready node satisfies SovereigntyPolicy "${hub.spec.policyName}"${hub.spec.placement?.regions?.length ? ` within regions [${hub.spec.placement.regions.join(', ')}]` : ''}: label compliant nodes or widen the hub's placement.regions; nothing is deleted meanwhile`;
    cond(
      ConditionType.PlacementCompliant,
      ConditionStatus.False,
      Reason.NoEligibleNodes,
      violations.length
        ? `${noEligible}; ${describeViolations(violations)} (reported, not evicted)`
        : noEligible,
    );
  } else if (!placementBlocked && obs.violations) {
    updates.push(placementCompliance(obs.violations, policy, generation));
  }

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
    obs.violations?.length &&
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
    placement: placementStatus(hub.status?.placement, eligible, obs.violations, now),
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
  if (!policy || !obs.violations) return hub.status ?? {};
  const update = placementCompliance(obs.violations, policy, generation);
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
  const conditions = [update, suspendedReconciling(generation)].reduce(
    (list, u) => setCondition(list, u, now),
    others.concat(getCondition(hub.status?.conditions, ConditionType.PlacementCompliant) ?? []),
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
    placement: placementStatus(
      hub.status?.placement,
      hub.status?.placement?.eligibleNodes,
      obs.violations,
      now,
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
 * The status of a hub being deleted: the placement audit goes on (the namespace stays held to the
 * policy while the hub exists); Ready and the rest are the deletion's to say.
 */
export function deletingHubStatus(
  obs: Pick<HubObservation, 'hub' | 'policy' | 'violations'>,
  now: Date,
): HealthDataHubStatus {
  const { hub, policy, violations } = obs;
  if (!policy || !violations) return hub.status ?? {};
  const update = placementCompliance(violations, policy, hub.metadata.generation ?? 0);
  return {
    ...(hub.status ?? {}),
    conditions: setCondition(hub.status?.conditions, update, now),
    placement: placementStatus(hub.status?.placement, hub.status?.placement?.eligibleNodes, violations, now),
  };
}

/** Whether the policy leaves pods outside it where they are (Audit, or onViolation Report). */
function reportsOnly(policy: SovereigntyPolicy): boolean {
  return (
    (policy.spec.enforcement ?? 'Enforce') === 'Audit' || (policy.spec.onViolation ?? 'Evict') === 'Report'
  );
}

/** PlacementCompliant from the audit, saying what the policy does about violations. */
function placementCompliance(
  violations: readonly PlacementViolation[],
  policy: SovereigntyPolicy,
  generation: number,
): ConditionUpdate {
  const base = { type: ConditionType.PlacementCompliant, observedGeneration: generation };
  if (violations.length === 0) {
    return {
      ...base,
      status: ConditionStatus.True,
      reason: Reason.Compliant,
      message: 'every pod of the namespace runs on a node that satisfies the policy',
    };
  }
  const remediation =
    (policy.spec.enforcement ?? 'Enforce') === 'Audit'
      ? `reported only (SovereigntyPolicy "${policy.metadata.name}" has enforcement: Audit)`
      : reportsOnly(policy)
        ? `reported only (SovereigntyPolicy "${policy.metadata.name}" has onViolation: Report): move or delete them`
        : `evicting them through the Eviction API so that their controllers recreate them on eligible nodes ` +
          `(deleted if PodDisruptionBudgets still refuse after ${policy.spec.remediation?.evictionTimeout ?? DEFAULT_EVICTION_TIMEOUT}; ` +
          `grace periods capped at ${policy.spec.remediation?.maxGracePeriodSeconds ?? DEFAULT_MAX_GRACE_PERIOD_SECONDS}s)`;
  return {
    ...base,
    status: ConditionStatus.False,
    reason: Reason.PodsOutsidePolicy,
    message: `${describeViolations(violations)}; ${remediation}`,
  };
}

/**
 * status.placement. lastAuditTime moves only when the audit's verdict changes: a timestamp that
 * moved on every audit would turn each audit into a status write (docs/design.md invariant 10:
 * write-free at rest).
 */
function placementStatus(
  previous: HubPlacementStatus | undefined,
  eligibleNodes: number | undefined,
  violations: readonly PlacementViolation[] | undefined,
  now: Date,
): HubPlacementStatus {
  const { violations: _before, lastAuditTime: _time, ...rest } = previous ?? {};
  if (!violations) return { ...(previous ?? {}), ...(eligibleNodes !== undefined ? { eligibleNodes } : {}) };
  const listed = statusViolations(violations);
  const changed = previous?.lastAuditTime === undefined || !sameViolations(previous.violations, listed);
  return {
    ...rest,
    ...(eligibleNodes !== undefined ? { eligibleNodes } : {}),
    ...(listed.length ? { violations: listed } : {}),
    lastAuditTime: changed ? formatTime(now) : previous!.lastAuditTime!,
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
