import type { V1Node } from '@kubernetes/client-node';
import { nodeFacts, type NodeFacts } from '../placement/compliance.js';

/** Whether a node can take new pods: Ready and not cordoned. */
export function isSchedulable(n: V1Node): boolean {
  return (
    !n.spec?.unschedulable &&
    (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/**
 * What the node verdict (nodeVerdict) reads of the nodes that can take new pods: the policy's
 * eligibleNodes and the hub's count are both computed from this, so they agree.
 */
export function schedulableNodes(nodes: readonly V1Node[]): NodeFacts[] {
  return nodes.filter(isSchedulable).map(nodeFacts);
}

/** Whether a Node update can change eligibility (labels, readiness, cordon), not a heartbeat. */
export function nodePlacementChanged(a: V1Node | undefined, b: V1Node): boolean {
  if (!a) return true;
  const ready = (n: V1Node) => (n.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status;
  return (
    JSON.stringify(a.metadata?.labels ?? {}) !== JSON.stringify(b.metadata?.labels ?? {}) ||
    ready(a) !== ready(b) ||
    !!a.spec?.unschedulable !== !!b.spec?.unschedulable ||
    JSON.stringify(a.spec?.taints ?? []) !== JSON.stringify(b.spec?.taints ?? [])
  );
}
