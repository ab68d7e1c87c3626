// Where the placed pods are, kept from pod watch events: a relabelled node wakes only the hubs whose
// pods sit on it, and an audit reads only its namespace's placed pods, never the whole cache.
import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_HUB } from '../api/index.js';
import { isPodPlaced } from './audit.js';

export class PodNodeIndex {
  /** pod key (namespace/name) → node it is placed on */
  private readonly nodeOf = new Map<string, string>();
  /** node → namespace → number of placed pods */
  private readonly onNode = new Map<string, Map<string, number>>();
  /** namespace → keys of its placed pods */
  private readonly inNamespace = new Map<string, Set<string>>();

  /** Records a pod as it is now; `deleted` removes it. */
  observe(pod: V1Pod, deleted = false): void {
    const namespace = pod.metadata?.namespace ?? '';
    const key = `${namespace}/${pod.metadata?.name ?? ''}`;
    const before = this.nodeOf.get(key);
    const after = !deleted && isPodPlaced(pod) ? pod.spec!.nodeName! : undefined;
    if (before === after) return;
    if (before !== undefined) {
      this.nodeOf.delete(key);
      const keys = this.inNamespace.get(namespace)!;
      keys.delete(key);
      if (keys.size === 0) this.inNamespace.delete(namespace);
      const counts = this.onNode.get(before)!;
      const n = (counts.get(namespace) ?? 1) - 1;
      if (n > 0) counts.set(namespace, n);
      else counts.delete(namespace);
      if (counts.size === 0) this.onNode.delete(before);
    }
    if (after !== undefined) {
      this.nodeOf.set(key, after);
      let keys = this.inNamespace.get(namespace);
      if (!keys) this.inNamespace.set(namespace, (keys = new Set()));
      keys.add(key);
      let counts = this.onNode.get(after);
      if (!counts) this.onNode.set(after, (counts = new Map()));
      counts.set(namespace, (counts.get(namespace) ?? 0) + 1);
    }
  }

  /** Keys (namespace/name) of the placed pods of `namespace`. */
  placedIn(namespace: string): string[] {
    return [...(this.inNamespace.get(namespace) ?? [])];
  }

  /** Namespaces with at least one placed pod on `node`. */
  namespacesOn(node: string): string[] {
    return [...(this.onNode.get(node)?.keys() ?? [])];
  }
}

/**
 * Whether a pod update can change an audit or its remediation: the pod got or lost its node,
 * started terminating or had its grace period shortened, finished, or changed hub. Status updates
 * (readiness, restarts) cannot, and are most updates.
 */
export function podAuditChanged(a: V1Pod | undefined, b: V1Pod): boolean {
  if (!a) return true;
  return (
    isPodPlaced(a) !== isPodPlaced(b) ||
    !a.metadata?.deletionTimestamp !== !b.metadata?.deletionTimestamp ||
    a.metadata?.deletionGracePeriodSeconds !== b.metadata?.deletionGracePeriodSeconds ||
    a.spec?.nodeName !== b.spec?.nodeName ||
    a.metadata?.uid !== b.metadata?.uid ||
    a.metadata?.labels?.[LABEL_HUB] !== b.metadata?.labels?.[LABEL_HUB]
  );
}
