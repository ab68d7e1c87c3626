// Admission of every pod in a sovereign namespace, enforced by the API server itself through
// admission policies generated per SovereigntyPolicy (see docs/placement.md). Nothing here calls
// back into the operator, so the operator being down admits nothing it would refuse.
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
import {
  celLabelsHold,
  celPlacementImplies,
  celRequirementsWithVariables,
  celString,
  POD_NODE_SELECTOR,
  POD_TERMS,
} from './cel.js';
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
  return `${POLICY_NAMESPACE_LABEL_PREFIX}/${policyLabelValue(policyName)}`;
}

/**
 * `policyName` as a label value (LABEL_POLICY): bounded as the namespace label key bounds it, so
 * `${POLICY_NAMESPACE_LABEL_PREFIX}/${value}` is that key.
 */
export function policyLabelValue(policyName: string): string {
  return boundedName('', policyName, LABEL_NAME_MAX);
}

/** Labels the operator sets on a namespace holding a hub of `policyName`. */
export function hubNamespaceLabels(policyName: string): Record<string, string> {
  return { [policyNamespaceLabelKey(policyName)]: 'true' };
}

/** Names of the generated objects (each policy and its binding share a name). */
export function admissionObjectNames(policyName: string): {
  placement: string;
  nodeName: string;
  injection: string;
  failClosed: string;
} {
  return {
    placement: boundedName('hdh-placement-', policyName, OBJECT_NAME_MAX),
    nodeName: boundedName('hdh-node-name-', policyName, OBJECT_NAME_MAX),
    injection: boundedName('hdh-inject-', policyName, OBJECT_NAME_MAX),
    failClosed: boundedName('hdh-unavailable-', policyName, OBJECT_NAME_MAX),
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
 * its binding), all bound to the namespaces labelled with policyNamespaceLabelKey:
 * - placement (validating): the pod's nodeSelector, or every one of its non-empty required
 *   nodeSelectorTerms, must imply each policy requirement (region In the policy's regions, then
 *   the policy's own requirements);
 * - node name (validating): a pod naming a node in spec.nodeName must name a node satisfying the
 *   policy. The API server reads the node's labels itself (Nodes as parameters);
 * - injection (mutating, unless `inject` is false): the constraints written into pods that lack
 *   them, ANDed into every term as renderPodPlacement does; Enforce only.
 * Enforce denies; Audit admits with a warning to the client and an audit annotation.
 */
export function renderAdmission(
  policy: SovereigntyPolicy,
  { inject = true }: RenderAdmissionOptions = {},
): AdmissionObject[] {
  const policyName = policy.metadata.name;
  if (!policyName) throw new Error('SovereigntyPolicy without metadata.name');
  const requirements = policyRequirements(policy.spec);
  // Value lists are declared once per object as variables: a policy may list 64 regions and 32
  // requirements of 64 values, which written into every expression would exceed request limits.
  const cel = celRequirementsWithVariables(requirements);
  const names = admissionObjectNames(policyName);
  const metadata = (name: string) => admissionMetadata(policyName, name);
  const enforce = (policy.spec.enforcement ?? 'Enforce') === 'Enforce';
  const validationActions = enforce ? ['Deny'] : ['Audit', 'Warn'];
  const matchResources = policyNamespaces(policyName);
  const how = howToComply(policyName, requirements);
  const prefix = enforce
    ? `pod refused by SovereigntyPolicy ${policyName}`
    : // Warnings may be cut to 256 characters when a pod gets many: what matters comes first.
      `SovereigntyPolicy ${policyName} (Audit, admitted)`;

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
        ...cel.variables,
      ],
      // One validation per requirement, so the refusal names the requirement that is missing.
      validations: cel.requirements.map((r): V1Validation => ({
        expression: celPlacementImplies('variables.nodeSelector', 'variables.terms', r),
        message: `${prefix}: its placement allows nodes where ${briefRequirement(r.req)} does not hold. ${how}`,
        reason: 'Forbidden',
      })),
    },
  };

  const nodeName: V1ValidatingAdmissionPolicy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(names.nodeName),
    spec: {
      failurePolicy: 'Fail',
      // Evaluated once per Node (the binding selects every Node as a parameter); the match
      // conditions keep only the node the pod names.
      paramKind: { apiVersion: 'v1', kind: 'Node' },
      matchConstraints: podCreation(),
      matchConditions: [
        { name: 'names-a-node', expression: "object.spec.?nodeName.orValue('') != ''" },
        { name: 'is-the-named-node', expression: 'params.metadata.name == object.spec.nodeName' },
      ],
      variables: [{ name: 'labels', expression: 'params.metadata.?labels.orValue({})' }, ...cel.variables],
      validations: cel.requirements.map((r): V1Validation => ({
        expression: celLabelsHold('variables.labels', r),
        messageExpression:
          `${celString(`${prefix}: spec.nodeName names node `)} + object.spec.nodeName + ` +
          celString(
            `, which does not satisfy ${briefRequirement(r.req)}. Leave spec.nodeName empty so the scheduler ` +
              `places the pod inside the policy, or name a node that satisfies the policy. ${how}`,
          ),
        reason: 'Forbidden',
      })),
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
    objects.push(injectionPolicy(metadata(names.injection), cel, enforce), {
      apiVersion: MUTATING_POLICY_API_VERSION,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: metadata(names.injection),
      spec: { policyName: names.injection, matchResources },
    });
  }
  return objects;
}

