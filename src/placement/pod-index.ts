// Where the placed pods are, as indexes of the pod cache: a relabelled node wakes only the
// namespaces whose pods sit on it, and an audit reads only its namespace's placed pods.
import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_HUB } from '../api/index.js';
import { isPodPlaced } from './audit.js';

/** Index of the pod cache: the namespace of each placed pod (audits read only those). */
export const PODS_PLACED_IN = 'placedIn';
/** Index of the pod cache: the node of each placed pod (a relabelled node wakes their namespaces). */
export const PODS_ON_NODE = 'onNode';

/** The pod cache's indexers (Cache.byIndex). Terminating pods still run on their node. */
export const podIndexers = {
  [PODS_PLACED_IN]: (pod: V1Pod): string[] => (isPodPlaced(pod) ? [pod.metadata?.namespace ?? ''] : []),
  [PODS_ON_NODE]: (pod: V1Pod): string[] => (isPodPlaced(pod) ? [pod.spec!.nodeName!] : []),
};

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
