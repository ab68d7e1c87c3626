import { AdmissionregistrationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import type { SovereigntyPolicy } from '../api/index.js';
import { renderAdmission } from '../placement/admission.js';
import type { Writer } from '../runtime/apply.js';
import { AppliedCache } from '../runtime/apply-cache.js';
import type { ApiClients } from '../runtime/client.js';

/** The admission kinds the operator manages, for informers and the cache key. */
export const ADMISSION_KINDS = [
  { kind: 'ValidatingAdmissionPolicy', plural: 'validatingadmissionpolicies' },
  { kind: 'ValidatingAdmissionPolicyBinding', plural: 'validatingadmissionpolicybindings' },
  { kind: 'MutatingAdmissionPolicy', plural: 'mutatingadmissionpolicies' },
  { kind: 'MutatingAdmissionPolicyBinding', plural: 'mutatingadmissionpolicybindings' },
] as const;

export const admissionKey = (o: KubernetesObject) => `${o.kind}/${o.metadata?.name}`;

/**
 * Keeps each SovereigntyPolicy's admission policies (the API server's own pod checks) applied.
 * Pod injection needs MutatingAdmissionPolicy at admissionregistration.k8s.io/v1; where the API
 * server does not serve it, non-compliant pods are refused instead of corrected.
 */
export class AdmissionSync {
  readonly cache = new AppliedCache();
  private mutatingServed: Promise<boolean> | undefined;

  constructor(
    private readonly clients: ApiClients,
    private readonly writer: Writer,
  ) {}

  servesMutatingPolicies(): Promise<boolean> {
    this.mutatingServed ??= this.clients
      .make(AdmissionregistrationV1Api)
      .getAPIResources()
      .then((list) => list.resources.some((r) => r.name === 'mutatingadmissionpolicies'))
      .catch(() => {
        this.mutatingServed = undefined; // ask again next time
        return false;
      });
    return this.mutatingServed;
  }

  /** Applies what changed; returns how many objects were written. */
  async sync(policy: SovereigntyPolicy): Promise<number> {
    const objects = renderAdmission(policy, { inject: await this.servesMutatingPolicies() });
    let written = 0;
    for (const obj of objects) {
      const key = admissionKey(obj);
      if (!this.cache.needsApply(key, obj)) continue;
      const live = await this.writer.apply(obj);
      this.cache.remember(key, obj, live.metadata);
      written++;
    }
    return written;
  }
}
