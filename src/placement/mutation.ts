// The MutatingAdmissionPolicy that writes a policy's node requirements into pods, the same way
// render.ts does for the operator's own pods: ANDed into every non-empty required
// nodeSelectorTerm, or as one new term when the pod has none. The validating policies still run
// after it, so a mutation that did not happen (or was undone by a later mutation) is refused.
import type { V1beta1MutatingAdmissionPolicySpec, V1ObjectMeta } from '@kubernetes/client-node';
import {
  celPlacementImplies,
  celRequirementLiteral,
  celTermEmpty,
  celTermImplies,
  POD_NODE_SELECTOR,
  POD_TERMS,
  type CelRequirement,
} from './cel.js';

export const MUTATING_POLICY_API_VERSION = 'admissionregistration.k8s.io/v1';

/** A MutatingAdmissionPolicy (admissionregistration.k8s.io/v1, served from Kubernetes 1.36). */
export interface MutatingAdmissionPolicy {
  apiVersion: typeof MUTATING_POLICY_API_VERSION;
  kind: 'MutatingAdmissionPolicy';
  metadata: V1ObjectMeta;
  spec: V1beta1MutatingAdmissionPolicySpec;
}

const TERMS_PATH =
  '/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms';

/**
 * The mutating policy for one SovereigntyPolicy. `enforce` false (Audit) keeps the object but makes
 * it match no request, so the set of objects per policy is the same in both modes and a mode
 * switch is a plain update.
 */
export function injectionPolicy(
  metadata: V1ObjectMeta,
  cel: {
    requirements: readonly CelRequirement[];
    variables: readonly { name: string; expression: string }[];
  },
  enforce: boolean,
): MutatingAdmissionPolicy {
  const compliant = cel.requirements
    .map((r) => `(${celPlacementImplies('variables.nodeSelector', 'variables.terms', r)})`)
    .join(' && ');
  return {
    apiVersion: MUTATING_POLICY_API_VERSION,
    kind: 'MutatingAdmissionPolicy',
    metadata,
    spec: {
      failurePolicy: 'Fail',
      // Run again when a later mutation changed the pod (it might have added a term); the patch
      // adds only what is missing, so running twice changes nothing more.
      reinvocationPolicy: 'IfNeeded',
      matchConstraints: {
        resourceRules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
        ],
      },
      matchConditions: [{ name: 'enforced', expression: enforce ? 'true' : 'false' }],
      variables: [
        { name: 'nodeSelector', expression: POD_NODE_SELECTOR },
        { name: 'terms', expression: POD_TERMS },
        ...cel.variables,
        { name: 'compliant', expression: compliant },
      ],
      mutations: [
        {
          patchType: 'JSONPatch',
          // A compliant pod is left exactly as written.
          jsonPatch: { expression: `variables.compliant ? [] : (${patchExpression(cel.requirements)})` },
        },
      ],
    },
  };
}

/**
 * CEL returning the JSON patch. Without required terms, the whole required node affinity is added
 * at the first level that is missing. With terms, each non-empty term gets the requirements it
 * does not imply; a term with only matchFields gets a matchExpressions list; an empty term (which
 * matches no node) is left alone, as adding expressions to it would widen placement.
 */
function patchExpression(requirements: readonly CelRequirement[]): string {
  const all = `[${requirements.map(celRequirementLiteral).join(', ')}]`;
  const required = `{"nodeSelectorTerms": [{"matchExpressions": ${all}}]}`;
  const noTerms =
    `!has(object.spec.affinity) ? [JSONPatch{op: "add", path: "/spec/affinity", value: ` +
    `{"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": ${required}}}}] : ` +
    `!has(object.spec.affinity.nodeAffinity) ? [JSONPatch{op: "add", path: "/spec/affinity/nodeAffinity", value: ` +
    `{"requiredDuringSchedulingIgnoredDuringExecution": ${required}}}] : ` +
    `[JSONPatch{op: "add", path: "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution", value: ${required}}]`;

  const indices = 'lists.range(size(variables.terms))';
  const term = 'variables.terms[i]';
  const hasExpressions = `size(${term}.?matchExpressions.orValue([])) > 0`;
  const path = `${JSON.stringify(TERMS_PATH + '/')} + string(i)`;
  // Grouped by requirement, all terms at a time: each term ends up with its own expressions then
  // the missing requirements in policy order, as renderPodPlacement writes them.
  const appendMissing = requirements.map(
    (r) =>
      `${indices}.filter(i, ${hasExpressions} && !(${celTermImplies(term, r)}))` +
      `.map(i, JSONPatch{op: "add", path: ${path} + "/matchExpressions/-", value: ${celRequirementLiteral(r)}})`,
  );
  const fieldsOnly =
    `${indices}.filter(i, !(${hasExpressions}) && !${celTermEmpty(term)})` +
    `.map(i, JSONPatch{op: "add", path: ${path} + "/matchExpressions", value: ${all}})`;
  return `size(variables.terms) == 0 ? (${noTerms}) : (${[...appendMissing, fieldsOnly].join(' + ')})`;
}
