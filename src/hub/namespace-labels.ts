import type { HealthDataHub } from '../api/index.js';
import { hubNamespaceLabels } from '../placement/admission.js';
import type { Writer } from '../runtime/apply.js';
import { AppliedCache } from '../runtime/apply-cache.js';

/**
 * The labels that make a namespace sovereign territory: one per policy of the hubs it holds, so
 * every pod in it — not only the operator's — is checked against each of those policies.
 */
export function sovereignNamespaceLabels(hubsInNamespace: readonly HealthDataHub[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const hub of hubsInNamespace) Object.assign(labels, hubNamespaceLabels(hub.spec.policyName));
  return labels;
}

/** Applies those labels (server-side apply: only the operator's own labels are touched). */
export class NamespaceLabeler {
  private readonly cache = new AppliedCache();

  constructor(private readonly writer: Writer) {}

  async sync(namespace: string, labels: Record<string, string>): Promise<void> {
    const desired = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } };
    if (!this.cache.needsApply(namespace, desired)) return;
    await this.writer.apply(desired);
    this.cache.remember(namespace, desired);
  }
}
