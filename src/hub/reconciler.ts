import type { V1Node } from '@kubernetes/client-node';
import {
  ConditionType,
  getCondition,
  HEALTH_DATA_HUB,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../api/index.js';
import { schedulableNodeLabels } from '../policy/nodes.js';
import type { Writer } from '../runtime/apply.js';
import type { ReconcileResult, Reconciler } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import type { Logger } from '../runtime/logging.js';
import { statusUnchanged } from '../runtime/status.js';
import { NamespaceLabeler, sovereignNamespaceLabels } from './namespace-labels.js';
import { desiredHubStatus } from './status.js';

export interface HubReconcilerDeps {
  hubs: Informer<HealthDataHub>;
  policies: Informer<SovereigntyPolicy>;
  nodes: Informer<V1Node>;
  writer: Writer;
  events: EventRecorder;
  namespaces: NamespaceLabeler;
  log: Logger;
}

/** observe -> compute -> report for one HealthDataHub. */
export class HubReconciler implements Reconciler {
  constructor(private readonly d: HubReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const namespace = key.split('/')[0]!;
    // First of all, before any pod of a hub exists: the namespace becomes (or stops being)
    // sovereign territory for the policies of the hubs it holds.
    await this.d.namespaces.sync(
      namespace,
      sovereignNamespaceLabels(this.d.hubs.list((h) => h.metadata.namespace === namespace)),
    );
    const hub = this.d.hubs.get(key);
    if (!hub) return; // deleted: nothing else of ours to report on
    if (hub.spec.suspend) {
      this.d.log.debug('hub suspended, not reconciling', { hub: key });
      return;
    }
    const policy = this.d.policies.get(hub.spec.policyName);
    const status = desiredHubStatus(
      { hub, policy, nodeLabels: schedulableNodeLabels(this.d.nodes.list()) },
      new Date(),
    );
    if (statusUnchanged(hub.status, status)) return;

    await this.d.writer.applyStatus(HEALTH_DATA_HUB, hub.metadata.name!, hub.metadata.namespace, status);
    const before = getCondition(hub.status?.conditions, ConditionType.Ready);
    const after = getCondition(status.conditions, ConditionType.Ready)!;
    if (before?.status !== after.status || before?.reason !== after.reason) {
      this.d.log.info('hub status changed', { hub: key, ready: after.status, reason: after.reason });
      if (after.status === 'False') {
        await this.d.events.record(hub, 'Warning', after.reason, after.message);
      } else if (after.status === 'True') {
        await this.d.events.record(hub, 'Normal', after.reason, after.message);
      }
    }
  }
}
