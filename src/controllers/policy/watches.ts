// What wakes the policy controller (keyed by policy name). Pure maps and predicates.
import type { KubernetesObject, V1Node } from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../api/index.js';
import { LABEL_POLICY } from '../../placement/admission.js';
import { objectKey, type Cache } from '../../runtime/cache.js';
import type { InformerEvent } from '../../runtime/informer.js';
import { watch, type AnyWatch, type EventSource } from '../../runtime/watches.js';
import { policyEventMatters } from '../predicates.js';
import { nodeEventMatters } from '../placement/watches.js';

export interface PolicySources {
  hubs: EventSource<HealthDataHub>;
  policies: Cache<SovereigntyPolicy> & EventSource<SovereigntyPolicy>;
  nodes: EventSource<V1Node>;
  /** The admission objects the policies own (MutatingAdmissionPolicy may not be served). */
  admission: readonly EventSource<KubernetesObject>[];
  /** Whether an admission object event is a drift from what was applied (AdmissionSync's record). */
  drifted: (event: InformerEvent, obj: KubernetesObject) => boolean;
}

/** How long a policy waits after a hub event to count its hubs again. */
export const HUB_COUNT_DELAY_MS = 1000;

/** The policies whose hub count a hub event changes: created, deleted, or moved to another policy. */
export function policiesOfHub(event: InformerEvent, hub: HealthDataHub, old?: HealthDataHub): string[] {
  if (event === 'resync') return [];
  if (event !== 'update') return [hub.spec.policyName];
  return old && old.spec.policyName !== hub.spec.policyName ? [old.spec.policyName, hub.spec.policyName] : [];
}

export function policyWatches(s: PolicySources): AnyWatch[] {
  return [
    // Only the policy's hub count changes: counted once per burst of hub creations.
    watch({
      name: 'hubs',
      source: s.hubs,
      predicate: () => true,
      map: policiesOfHub,
      delayMs: HUB_COUNT_DELAY_MS,
    }),
    // Resyncs too: the policy's periodic check of its admission objects and node count.
    watch({
      name: 'policies',
      source: s.policies,
      predicate: (e, p, old) => e === 'resync' || policyEventMatters(e, p, old),
      map: (_e, p) => [objectKey(p)],
    }),
    watch({
      name: 'nodes',
      source: s.nodes,
      predicate: nodeEventMatters,
      map: () => s.policies.list().map(objectKey),
    }),
    ...s.admission.map((source) =>
      watch({
        name: 'admission objects',
        source,
        predicate: (e, obj) => s.drifted(e, obj),
        map: (_e, obj) => {
          const policy = obj.metadata?.labels?.[LABEL_POLICY];
          return policy ? [policy] : [];
        },
      }),
    ),
  ];
}