/**
 * The fail-closed pair for a policy whose admission objects the API server refused: a
 * ValidatingAdmissionPolicy that refuses every pod creation, bound to the policy's namespaces with
 * the policy's own validation actions (Deny for Enforce; Audit keeps only warning). Nothing in it
 * depends on the policy's content, so the API server has no reason to refuse it where it refused
 * the policy's own objects. The operator applies it when an apply fails and removes it once every
 * object of the policy is applied.
 */
export function renderFailClosed(policy: SovereigntyPolicy): AdmissionObject[] {
  const policyName = policy.metadata.name;
  if (!policyName) throw new Error('SovereigntyPolicy without metadata.name');
  const name = admissionObjectNames(policyName).failClosed;
  const enforce = (policy.spec.enforcement ?? 'Enforce') === 'Enforce';
  const vap: V1ValidatingAdmissionPolicy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: admissionMetadata(policyName, name),
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: podCreation(),
      validations: [
        {
          expression: 'false',
          message:
            `pod refused: the admission checks of SovereigntyPolicy ${policyName} could not be put in ` +
            `force, so no pod is admitted in its namespaces until they are. The platform team must fix ` +
            `the cause named in the policy's Ready condition (kubectl describe sovereigntypolicy ${policyName}).`,
          reason: 'Forbidden',
        },
      ],
    },
  };
  const binding: V1ValidatingAdmissionPolicyBinding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: admissionMetadata(policyName, name),
    spec: {
      policyName: name,
      validationActions: enforce ? ['Deny'] : ['Audit', 'Warn'],
      matchResources: policyNamespaces(policyName),
    },
  };
  return [vap, binding];
}

function admissionMetadata(policyName: string, name: string): V1ObjectMeta {
  return {
    name,
    labels: {
      [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
      [LABEL_POLICY]: policyLabelValue(policyName),
    },
  };
}

/** The namespaces a policy's admission applies to: those carrying its namespace label. */
function policyNamespaces(policyName: string) {
  return {
    namespaceSelector: {
      matchExpressions: [{ key: policyNamespaceLabelKey(policyName), operator: 'Exists' }],
    },
  };
}

function podCreation() {
  // CREATE only: after creation, a pod's nodeName is set through the binding subresource by the
  // scheduler, and its node constraints can only be narrowed (scheduling-gated pods), never widened.
  return {
    resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
  };
}

/** A requirement for a message, long value lists shortened. */
function briefRequirement(r: NodeSelectorRequirement): string {
  const values = r.values ?? [];
  if (values.length <= MESSAGE_VALUES) return formatRequirement(r);
  const shown = values.slice(0, MESSAGE_VALUES).join(', ');
  return `${r.key} ${r.operator} [${shown}, … ${values.length - MESSAGE_VALUES} more]`;
}

const MESSAGE_VALUES = 8;
const MESSAGE_REQUIREMENTS_MAX = 600;

function howToComply(policyName: string, requirements: readonly NodeSelectorRequirement[]): string {
  const all = requirements.map(formatRequirement).join('; ');
  const what =
    all.length <= MESSAGE_REQUIREMENTS_MAX
      ? all
      : `the node requirements of SovereigntyPolicy ${policyName} (kubectl get sovereigntypolicy ${policyName} -o yaml)`;
  return (
    `To comply, require ${what} in spec.nodeSelector (exact values) ` +
    'or in every nodeSelectorTerm of spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.'
  );
}
