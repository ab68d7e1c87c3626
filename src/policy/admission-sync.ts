import { AdmissionregistrationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import type { SovereigntyPolicy } from '../api/index.js';
import { renderAdmission, renderFailClosed } from '../placement/admission.js';
import type { Writer } from '../runtime/apply.js';
import { AppliedCache } from '../runtime/apply-cache.js';
import type { ApiClients } from '../runtime/client.js';
import { asWriteRefused, describeError, statusCode, WriteRefused } from '../runtime/errors.js';

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
  readonly cache: AppliedCache;
  /**
   * Policies this process knows to be without a fail-closed pair. Any other may have one (applied
   * after a failure, or by an earlier process), which a successful sync removes.
   */
  private readonly clean = new Set<string>();
  /** Policies whose fail-closed pair this process applied: its watch may not show it yet. */
  private readonly failedClosed = new Set<string>();
  private mutatingServed: Promise<boolean> | undefined;

  constructor(
    private readonly clients: ApiClients,
    private readonly writer: Writer,
    /**
     * An admission object as watched (undefined when it does not exist): one unchanged is not
     * applied again, and a fail-closed pair that does not exist is not deleted, after a restart.
     */
    private readonly live?: (obj: KubernetesObject) => KubernetesObject | undefined,
  ) {
    this.cache = new AppliedCache(writer.fieldManager);
  }

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

  /**
   * Applies what changed. When the API server refuses an object, the objects already in force stay
   * (an apply is all or nothing per object) and the fail-closed pair is applied, so the policy's
   * namespaces refuse pods rather than admit them unchecked; `failure` carries the API server's
   * message. Once every object is applied, the fail-closed pair is removed.
   */
  async sync(policy: SovereigntyPolicy): Promise<AdmissionOutcome> {
    const name = policy.metadata.name!;
    const objects = renderAdmission(policy, { inject: await this.servesMutatingPolicies() });
    // Each admission policy and its binding (same name) are applied in that order; the pairs are
    // independent, so they go at once: a new policy waits for two round trips, not six.
    const pairs = [...Map.groupBy(objects, (o) => o.metadata?.name).values()];
    const outcomes = await Promise.all(
      pairs.map(async (pair) => {
        let written = 0;
        for (const obj of pair) {
          try {
            written += await this.apply(obj);
          } catch (error) {
            return { written, failed: { obj, error } };
          }
        }
        return { written, failed: undefined };
      }),
    );
    let written = outcomes.reduce((n, o) => n + o.written, 0);
    const failed = outcomes.flatMap((o) => (o.failed ? [o.failed] : []));
    if (failed.length) {
      // Every refused object named; a refusal waits for a change of input, anything else (5xx,
      // timeout) may pass on retry, so one refusal among them makes the whole a refusal.
      const failure = failed
        .map(({ obj, error }) => `${obj.kind} ${obj.metadata?.name}: ${describeError(error)}`)
        .join('; ');
      const refused = failed.some(({ obj, error }) => asWriteRefused(error, obj) instanceof WriteRefused);
      // Unmarked before applying: a pair partly applied is removed once the policy's objects apply.
      this.clean.delete(name);
      this.failedClosed.add(name);
      try {
        for (const fc of renderFailClosed(policy)) written += await this.apply(fc);
      } catch (fcError) {
        return {
          written,
          failure: `${failure}; the fail-closed policy could not be applied either: ${describeError(fcError)}`,
          failClosed: false,
          refused,
        };
      }
      return { written, failure, failClosed: true, refused };
    }
    // Unknown after a restart: removed once, then only after a failure. The watch shows whether
    // it exists (every object of the operator carries its label); without it, a 404 costs a request.
    if (!this.clean.has(name)) {
      for (const fc of renderFailClosed(policy).reverse()) {
        if (!this.live || this.failedClosed.has(name) || this.live(fc)) await this.remove(fc);
      }
      this.clean.add(name);
      this.failedClosed.delete(name);
    }
    return { written };
  }

  private async apply(obj: KubernetesObject): Promise<number> {
    const key = admissionKey(obj);
    if (!this.cache.needsApply(key, obj, this.live?.(obj))) return 0;
    const live = await this.writer.apply(obj);
    this.cache.remember(key, obj, live.metadata);
    return 1;
  }

  private async remove(obj: KubernetesObject): Promise<void> {
    this.cache.forget(admissionKey(obj));
    try {
      await this.writer.objects.delete(obj);
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
    }
  }
}

export interface AdmissionOutcome {
  /** How many objects were written. */
  written: number;
  /** Which object the API server refused, and its message. */
  failure?: string;
  /** Whether the fail-closed pair is in force (set with `failure`). */
  failClosed?: boolean;
  /** Whether the API server refused the object (REFUSAL_CODES), rather than failing to answer. */
  refused?: boolean;
}
