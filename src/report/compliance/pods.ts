// Every running pod of a hub's namespace, where it runs and the operator's own verdict on it: the
// placement audit (auditPods, nodeFacts) over the policies the namespace is held to, assembled as
// the placement controller assembles them.
import type { V1Pod } from '@kubernetes/client-node';
import {
  auditPods,
  isPodPlaced,
  heldPolicies,
  type HeldPolicy,
  type NodeFacts,
  type PodViolation,
} from '../../placement/audit.js';
import { REGION_LABEL, ZONE_LABEL } from '../../policy/eligibility.js';
import type { ComplianceSnapshot, ReportPod } from './model.js';
import { byKeys, compareText } from './order.js';

/** What the audit of one namespace found: the policies it is held to and the pods outside them. */
export interface NamespaceAudit {
  held: HeldPolicy[];
  pods: V1Pod[];
  violations: Map<string, PodViolation>;
}

/**
 * The policies a namespace is held to: each of its hubs' (when the policy exists), with the hub's
 * placement.regions when the policy allows them, and each other policy whose label the namespace
 * carries, held by the namespace itself. Hubs and policies are taken by name, so the reason a pod
 * is given does not depend on the order they were listed in.
 */
export function heldPoliciesOf(snapshot: ComplianceSnapshot, namespace: string): HeldPolicy[] {
  const hubs = snapshot.hubs
    .filter((h) => h.metadata.namespace === namespace)
    .sort(byKeys((h) => h.metadata.name ?? ''));
  const policies = [...snapshot.policies].sort(byKeys((p) => p.metadata.name ?? ''));
  const labels = snapshot.namespaces.find((n) => n.metadata?.name === namespace)?.metadata?.labels ?? {};
  return heldPolicies(hubs, policies, labels);
}

export function auditNamespace(
  snapshot: ComplianceSnapshot,
  namespace: string,
  facts: ReadonlyMap<string, NodeFacts>,
): NamespaceAudit {
  const held = heldPoliciesOf(snapshot, namespace);
  const pods = snapshot.pods
    .filter((p) => p.metadata?.namespace === namespace && isPodPlaced(p))
    .sort(byKeys((p) => p.metadata?.name ?? ''));
  const violations = new Map(auditPods(held, pods, facts).map((v) => [v.pod, v]));
  return { held, pods, violations };
}

/** The label keys the held policies' node requirements name. */
function policyLabelKeys(held: readonly HeldPolicy[]): string[] {
  const keys = held.flatMap((h) => (h.spec.nodeSelectorRequirements ?? []).map((r) => r.key));
  return [...new Set(keys)].filter((k) => k !== REGION_LABEL && k !== ZONE_LABEL).sort(compareText);
}

export function reportPods(audit: NamespaceAudit, facts: ReadonlyMap<string, NodeFacts>): ReportPod[] {
  const keys = policyLabelKeys(audit.held);
  const policyNames = [...new Set(audit.held.map((h) => h.policyName))].sort(compareText);
  return audit.pods.map((pod) => {
    const name = pod.metadata?.name ?? '';
    const nodeName = pod.spec!.nodeName!;
    const node = facts.get(nodeName);
    const labels = node?.labels ?? {};
    const policyLabels: Record<string, string> = {};
    for (const k of keys) if (labels[k] !== undefined) policyLabels[k] = labels[k];
    const violation = audit.violations.get(name);
    const verdict = audit.held.length === 0 ? 'unknown' : violation ? 'fail' : 'pass';
    const reason =
      verdict === 'unknown'
        ? 'the namespace is held to no existing SovereigntyPolicy: nothing to audit it against'
        : (violation?.reason ?? `node ${nodeName} satisfies SovereigntyPolicy ${policyNames.join(', ')}`);
    return {
      name,
      node: nodeName,
      ...(labels[REGION_LABEL] !== undefined ? { region: labels[REGION_LABEL] } : {}),
      ...(labels[ZONE_LABEL] !== undefined ? { zone: labels[ZONE_LABEL] } : {}),
      policyLabels,
      ...(node?.providerID ? { providerID: node.providerID } : {}),
      verdict,
      reason,
    };
  });
}
