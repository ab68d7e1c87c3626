// CEL, for the admission policies, of the compliance rules in compliance.ts. Each function mirrors
// its TypeScript counterpart; the policy's values are written into the expressions (as literals or
// variables holding them), so the API server needs no parameter object to know the policy.
import type { NodeSelectorRequirement } from '../api/index.js';

/**
 * A policy requirement as the expressions see it: `values` is a CEL expression for its values, a
 * list literal or a variable holding one, so that long lists are written once per object.
 */
export interface CelRequirement {
  req: NodeSelectorRequirement;
  values: string;
}

export function celRequirement(
  req: NodeSelectorRequirement,
  values = celList(req.values ?? []),
): CelRequirement {
  return { req, values };
}

/** CEL: the pod's nodeSelector, empty when unset. */
export const POD_NODE_SELECTOR = 'object.spec.?nodeSelector.orValue({})';
/** CEL: the pod's required nodeSelectorTerms, empty when unset. */
export const POD_TERMS =
  'object.spec.?affinity.?nodeAffinity.?requiredDuringSchedulingIgnoredDuringExecution.?nodeSelectorTerms.orValue([])';

/** A CEL string literal (JSON's escapes are a subset of CEL's). */
export function celString(s: string): string {
  return JSON.stringify(s);
}

export function celList(values: readonly string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

const INTEGER = "'^-?[0-9]+$'";

/**
 * CEL: the string `v` is a decimal integer that fits in 64 bits, so `int(v)` cannot fail. The
 * scheduler reads such values with strconv.ParseInt, so a value beyond 64 bits satisfies no Gt or
 * Lt; here it makes the requirement false (the refusal names the requirement) instead of an
 * evaluation error.
 */
export function celInt64(v: string): string {
  const digits = `${v}.find('[1-9][0-9]*$')`;
  return (
    `(${v}.matches(${INTEGER}) && (size(${digits}) < 19 || (size(${digits}) == 19 && ` +
    `(${digits} <= '9223372036854775807' || (${v}.startsWith('-') && ${digits} == '9223372036854775808')))))`
  );
}

/** CEL: the label value `v` (an expression of type string) satisfies r; see requirementHolds. */
export function celValueHolds(v: string, { req: r, values: list }: CelRequirement): string {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return `${v} in ${list}`;
    case 'NotIn':
      return `!(${v} in ${list})`;
    case 'Exists':
      return 'true';
    case 'DoesNotExist':
      return 'false';
    case 'Gt':
    case 'Lt':
      return `(${celInt64(v)} && int(${v}) ${r.operator === 'Gt' ? '>' : '<'} ${integer(values)})`;
  }
}

/** CEL: a labels map (an expression of type map(string, string)) satisfies r. */
export function celLabelsHold(labels: string, cr: CelRequirement): string {
  const key = celString(cr.req.key);
  switch (cr.req.operator) {
    case 'Exists':
      return `${key} in ${labels}`;
    case 'DoesNotExist':
    case 'NotIn':
      return `(!(${key} in ${labels}) || ${celValueHolds(`${labels}[${key}]`, cr)})`;
    default:
      return `(${key} in ${labels} && ${celValueHolds(`${labels}[${key}]`, cr)})`;
  }
}

/** CEL: the pod-side expression `e` (a NodeSelectorRequirement) implies r; see requirementImplies. */
export function celRequirementImplies(e: string, cr: CelRequirement): string {
  const r = cr.req;
  const values = `${e}.?values.orValue([])`;
  const clauses = [
    `(${e}.operator == 'In' && size(${values}) > 0 && ${values}.all(w, ${celValueHolds('w', cr)}))`,
  ];
  switch (r.operator) {
    case 'NotIn':
      clauses.push(`(${e}.operator == 'NotIn' && ${cr.values}.all(v, v in ${values}))`);
      clauses.push(`${e}.operator == 'DoesNotExist'`);
      break;
    case 'Exists':
      clauses.push(`${e}.operator == 'Exists'`);
      for (const op of ['Gt', 'Lt']) {
        clauses.push(
          `(${e}.operator == '${op}' && size(${values}) == 1 && ${values}[0].matches(${INTEGER}))`,
        );
      }
      break;
    case 'DoesNotExist':
      clauses.push(`${e}.operator == 'DoesNotExist'`);
      break;
    case 'Gt':
    case 'Lt':
      clauses.push(
        `(${e}.operator == '${r.operator}' && size(${values}) == 1 && ${celInt64(`${values}[0]`)} && ` +
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
export function celTermImplies(t: string, cr: CelRequirement): string {
  return `${t}.?matchExpressions.orValue([]).exists(e, e.key == ${celString(cr.req.key)} && ${celRequirementImplies('e', cr)})`;
}

/**
 * CEL: the pod's placement implies r; see unimpliedRequirements. `nodeSelector` and `terms` are
 * expressions for the pod's nodeSelector map and its required nodeSelectorTerms list.
 */
export function celPlacementImplies(nodeSelector: string, terms: string, cr: CelRequirement): string {
  const key = celString(cr.req.key);
  const bySelector =
    cr.req.operator === 'DoesNotExist'
      ? 'false'
      : `(${key} in ${nodeSelector} && ${celValueHolds(`${nodeSelector}[${key}]`, cr)})`;
  const byTerms = `(size(${terms}) > 0 && ${terms}.all(t, ${celTermEmpty('t')} || ${celTermImplies('t', cr)}))`;
  return `${bySelector} || ${byTerms}`;
}

function integer(values: readonly string[]): string {
  const [v] = values;
  // The CRD admits exactly one integer for Gt and Lt; anything else makes the check unsatisfiable.
  return v !== undefined && /^-?\d+$/.test(v) ? String(BigInt(v)) : 'int("not an integer")';
}

/**
 * CEL: r as a map literal, the shape of a pod's NodeSelectorRequirement, for JSON patch values.
 * Values are wrapped in dyn() so one map holds strings and a list. A map rather than an
 * `Object.spec.affinity...` typed value: the 1.36 API server fails the request with an internal
 * error when such a typed value is added to a list by JSON patch.
 */
export function celRequirementLiteral({ req: r, values }: CelRequirement): string {
  const fields = [`"key": dyn(${celString(r.key)})`, `"operator": dyn(${celString(r.operator)})`];
  if (r.values?.length) fields.push(`"values": dyn(${values})`);
  return `{${fields.join(', ')}}`;
}

/**
 * The requirements as CelRequirements whose value lists live in variables named
 * `<prefix><index>`, with the variable definitions to declare in the object.
 */
export function celRequirementsWithVariables(
  requirements: readonly NodeSelectorRequirement[],
  prefix = 'values',
): { requirements: CelRequirement[]; variables: { name: string; expression: string }[] } {
  const variables: { name: string; expression: string }[] = [];
  const out = requirements.map((req, i) => {
    if (req.operator !== 'In' && req.operator !== 'NotIn') return celRequirement(req);
    variables.push({ name: `${prefix}${i}`, expression: celList(req.values ?? []) });
    return celRequirement(req, `variables.${prefix}${i}`);
  });
  return { requirements: out, variables };
}
