import type { SovereigntyPolicy } from '../api/index.js';
import type { Labels } from './eligibility.js';

type Selector = NonNullable<SovereigntyPolicy['spec']['namespaceSelector']>;

/**
 * Whether the policy lets hubs of a namespace with these labels name it: metav1.LabelSelector
 * semantics, an omitted or empty selector selecting every namespace.
 */
export function policySelectsNamespace(
  policy: Pick<SovereigntyPolicy, 'spec'>,
  namespaceLabels: Labels | undefined,
): boolean {
  const selector: Selector = policy.spec.namespaceSelector ?? {};
  const labels = namespaceLabels ?? {};
  const has = (k: string) => Object.prototype.hasOwnProperty.call(labels, k);
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(k) || labels[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const values = e.values ?? [];
    const ok =
      e.operator === 'In'
        ? has(e.key) && values.includes(labels[e.key]!)
        : e.operator === 'NotIn'
          ? !has(e.key) || !values.includes(labels[e.key]!)
          : e.operator === 'Exists'
            ? has(e.key)
            : e.operator === 'DoesNotExist'
              ? !has(e.key)
              : false;
    if (!ok) return false;
  }
  return true;
}

/** The selector in words, for messages. */
export function describeNamespaceSelector(policy: Pick<SovereigntyPolicy, 'spec'>): string {
  const s = policy.spec.namespaceSelector ?? {};
  const parts = [
    ...Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(s.matchExpressions ?? []).map((e) =>
      e.values?.length ? `${e.key} ${e.operator} [${e.values.join(', ')}]` : `${e.key} ${e.operator}`,
    ),
  ];
  return parts.join(', ');
}
