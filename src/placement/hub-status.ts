// The placement section of a hub's status, owned by the placement controller: PlacementCompliant
// and status.placement (eligible nodes, violations, last audit). Pure.
import {
  ConditionStatus,
  ConditionType,
  formatTime,
  getCondition,
  Reason,
  setCondition,
  type Condition,
  type ConditionUpdate,
  type HealthDataHub,
  type HubPlacementStatus,
  type PlacementViolation,
  type SovereigntyPolicy,
} from '../api/index.js';
import { describeViolations, sameViolations, statusViolations } from './audit.js';
import { countEligibleNodes, type NodeFacts } from './compliance.js';
import { DEFAULT_EVICTION_TIMEOUT, DEFAULT_MAX_GRACE_PERIOD_SECONDS } from './remediation.js';

export interface PlacementObservation {
  hub: HealthDataHub;
  policy: SovereigntyPolicy | undefined;
  /** The nodes that can take pods (Ready, schedulable): counted with the one node verdict. */
  nodes: readonly NodeFacts[];
  /** The audit of the hub's namespace, every violation in pod order; undefined without a policy. */
  violations?: readonly PlacementViolation[] | undefined;
  /**
   * The hub's own input refusals of type PlacementCompliant (checkReferences): the policy is
   * missing, does not select the namespace, is not enforced, or does not allow the hub's regions.
   */
  refusals: readonly ConditionUpdate[];
}

export interface PlacementSection {
  condition: Condition;
  placement: HubPlacementStatus;
}

/** Whether the policy leaves pods outside it where they are (Audit, or onViolation Report). */
export function reportsOnly(policy: SovereigntyPolicy): boolean {
  return (
    (policy.spec.enforcement ?? 'Enforce') === 'Audit' || (policy.spec.onViolation ?? 'Evict') === 'Report'
  );
}

/**
 * The placement section the hub should have; undefined when there is nothing to say (a hub being
 * deleted whose policy is gone keeps what it had). A suspended or deleted hub stays held to its
 * policy: its pods are audited, but no node count or NoEligibleNodes verdict is made for it.
 */
export function desiredPlacementSection(obs: PlacementObservation, now: Date): PlacementSection | undefined {
  const { hub, policy, violations } = obs;
  const generation = hub.metadata.generation ?? 0;
  const deleting = Boolean(hub.metadata.deletionTimestamp);
  const frozen = deleting || Boolean(hub.spec.suspend);
  let eligible = hub.status?.placement?.eligibleNodes;
  let update: ConditionUpdate | undefined;
  const refusal = deleting ? undefined : obs.refusals.at(-1);
  if (refusal) {
    update = refusal;
    if (!frozen)
      eligible = policy ? countEligibleNodes(obs.nodes, policy.spec, hub.spec.placement?.regions) : 0;
  } else if (!policy || !violations) {
    return undefined;
  } else if (frozen) {
    update = placementCompliance(violations, policy, generation);
  } else {
    eligible = countEligibleNodes(obs.nodes, policy.spec, hub.spec.placement?.regions);
    update =
      eligible === 0
        ? noEligibleNodes(hub, violations, generation)
        : placementCompliance(violations, policy, generation);
  }
  const previous = getCondition(hub.status?.conditions, ConditionType.PlacementCompliant);
  const [condition] = setCondition(previous ? [previous] : [], update, now);
  return {
    condition: condition!,
    placement: placementStatus(hub.status?.placement, eligible, violations, now),
  };
}

/** What a hub without any eligible node is told: nothing is removed meanwhile. */
export function noEligibleNodesMessage(hub: HealthDataHub): string {
  const regions = hub.spec.placement?.regions;
  return `no Ready node satisfies SovereigntyPolicy "${hub.spec.policyName}"${regions?.length ? ` within regions [${regions.join(', ')}]` : ''}: label compliant nodes or widen the hub's placement.regions; nothing is deleted meanwhile`;
}

function noEligibleNodes(
  hub: HealthDataHub,
  violations: readonly PlacementViolation[],
  generation: number,
): ConditionUpdate {
  const message = noEligibleNodesMessage(hub);
  return {
    type: ConditionType.PlacementCompliant,
    status: ConditionStatus.False,
    reason: Reason.NoEligibleNodes,
    message: violations.length
      ? `${message}; ${describeViolations(violations)} (reported, not evicted)`
      : message,
    observedGeneration: generation,
  };
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
