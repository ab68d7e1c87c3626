import type { V1Node } from '@kubernetes/client-node';
import type { Labels } from './eligibility.js';

/** Nodes that can take new pods: Ready and not cordoned. */
export function schedulableNodeLabels(nodes: readonly V1Node[]): Labels[] {
  return nodes
    .filter(
      (n) =>
        !n.spec?.unschedulable &&
        (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    )
    .map((n) => n.metadata?.labels ?? {});
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
