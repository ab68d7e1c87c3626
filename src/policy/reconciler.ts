import type { V1Node } from '@kubernetes/client-node';
import { SOVEREIGNTY_POLICY, type HealthDataHub, type SovereigntyPolicy } from '../api/index.js';
import type { Writer } from '../runtime/apply.js';
import type { Reconciler } from '../runtime/controller.js';
import type { Informer } from '../runtime/informer.js';
import { statusUnchanged } from '../runtime/status.js';
import { schedulableNodeLabels } from './nodes.js';
import type { AdmissionSync } from './admission-sync.js';
import { desiredPolicyStatus } from './status.js';

export interface PolicyReconcilerDeps {
  hubs: Informer<HealthDataHub>;
  policies: Informer<SovereigntyPolicy>;
  nodes: Informer<V1Node>;
  writer: Writer;
  admission: AdmissionSync;
}

/** Reports, per SovereigntyPolicy, how many nodes satisfy it and how many hubs use it. */
export class PolicyReconciler implements Reconciler {
  constructor(private readonly d: PolicyReconcilerDeps) {}

  async reconcile(key: string): Promise<void> {
    const policy = this.d.policies.get(key);
    // A deleted policy keeps its admission objects: pods in its namespaces stay checked (fail
    // closed) until the namespaces no longer carry its label.
    if (!policy) return;
    await this.d.admission.sync(policy);
    const hubs = this.d.hubs.list((h) => h.spec.policyName === key).length;
    const status = desiredPolicyStatus(policy, schedulableNodeLabels(this.d.nodes.list()), hubs, new Date());
    if (statusUnchanged(policy.status, status)) return;
    await this.d.writer.applyStatus(SOVEREIGNTY_POLICY, key, undefined, status);
  }
}
