// Admission of every pod in a sovereign namespace, enforced by the API server itself through
// ValidatingAdmissionPolicies generated per SovereigntyPolicy (see docs/placement.md). Nothing
// here calls back into the operator, so the operator being down admits nothing it would refuse.
import type {
  KubernetesObject,
  V1beta1MutatingAdmissionPolicyBindingSpec,
  V1ObjectMeta,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
  V1ValidatingAdmissionPolicyBindingSpec,
  V1Validation,
} from '@kubernetes/client-node';
import {
  API_GROUP,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  type NodeSelectorRequirement,
  type SovereigntyPolicy,
} from '../api/index.js';
import { celLabelsHold, celPlacementImplies, celString, POD_NODE_SELECTOR, POD_TERMS } from './cel.js';
import { formatRequirement, policyRequirements } from './constraints.js';
import { injectionPolicy, MUTATING_POLICY_API_VERSION, type MutatingAdmissionPolicy } from './mutation.js';
import { boundedName } from './names.js';

/**
 * Prefix of the namespace label that puts a namespace under a policy:
 * `policy.hdh.sovereign.eu/<policy name>`. One key per policy (rather than one key whose value
 * names the policy) lets a namespace hold hubs of several policies: each policy's admission
 * applies, so the pods must satisfy all of them.
 */
export const POLICY_NAMESPACE_LABEL_PREFIX = `policy.${API_GROUP}`;
/** Label on the generated admission objects naming their SovereigntyPolicy. */
export const LABEL_POLICY = `${API_GROUP}/policy`;

const LABEL_NAME_MAX = 63;
const OBJECT_NAME_MAX = 253;

/** The namespace label key that holds pods of a namespace to `policyName`. */
export function policyNamespaceLabelKey(policyName: string): string {
  return `${POLICY_NAMESPACE_LABEL_PREFIX}/${boundedName('', policyName, LABEL_NAME_MAX)}`;
}

/** Labels the operator sets on a namespace holding a hub of `policyName`. */
export function hubNamespaceLabels(policyName: string): Record<string, string> {
  return { [policyNamespaceLabelKey(policyName)]: 'true' };
}

/** Names of the generated objects (each policy and its binding share a name). */
export function admissionObjectNames(policyName: string): { placement: string; nodeName: string; injection: string } {
  return {
    placement: boundedName('hdh-placement-', policyName, OBJECT_NAME_MAX),
    nodeName: boundedName('hdh-node-name-', policyName, OBJECT_NAME_MAX),
    injection: boundedName('hdh-inject-', policyName, OBJECT_NAME_MAX),
  };
}

/** A MutatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1). */
export interface MutatingAdmissionPolicyBinding {
  apiVersion: typeof MUTATING_POLICY_API_VERSION;
  kind: 'MutatingAdmissionPolicyBinding';
  metadata: V1ObjectMeta;
  spec: V1beta1MutatingAdmissionPolicyBindingSpec;
}

export type AdmissionObject = KubernetesObject &
  (
    | V1ValidatingAdmissionPolicy
    | V1ValidatingAdmissionPolicyBinding
    | MutatingAdmissionPolicy
    | MutatingAdmissionPolicyBinding
  );

export interface RenderAdmissionOptions {
  /**
   * Also generate the MutatingAdmissionPolicy that injects the constraints into pods (Enforce
   * only). Needs admissionregistration.k8s.io/v1 MutatingAdmissionPolicy (Kubernetes 1.36); without
   * it, non-compliant pods are refused rather than corrected. Defaults to true.
   */
  inject?: boolean;
}

/**
 * The admission objects for one SovereigntyPolicy, in the order to apply them (each policy before
 * its binding). Two policies:
 * - placement: the pod's nodeSelector, or every one of its required nodeSelectorTerms, must imply
 *   each policy requirement (region In the policy's regions, then the policy's requirements);
 * - node name: a pod naming a node in spec.nodeName must name a node satisfying the policy. The
 *   node's labels are read by the API server (Nodes as parameters), not by the operator.
 * Enforce denies; Audit admits with a warning to the client and an audit annotation.
 */
