import {
  ConditionStatus,
  ConditionType,
  getCondition,
  Reason,
  setCondition,
  summarizeReady,
  type Condition,
  type ConditionUpdate,
  type HealthDataHub,
  type HealthDataHubStatus,
  type SovereigntyPolicy,
} from '../api/index.js';
import { isNodeEligible, type Labels } from '../policy/eligibility.js';
import { checkReferences } from './references.js';

export interface HubObservation {
  hub: HealthDataHub;
  policy: SovereigntyPolicy | undefined;
  nodeLabels: Labels[];
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

  const failures = checkReferences(hub, policy);
  const eligible = policy
    ? obs.nodeLabels.filter((l) => isNodeEligible(l, policy.spec, hub.spec.placement?.regions)).length
    : 0;

  if (failures.length > 0) {
    updates.push(...failures);
    const first = failures[0]!;
    cond(ConditionType.Stalled, ConditionStatus.True, first.reason, first.message);
    cond(ConditionType.Reconciling, ConditionStatus.False, first.reason, 'waiting for the input to be fixed');
  } else if (eligible === 0) {
    const msg = `no Ready node satisfies SovereigntyPolicy "${hub.spec.policyName}"${hub.spec.placement?.regions?.length ? ` within regions [${hub.spec.placement.regions.join(', ')}]` : ''}: label compliant nodes or widen the hub's placement.regions; nothing is deleted meanwhile`;
    cond(ConditionType.PlacementCompliant, ConditionStatus.False, Reason.NoEligibleNodes, msg);
    cond(ConditionType.Stalled, ConditionStatus.True, Reason.NoEligibleNodes, msg);
    cond(
      ConditionType.Reconciling,
      ConditionStatus.False,
      Reason.NoEligibleNodes,
      'waiting for eligible nodes',
    );
  } else {
    cond(
      ConditionType.Reconciling,
      ConditionStatus.True,
      Reason.Reconciling,
      `SovereigntyPolicy "${hub.spec.policyName}" accepted with ${eligible} eligible node(s); placement audit, storage, keys and datastore are reported as they are reconciled`,
    );
  }

  const merged = mergeConditions(hub.status?.conditions, updates, now);
  // Ready is computed from the others; its previous value carries its lastTransitionTime.
  const previousReady = getCondition(hub.status?.conditions, ConditionType.Ready);
  const conditions = setCondition(
    previousReady ? [previousReady, ...merged] : merged,
    summarizeReady(merged, generation),
    now,
  );
  return {
    ...(hub.status ?? {}),
    observedGeneration: generation,
    conditions,
    placement: { ...(hub.status?.placement ?? {}), eligibleNodes: eligible },
  };
}
