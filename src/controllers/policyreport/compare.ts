// Whether the live object of the report's name matches the rendered report (pure): it is only
// compared, never read as input, so that a tenant's object of that name cannot steer anything.
import type { KubernetesObject } from '@kubernetes/client-node';
import { canonicalJson } from '../../api/canonical-json.js';
import type { PolicyReportObject } from './render.js';

/** Top-level fields the operator writes; any other in a live report was put there by someone else. */
const OWN_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'source', 'summary', 'results']);

/**
 * What to do with the live object of the report's name: nothing (`current`), a server-side apply
 * (`apply`: absent, or our fields differ), or delete and apply again (`replace`): it holds fields
 * the operator never writes (a scope, a configuration that filters results), which an apply would
 * leave in place. The live object is only compared, never read as input.
 */
export function compareLive(
  live: KubernetesObject | undefined,
  desired: PolicyReportObject,
): 'current' | 'apply' | 'replace' {
  if (!live) return 'apply';
  const fields = live as unknown as Record<string, unknown>;
  if (Object.keys(fields).some((k) => !OWN_FIELDS.has(k) && fields[k] !== undefined)) return 'replace';
  const labels = live.metadata?.labels ?? {};
  if (Object.entries(desired.metadata.labels).some(([k, v]) => labels[k] !== v)) return 'apply';
  // Equal content, equal text: keys are sorted at every level.
  const ours = (o: Record<string, unknown>) =>
    canonicalJson({ source: o['source'], summary: o['summary'], results: o['results'] ?? [] });
  return ours(fields) === ours(desired as unknown as Record<string, unknown>) ? 'current' : 'apply';
}
