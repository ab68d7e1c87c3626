// CEL, for the admission policies, of the compliance rules in compliance.ts. Each function mirrors
// its TypeScript counterpart; the policy's values are inlined as literals, so the API server needs
// no parameter object to know the policy.
import type { NodeSelectorRequirement } from '../api/index.js';

/** CEL: the pod's nodeSelector, empty when unset. */
export const POD_NODE_SELECTOR = 'object.spec.?nodeSelector.orValue({})';
/** CEL: the pod's required nodeSelectorTerms, empty when unset. */
export const POD_TERMS =
  'object.spec.?affinity.?nodeAffinity.?requiredDuringSchedulingIgnoredDuringExecution.?nodeSelectorTerms.orValue([])';

/** A CEL string literal (JSON's escapes are a subset of CEL's). */
export function celString(s: string): string {
  return JSON.stringify(s);
}

function celList(values: readonly string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

const INTEGER = "'^-?[0-9]+$'";

/** CEL: the label value `v` (an expression of type string) satisfies r; see requirementHolds. */
export function celValueHolds(v: string, r: NodeSelectorRequirement): string {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return `${v} in ${celList(values)}`;
    case 'NotIn':
      return `!(${v} in ${celList(values)})`;
    case 'Exists':
      return 'true';
    case 'DoesNotExist':
      return 'false';
    case 'Gt':
    case 'Lt':
      // int() fails beyond 64 bits; the policies fail closed, so such a value is refused.
      return `(${v}.matches(${INTEGER}) && int(${v}) ${r.operator === 'Gt' ? '>' : '<'} ${integer(values)})`;
  }
}

/** CEL: a labels map (an expression of type map(string, string)) satisfies r. */
export function celLabelsHold(labels: string, r: NodeSelectorRequirement): string {
  const key = celString(r.key);
  switch (r.operator) {
    case 'Exists':
      return `${key} in ${labels}`;
    case 'DoesNotExist':
    case 'NotIn':
      return `(!(${key} in ${labels}) || ${celValueHolds(`${labels}[${key}]`, r)})`;
    default:
      return `(${key} in ${labels} && ${celValueHolds(`${labels}[${key}]`, r)})`;
  }
}

/** CEL: the pod-side expression `e` (a NodeSelectorRequirement) implies r; see requirementImplies. */
export function celRequirementImplies(e: string, r: NodeSelectorRequirement): string {
  const values = `${e}.?values.orValue([])`;
  const clauses = [`(${e}.operator == 'In' && size(${values}) > 0 && ${values}.all(w, ${celValueHolds('w', r)}))`];
  switch (r.operator) {
    case 'NotIn':
      clauses.push(`(${e}.operator == 'NotIn' && ${celList(r.values ?? [])}.all(v, v in ${values}))`);
      clauses.push(`${e}.operator == 'DoesNotExist'`);
      break;
    case 'Exists':
      clauses.push(`${e}.operator == 'Exists'`);
      for (const op of ['Gt', 'Lt']) {
        clauses.push(`(${e}.operator == '${op}' && size(${values}) == 1 && ${values}[0].matches(${INTEGER}))`);
      }
      break;
    case 'DoesNotExist':
      clauses.push(`${e}.operator == 'DoesNotExist'`);
      break;
    case 'Gt':
    case 'Lt':
      clauses.push(
        `(${e}.operator == '${r.operator}' && size(${values}) == 1 && ${values}[0].matches(${INTEGER}) && ` +
          `int(${values}[0]) ${r.operator === 'Gt' ? '>=' : '<='} ${integer(r.values ?? [])})`,
      );
      break;
    case 'In':
      break;
  }
  return clauses.length === 1 ? clauses[0]! : `(${clauses.join(' || ')})`;
}

/** CEL: the node selector term `t` has no expressions and no fields, so matches no node. */
export function celTermEmpty(t: string): string {
  return `(size(${t}.?matchExpressions.orValue([])) == 0 && size(${t}.?matchFields.orValue([])) == 0)`;
}

/** CEL: the term `t` carries an expression on r's key at least as strict as r; see termImplies. */
export function celTermImplies(t: string, r: NodeSelectorRequirement): string {
  return `${t}.?matchExpressions.orValue([]).exists(e, e.key == ${celString(r.key)} && ${celRequirementImplies('e', r)})`;
}

/**
 * CEL: the pod's placement implies r; see unimpliedRequirements. `nodeSelector` and `terms` are
 * expressions for the pod's nodeSelector map and its required nodeSelectorTerms list.
 */
export function celPlacementImplies(nodeSelector: string, terms: string, r: NodeSelectorRequirement): string {
  const key = celString(r.key);
  const bySelector =
    r.operator === 'DoesNotExist' ? 'false' : `(${key} in ${nodeSelector} && ${celValueHolds(`${nodeSelector}[${key}]`, r)})`;
  const byTerms = `(size(${terms}) > 0 && ${terms}.all(t, ${celTermEmpty('t')} || ${celTermImplies('t', r)}))`;
  return `${bySelector} || ${byTerms}`;
}

function integer(values: readonly string[]): string {
  const [v] = values;
  // The CRD admits exactly one integer for Gt and Lt; anything else makes the check unsatisfiable.
  return v !== undefined && /^-?\d+$/.test(v) ? String(BigInt(v)) : 'int("not an integer")';
}

/**
 * CEL: r as a map literal, the shape of a pod's NodeSelectorRequirement, for JSON patch values.
 * Values are wrapped in dyn() so one map holds strings and a list.
 */
export function celRequirementLiteral(r: NodeSelectorRequirement): string {
  const fields = [`"key": dyn(${celString(r.key)})`, `"operator": dyn(${celString(r.operator)})`];
  if (r.values?.length) fields.push(`"values": dyn(${celList(r.values)})`);
  return `{${fields.join(', ')}}`;
}
