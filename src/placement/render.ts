// Pod placement rendering: the policy's constraints written into a pod spec so that the pod can
// only be scheduled inside the policy, whatever the spec already said.
import type {
  V1Affinity,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1PodSpec,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';
import type { NodeSelectorRequirement, Toleration } from '../api/index.js';
import { ZONE_LABEL } from '../policy/eligibility.js';
import { isEmptyTerm, termImplies } from './compliance.js';
import type { PlacementConstraints } from './constraints.js';

export { podSatisfiesPolicy, type Verdict, type NodeLabelsByName } from './compliance.js';

/**
 * A copy of `spec` whose placement lies inside the constraints:
 * - every required nodeSelectorTerm gets each requirement it does not already imply (a term is
 *   one alternative of an OR, so constraining only some terms would leave a way out). A term that
 *   contradicts the constraints keeps its expressions and becomes unsatisfiable: placement is
 *   only ever narrowed. An empty term matches no node and stays empty for the same reason.
 * - without required node affinity, one term holding the requirements is created.
 * - tolerations are added unless an identical one is present.
 * - zone spread is added unless the pod already spreads over zones.
 * Rendering a rendered spec changes nothing.
 */
export function renderPodPlacement(spec: V1PodSpec, constraints: PlacementConstraints): V1PodSpec {
  const out = structuredClone(spec);
  if (constraints.requirements.length) {
    out.affinity = withRequiredRequirements(out.affinity, constraints.requirements);
  }
  const tolerations = mergeTolerations(out.tolerations, constraints.tolerations);
  if (tolerations.length) out.tolerations = tolerations;
  const spread = withZoneSpread(out.topologySpreadConstraints, constraints);
  if (spread.length) out.topologySpreadConstraints = spread;
  return out;
}

function withRequiredRequirements(
  affinity: V1Affinity | undefined,
  requirements: readonly NodeSelectorRequirement[],
): V1Affinity {
  const nodeAffinity = affinity?.nodeAffinity ?? {};
  const terms = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const rendered: V1NodeSelectorTerm[] = terms.length
    ? terms.map((term) => (isEmptyTerm(term) ? term : andInto(term, requirements)))
    : [{ matchExpressions: requirements.map(toPodRequirement) }];
  return {
    ...affinity,
    nodeAffinity: {
      ...nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: rendered },
    },
  };
}

/** The term with each requirement it does not already imply appended (expressions are ANDed). */
function andInto(
  term: V1NodeSelectorTerm,
  requirements: readonly NodeSelectorRequirement[],
): V1NodeSelectorTerm {
  const added = requirements.filter((r) => !termImplies(term, r)).map(toPodRequirement);
  if (!added.length) return term;
  return { ...term, matchExpressions: [...(term.matchExpressions ?? []), ...added] };
}

function toPodRequirement(r: NodeSelectorRequirement): V1NodeSelectorRequirement {
  return r.values
    ? { key: r.key, operator: r.operator, values: [...r.values] }
    : { key: r.key, operator: r.operator };
}

function mergeTolerations(
  existing: V1Toleration[] | undefined,
  wanted: readonly Toleration[],
): V1Toleration[] {
  const out = [...(existing ?? [])];
  for (const t of wanted) {
    if (!out.some((o) => sameToleration(o, t))) out.push(toPodToleration(t));
  }
  return out;
}

/** Equal after the API server's defaulting (operator Equal, empty strings for unset fields). */
function sameToleration(a: V1Toleration, b: Toleration): boolean {
  return (
    (a.key ?? '') === (b.key ?? '') &&
    (a.operator || 'Equal') === (b.operator || 'Equal') &&
    (a.value ?? '') === (b.value ?? '') &&
    (a.effect ?? '') === (b.effect ?? '') &&
    a.tolerationSeconds === b.tolerationSeconds
  );
}

function toPodToleration(t: Toleration): V1Toleration {
  const out: V1Toleration = {};
  if (t.key !== undefined) out.key = t.key;
  if (t.operator !== undefined) out.operator = t.operator;
  if (t.value !== undefined) out.value = t.value;
  if (t.effect !== undefined) out.effect = t.effect;
  if (t.tolerationSeconds !== undefined) out.tolerationSeconds = t.tolerationSeconds;
  return out;
}

/**
 * Zone spread is a preference, not a constraint: whenUnsatisfiable ScheduleAnyway. Sovereignty is
 * carried by the required node affinity above, so spreading never decides compliance; with
 * DoNotSchedule, a zone that is full, cordoned or down (a tainted NotReady node still counts as a
 * zone) would leave replicas Pending exactly when spreading matters. The hub's contract is to
 * spread "as far as the eligible nodes allow". nodeTaintsPolicy Honor keeps tainted nodes the pod
 * does not tolerate out of the skew count, as nodeAffinityPolicy Honor does for ineligible nodes.
 */
function withZoneSpread(
  existing: V1TopologySpreadConstraint[] | undefined,
  constraints: PlacementConstraints,
): V1TopologySpreadConstraint[] {
  const out = [...(existing ?? [])];
  // A pod that already spreads over zones keeps its own choice (and the API refuses two
  // constraints with the same topologyKey and whenUnsatisfiable).
  if (!constraints.zoneSpread || out.some((c) => c.topologyKey === ZONE_LABEL)) return out;
  out.push({
    maxSkew: 1,
    topologyKey: ZONE_LABEL,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: structuredClone(constraints.zoneSpread.labelSelector),
    nodeAffinityPolicy: 'Honor',
    nodeTaintsPolicy: 'Honor',
  });
  return out;
}
