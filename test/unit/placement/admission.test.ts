import type {
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../../src/api/index.js';
import {
  admissionObjectNames,
  hubNamespaceLabels,
  LABEL_POLICY,
  policyNamespaceLabelKey,
  renderAdmission,
  renderFailClosed,
} from '../../../src/placement/admission.js';
import { celInt64 } from '../../../src/placement/cel.js';
import type { MutatingAdmissionPolicy } from '../../../src/placement/mutation.js';
import { euHds } from './pods.js';

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

describe('namespace labels', () => {
  it('gives each policy its own key, so a namespace can hold hubs of several policies', () => {
    expect(hubNamespaceLabels('eu-hds')).toEqual({ 'policy.hdh.sovereign.eu/eu-hds': 'true' });
    expect(policyNamespaceLabelKey('fr-secnumcloud')).toBe('policy.hdh.sovereign.eu/fr-secnumcloud');
  });

  it('keeps keys of long policy names valid and distinct', () => {
    const a = 'a'.repeat(70) + '.eu';
    const b = 'a'.repeat(70) + '.fr';
    const [ka, kb] = [policyNamespaceLabelKey(a), policyNamespaceLabelKey(b)];
    expect(ka).not.toBe(kb);
    for (const key of [ka, kb]) {
      const name = key.split('/')[1]!;
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(LABEL_NAME);
    }
  });
});

describe('renderAdmission', () => {
  const objects = renderAdmission(euHds());
  const [placement, placementBinding, nodeName, nodeNameBinding, inject, injectBinding] = objects as [
    V1ValidatingAdmissionPolicy,
    V1ValidatingAdmissionPolicyBinding,
    V1ValidatingAdmissionPolicy,
    V1ValidatingAdmissionPolicyBinding,
    MutatingAdmissionPolicy,
    { kind: string; spec: { policyName: string; matchResources: unknown } },
  ];
  const names = admissionObjectNames('eu-hds');

  it('renders each policy before its binding, labelled as the operator’s and the policy’s', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      `ValidatingAdmissionPolicy/${names.placement}`,
      `ValidatingAdmissionPolicyBinding/${names.placement}`,
      `ValidatingAdmissionPolicy/${names.nodeName}`,
      `ValidatingAdmissionPolicyBinding/${names.nodeName}`,
      `MutatingAdmissionPolicy/${names.injection}`,
      `MutatingAdmissionPolicyBinding/${names.injection}`,
    ]);
    for (const o of objects) {
      expect(o.apiVersion).toBe('admissionregistration.k8s.io/v1');
      expect(o.metadata?.labels).toEqual({ [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_POLICY]: 'eu-hds' });
    }
  });

  it('binds to the namespaces labelled for the policy and fails closed', () => {
    const selector = { matchExpressions: [{ key: 'policy.hdh.sovereign.eu/eu-hds', operator: 'Exists' }] };
    for (const b of [placementBinding, nodeNameBinding, injectBinding]) {
      expect(b.spec?.matchResources).toEqual({ namespaceSelector: selector });
    }
    for (const p of [placement, nodeName, inject]) {
      expect(p.spec?.failurePolicy).toBe('Fail');
      expect(p.spec?.matchConstraints?.resourceRules).toEqual([
        { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
      ]);
    }
  });

  it('checks each requirement separately, with a message naming the policy and how to comply', () => {
    const validations = placement.spec?.validations ?? [];
    expect(validations).toHaveLength(3);
    for (const v of validations) {
      expect(v.message).toMatch(/^pod refused by SovereigntyPolicy eu-hds: /);
      expect(v.message).toContain(
        'To comply, require topology.kubernetes.io/region In [fr-par, eu-west-3, de-fra]; ' +
          'sovereign.node-restriction.kubernetes.io/jurisdiction In [EU]; ' +
          'sovereign.node-restriction.kubernetes.io/hds In [true] in spec.nodeSelector',
      );
      expect(v.message).not.toMatch(/\n/);
    }
    expect(validations[0]?.message).toContain('allows nodes where topology.kubernetes.io/region In');
  });

  it('reads the named node from the API server: every Node is a parameter, the named one is checked', () => {
    expect(nodeName.spec?.paramKind).toEqual({ apiVersion: 'v1', kind: 'Node' });
    expect(nodeNameBinding.spec?.paramRef).toEqual({ selector: {}, parameterNotFoundAction: 'Allow' });
    expect(nodeName.spec?.matchConditions?.map((c) => c.expression)).toEqual([
      "object.spec.?nodeName.orValue('') != ''",
      'params.metadata.name == object.spec.nodeName',
    ]);
    expect(nodeName.spec?.validations?.[0]?.messageExpression).toContain(
      'spec.nodeName names node " + object.spec.nodeName',
    );
  });

  it('denies in Enforce and audits with a warning in Audit; injects only in Enforce', () => {
    expect(placementBinding.spec?.validationActions).toEqual(['Deny']);
    expect(nodeNameBinding.spec?.validationActions).toEqual(['Deny']);
    expect(inject.spec.matchConditions?.[0]).toEqual({ name: 'enforced', expression: 'true' });

    const audit = euHds();
    audit.spec.enforcement = 'Audit';
    const rendered = renderAdmission(audit);
    const bindings = rendered.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding');
    expect(bindings.map((b) => (b as V1ValidatingAdmissionPolicyBinding).spec?.validationActions)).toEqual([
      ['Audit', 'Warn'],
      ['Audit', 'Warn'],
    ]);
    const [auditPlacement] = rendered as V1ValidatingAdmissionPolicy[];
    expect(auditPlacement?.spec?.validations?.[0]?.message).toMatch(
      /^SovereigntyPolicy eu-hds \(Audit, admitted\): /,
    );
    const mutating = rendered.find((o) => o.kind === 'MutatingAdmissionPolicy') as MutatingAdmissionPolicy;
    expect(mutating.spec.matchConditions?.[0]).toEqual({ name: 'enforced', expression: 'false' });
    // Same objects in both modes: a mode switch is an update, never a deletion.
    expect(rendered.map((o) => o.metadata?.name)).toEqual(objects.map((o) => o.metadata?.name));
  });

  it('leaves injection out on request (API servers without MutatingAdmissionPolicy)', () => {
    expect(renderAdmission(euHds(), { inject: false }).map((o) => o.kind)).toEqual([
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
  });

  it('injects by JSON patch, reinvoked when needed, leaving compliant pods alone', () => {
    expect(inject.spec.reinvocationPolicy).toBe('IfNeeded');
    expect(inject.spec.mutations?.[0]?.patchType).toBe('JSONPatch');
    expect(inject.spec.variables?.map((v) => v.name)).toContain('compliant');
    expect(inject.spec.mutations?.[0]?.jsonPatch?.expression).toMatch(/^variables\.compliant \? \[\] : /);
    expect(injectBinding.spec.policyName).toBe(names.injection);
  });

  it('declares value lists once, as variables, escaped into CEL string literals', () => {
    const p = euHds();
    p.spec.regions = ['fr-par', 'we"ird\\'];
    const spec = (renderAdmission(p)[0] as V1ValidatingAdmissionPolicy).spec;
    expect(spec?.variables?.find((v) => v.name === 'values0')?.expression).toBe('["fr-par", "we\\"ird\\\\"]');
    expect(spec?.validations?.[0]?.expression).toContain('in variables.values0');
    expect(spec?.validations?.[0]?.expression).not.toContain('fr-par');
  });

  it('keeps messages short for large policies', () => {
    const p = euHds('large');
    p.spec.regions = Array.from({ length: 64 }, (_, i) => `region-${i}`);
    p.spec.nodeSelectorRequirements = Array.from({ length: 32 }, (_, i) => ({
      key: `example.com/k${i}`,
      operator: 'In' as const,
      values: Array.from({ length: 64 }, (_, j) => `value-${j}`),
    }));
    const [placement] = renderAdmission(p) as V1ValidatingAdmissionPolicy[];
    const message = placement?.spec?.validations?.[0]?.message ?? '';
    expect(message).toContain('topology.kubernetes.io/region In [region-0, region-1, region-2');
    expect(message).toContain('… 56 more]');
    expect(message).toContain('kubectl get sovereigntypolicy large -o yaml');
    expect(message.length).toBeLessThan(600);
  });

  it('refuses a policy without a name', () => {
    const p = euHds();
    delete p.metadata.name;
    expect(() => renderAdmission(p)).toThrow(/metadata.name/);
  });
});

describe('renderFailClosed', () => {
  it('refuses every pod creation in the policy’s namespaces, whatever the policy says', () => {
    const [vap, binding] = renderFailClosed(euHds()) as [
      V1ValidatingAdmissionPolicy,
      V1ValidatingAdmissionPolicyBinding,
    ];
    const name = admissionObjectNames('eu-hds').failClosed;
    expect(name).toBe('hdh-unavailable-eu-hds');
    expect(vap.metadata?.name).toBe(name);
    expect(vap.metadata?.labels).toEqual({ [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_POLICY]: 'eu-hds' });
    expect(vap.spec?.failurePolicy).toBe('Fail');
    expect(vap.spec?.validations?.map((v) => v.expression)).toEqual(['false']);
    expect(vap.spec?.validations?.[0]?.message).toContain('kubectl describe sovereigntypolicy eu-hds');
    expect(binding.spec).toEqual({
      policyName: name,
      validationActions: ['Deny'],
      matchResources: {
        namespaceSelector: {
          matchExpressions: [{ key: policyNamespaceLabelKey('eu-hds'), operator: 'Exists' }],
        },
      },
    });
    const audit = euHds();
    audit.spec.enforcement = 'Audit';
    expect(
      (renderFailClosed(audit)[1] as V1ValidatingAdmissionPolicyBinding).spec?.validationActions,
    ).toEqual(['Audit', 'Warn']);
  });
});

describe('celInt64', () => {
  // The CEL is checked against the API server in the integration tests; here, that it is built
  // from the value expression given.
  it('guards int() with the 64-bit bounds', () => {
    const cel = celInt64('v');
    expect(cel).toContain("v.matches('^-?[0-9]+$')");
    expect(cel).toContain("'9223372036854775807'");
    expect(cel).toContain("v.startsWith('-') && v.find('[1-9][0-9]*$') == '9223372036854775808'");
  });
});
