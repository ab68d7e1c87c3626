import type { V1Node } from '@kubernetes/client-node';
import { Reason, SOVEREIGNTY_POLICY, type HealthDataHub, type SovereigntyPolicy } from '../api/index.js';
import type { Writer } from '../runtime/apply.js';
import type { Reconciler } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import { statusUnchanged } from '../runtime/status.js';
import { policyEvents } from './events.js';
import { schedulableNodes } from './nodes.js';
import type { AdmissionSync } from './admission-sync.js';
import { admissionFailureMessage, desiredPolicyStatus } from './status.js';

export interface PolicyReconcilerDeps {
  hubs: Informer<HealthDataHub>;
  policies: Informer<SovereigntyPolicy>;
  nodes: Informer<V1Node>;
  writer: Writer;
  admission: AdmissionSync;
  events: EventRecorder;
}

/** Reports, per SovereigntyPolicy, how many nodes satisfy it and how many hubs use it. */
export class PolicyReconciler implements Reconciler {
  constructor(private readonly d: PolicyReconcilerDeps) {}

  async reconcile(key: string): Promise<void> {
    const policy = this.d.policies.get(key);
    // A deleted policy keeps its admission objects: pods in its namespaces stay checked (fail
    // closed) until the namespaces no longer carry its label.
    if (!policy) return;
    const admission = await this.d.admission.sync(policy);
    const failure =
      admission.failure === undefined
        ? undefined
        : {
            message: admission.failure,
            failClosed: admission.failClosed ?? false,
            refused: admission.refused ?? false,
          };
    const hubs = this.d.hubs.list((h) => h.spec.policyName === key).length;
    const status = desiredPolicyStatus(
      policy,
      schedulableNodes(this.d.nodes.list()),
      hubs,
      new Date(),
      failure,
    );
    if (!statusUnchanged(policy.status, status)) {
      await this.d.writer.applyStatus(SOVEREIGNTY_POLICY, key, undefined, status);
      for (const e of policyEvents(policy.status, status)) {
        await this.d.events.record(policy, e.type, e.reason, e.note);
      }
    }
    if (failure) {
      await this.d.events.record(policy, 'Warning', Reason.AdmissionFailed, admissionFailureMessage(failure));
      // Retried with the controller's backoff: the cause may be transient.
      throw new Error(`admission objects of SovereigntyPolicy ${key} not applied: ${failure.message}`);
    }
  }
}