export function renderAdmission(
  policy: SovereigntyPolicy,
  { inject = true }: RenderAdmissionOptions = {},
): AdmissionObject[] {
  const policyName = policy.metadata.name;
  if (!policyName) throw new Error('SovereigntyPolicy without metadata.name');
  const requirements = policyRequirements(policy.spec);
  const names = admissionObjectNames(policyName);
  const metadata = (name: string) => ({
    name,
    labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_POLICY]: boundedName('', policyName, LABEL_NAME_MAX) },
  });
  const enforce = (policy.spec.enforcement ?? 'Enforce') === 'Enforce';
  const validationActions = enforce ? ['Deny'] : ['Audit', 'Warn'];
  const matchResources = {
    namespaceSelector: { matchExpressions: [{ key: policyNamespaceLabelKey(policyName), operator: 'Exists' }] },
  };
  const how = howToComply(requirements);
  const prefix = `pod refused by SovereigntyPolicy ${policyName}`;

  const placement: V1ValidatingAdmissionPolicy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(names.placement),
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: podCreation(),
      variables: [
        { name: 'nodeSelector', expression: POD_NODE_SELECTOR },
        { name: 'terms', expression: POD_TERMS },
      ],
      validations: requirements.map(
        (r): V1Validation => ({
          expression: celPlacementImplies('variables.nodeSelector', 'variables.terms', r),
          message: `${prefix}: its placement allows nodes where ${formatRequirement(r)} does not hold. ${how}`,
          reason: 'Forbidden',
        }),
      ),
    },
  };

  const nodeName: V1ValidatingAdmissionPolicy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(names.nodeName),
    spec: {
      failurePolicy: 'Fail',
      // Evaluated once per Node (the binding selects every Node as a parameter); the match
      // condition keeps only the node the pod names.
      paramKind: { apiVersion: 'v1', kind: 'Node' },
      matchConstraints: podCreation(),
      matchConditions: [
        { name: 'names-a-node', expression: "object.spec.?nodeName.orValue('') != ''" },
        { name: 'is-the-named-node', expression: 'params.metadata.name == object.spec.nodeName' },
      ],
      variables: [{ name: 'labels', expression: 'params.metadata.?labels.orValue({})' }],
      validations: requirements.map(
        (r): V1Validation => ({
          expression: celLabelsHold('variables.labels', r),
          messageExpression:
            `${celString(`${prefix}: spec.nodeName names node `)} + object.spec.nodeName + ` +
            celString(
              `, which does not satisfy ${formatRequirement(r)}. Leave spec.nodeName empty so the scheduler places ` +
                `the pod inside the policy, or name a node that satisfies it. ${how}`,
            ),
          reason: 'Forbidden',
        }),
      ),
    },
  };

  const binding = (
    name: string,
    extra: Partial<V1ValidatingAdmissionPolicyBindingSpec> = {},
  ): V1ValidatingAdmissionPolicyBinding => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: metadata(name),
    spec: { policyName: name, validationActions, matchResources, ...extra },
  });

  const objects: AdmissionObject[] = [
    placement,
    binding(names.placement),
    nodeName,
    // No Node at all means no node to name: Allow then, the placement policy still applies.
    binding(names.nodeName, { paramRef: { selector: {}, parameterNotFoundAction: 'Allow' } }),
  ];
  if (inject) {
    objects.push(injectionPolicy(metadata(names.injection), requirements, enforce), {
      apiVersion: MUTATING_POLICY_API_VERSION,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: metadata(names.injection),
      spec: { policyName: names.injection, matchResources },
    });
  }
  return objects;
}

function podCreation() {
  // CREATE only: after creation, a pod's nodeName is set through the binding subresource by the
  // scheduler, and its node constraints can only be narrowed (scheduling-gated pods), never widened.
  return {
    resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
  };
}

function howToComply(requirements: readonly NodeSelectorRequirement[]): string {
  return (
    `To comply, require ${requirements.map(formatRequirement).join('; ')} in spec.nodeSelector (exact values) ` +
    'or in every nodeSelectorTerm of spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.'
  );
}
