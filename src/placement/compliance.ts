// Whether a pod's own scheduling constraints keep it inside a policy, decided from the pod spec
// alone (plus, optionally, the labels of the node it names). The rules are syntactic and
// conservative: a placement is accepted only when each of its alternatives visibly carries a
// requirement at least as strict as each policy requirement. The admission policy (cel.ts)
// encodes the same rules, so what the operator audits and what the API server admits agree.
// It also holds the one verdict on a node (nodeVerdict) that every part of the operator uses.
import type {
  V1Node,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1PodSpec,
} from '@kubernetes/client-node';
import type { NodeSelectorRequirement, SovereigntyPolicySpec } from '../api/index.js';
import { ineligibilityReason, REGION_LABEL, requirementHolds, type Labels } from '../policy/eligibility.js';
import { formatRequirement, type PlacementConstraints } from './constraints.js';
import { regionLabelMismatch } from './provider-id.js';

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Labels of nodes by name, as a Map or a plain record. */
export type NodeLabelsByName = ReadonlyMap<string, Labels> | Readonly<Record<string, Labels>>;

const INTEGER = /^-?\d+$/;

/**
 * Whether every node matching the pod-side requirement `e` also satisfies the policy requirement
 * `r` (same key assumed).
 */
export function requirementImplies(e: V1NodeSelectorRequirement, r: NodeSelectorRequirement): boolean {
  const values = e.values ?? [];
  switch (e.operator) {
    case 'In':
      // A matching node carries one of these values, so each of them must satisfy r.
      return values.length > 0 && values.every((v) => requirementHolds({ [r.key]: v }, r));
    case 'NotIn':
      return r.operator === 'NotIn' && (r.values ?? []).every((v) => values.includes(v));
    case 'Exists':
      return r.operator === 'Exists';
    case 'DoesNotExist':
      return r.operator === 'DoesNotExist' || r.operator === 'NotIn';
    case 'Gt':
    case 'Lt': {
      if (r.operator === 'Exists') return integerOperand(values) !== undefined;
      if (r.operator !== e.operator) return false;
      const mine = integerOperand(values);
      const theirs = integerOperand(r.values ?? []);
      if (mine === undefined || theirs === undefined) return false;
      return e.operator === 'Gt' ? mine >= theirs : mine <= theirs;
    }
    default:
      return false;
  }
}

/**
 * A term without expressions and fields matches no node at all (Kubernetes API semantics), so it
 * can never place a pod outside a policy; it is also left untouched by rendering.
 */
export function isEmptyTerm(term: V1NodeSelectorTerm): boolean {
  return !term.matchExpressions?.length && !term.matchFields?.length;
}

/** Whether a non-empty term carries, on r's key, an expression at least as strict as r. */
export function termImplies(term: V1NodeSelectorTerm, r: NodeSelectorRequirement): boolean {
  return (term.matchExpressions ?? []).some((e) => e.key === r.key && requirementImplies(e, r));
}

/** Whether a nodeSelector (exact label values) implies r. */
export function nodeSelectorImplies(
  nodeSelector: Readonly<Record<string, string>> | undefined,
  r: NodeSelectorRequirement,
): boolean {
  if (!nodeSelector || !Object.prototype.hasOwnProperty.call(nodeSelector, r.key)) return false;
  return requirementHolds({ [r.key]: nodeSelector[r.key]! }, r);
}

/**
 * The policy requirements the pod's placement does not imply. The pod may run on nodes matching
 * its nodeSelector AND any one of its required terms, so a requirement is implied when the
 * nodeSelector implies it, or when there is at least one term and every non-empty term implies it.
 */
export function unimpliedRequirements(
  spec: V1PodSpec,
  requirements: readonly NodeSelectorRequirement[],
): NodeSelectorRequirement[] {
  const terms =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return requirements.filter(
    (r) =>
      !nodeSelectorImplies(spec.nodeSelector, r) &&
      !(terms.length > 0 && terms.every((t) => isEmptyTerm(t) || termImplies(t, r))),
  );
}

/**
 * Whether a pod stays inside the constraints. With node labels, a pod naming a node (spec.nodeName,
 * set by a user or by the scheduler) must also name an eligible node: this is how a running pod on
 * a node that was relabelled is found. Without them, the pod's own constraints are what counts,
 * which the kubelet enforces again when the pod reaches a node.
 */
export function podSatisfiesPolicy(
  spec: V1PodSpec,
  constraints: Pick<PlacementConstraints, 'requirements'>,
  nodeLabelsByName?: NodeLabelsByName,
): Verdict {
  const missing = unimpliedRequirements(spec, constraints.requirements);
  if (missing.length) {
    return {
      ok: false,
      reason: `placement does not require ${missing.map(formatRequirement).join('; ')} in spec.nodeSelector or in every required nodeSelectorTerm`,
    };
  }
  if (spec.nodeName && nodeLabelsByName) {
    const labels = lookup(nodeLabelsByName, spec.nodeName);
    if (!labels) return { ok: false, reason: `node ${spec.nodeName} is unknown` };
    const failed = constraints.requirements.find((r) => !requirementHolds(labels, r));
    if (failed) {
      return { ok: false, reason: `node ${spec.nodeName} does not satisfy ${formatRequirement(failed)}` };
    }
  }
  return { ok: true };
}

function lookup(nodes: NodeLabelsByName, name: string): Labels | undefined {
  if (nodes instanceof Map) return nodes.get(name);
  const record = nodes as Readonly<Record<string, Labels>>;
  return Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined;
}

function integerOperand(values: readonly string[]): bigint | undefined {
  const [v] = values;
  return values.length === 1 && v !== undefined && INTEGER.test(v) ? BigInt(v) : undefined;
}

/** What the node verdict reads of a Node: its labels and its providerID. */
export interface NodeFacts {
  labels: Labels;
  providerID?: string;
}

export function nodeFacts(node: V1Node): NodeFacts {
  return { labels: node.metadata?.labels ?? {}, providerID: node.spec?.providerID };
}

/**
 * Why a node's labels are not evidence of where it is, or undefined when nothing contradicts them:
 * today, a region label that its spec.providerID contradicts (src/placement/provider-id.ts).
 * Such a node is outside every policy, and its region and zone labels locate nothing (volumes,
 * zones of a storage class).
 */
export function untrustedNodeReason(node: NodeFacts): string | undefined {
  return regionLabelMismatch(node.labels[REGION_LABEL], node.providerID);
}

/**
 * THE verdict on a node, used by the pod audit, by every eligible-node count (the policy's
 * eligibleNodes, the hub's, the wake-up of hubs on Node events) and, through
 * untrustedNodeReason, by the storage-class topology check and the volume location audit: why
 * the node is outside `policy` (narrowed by `hubRegions`), or undefined when it may hold the
 * hub's pods.
 */
export function nodeVerdict(
  node: NodeFacts,
  policy: Pick<SovereigntyPolicySpec, 'regions' | 'nodeSelectorRequirements'>,
  hubRegions?: readonly string[],
): string | undefined {
  return untrustedNodeReason(node) ?? ineligibilityReason(node.labels, policy, hubRegions);
}

/** How many of `nodes` the verdict accepts. */
export function countEligibleNodes(
  nodes: readonly NodeFacts[],
  policy: Pick<SovereigntyPolicySpec, 'regions' | 'nodeSelectorRequirements'>,
  hubRegions?: readonly string[],
): number {
  return nodes.filter((n) => nodeVerdict(n, policy, hubRegions) === undefined).length;
}
