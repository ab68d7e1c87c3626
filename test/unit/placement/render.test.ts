import type { V1PodSpec } from '@kubernetes/client-node';
import { Reason } from '../../../src/api/index.js';
import { isNodeEligible } from '../../../src/policy/eligibility.js';
import {
  hubPlacementConstraints,
  policyRequirements,
  type PlacementConstraints,
} from '../../../src/placement/constraints.js';
import { podSatisfiesPolicy, renderPodPlacement } from '../../../src/placement/render.js';
import {
  euHds,
  everyOperator,
  HDS,
  JURISDICTION,
  nodeUniverse,
  podMatchesNode,
  random,
  randomPodSpec,
  REGION,
  ZONE,
} from './pods.js';

const policy = euHds().spec;
const DEDICATED = {
  key: 'sovereign.node-restriction.kubernetes.io/dedicated',
  value: 'health-data',
  effect: 'NoSchedule',
};

function constraints(overrides: Partial<PlacementConstraints> = {}): PlacementConstraints {
  const result = hubPlacementConstraints(policy, undefined, { matchLabels: { app: 'db' } });
  if (!result.ok) throw new Error(result.message);
  return { ...result.constraints, ...overrides };
}

const pod = (spec: Partial<V1PodSpec> = {}): V1PodSpec => ({
  containers: [{ name: 'app', image: 'app' }],
  ...spec,
});
const terms = (spec: V1PodSpec) =>
  spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
const withTerms = (...nodeSelectorTerms: object[]): V1PodSpec =>
  pod({
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } } },
  });

const REQUIRED = [
  { key: REGION, operator: 'In', values: ['fr-par', 'eu-west-3', 'de-fra'] },
  { key: JURISDICTION, operator: 'In', values: ['EU'] },
  { key: HDS, operator: 'In', values: ['true'] },
];

describe('hubPlacementConstraints', () => {
  it('puts the region requirement first, then the policy requirements, then tolerations', () => {
    const c = constraints();
    expect(c.requirements).toEqual(REQUIRED);
    expect(c.tolerations).toEqual([DEDICATED]);
    expect(c.zoneSpread).toEqual({ labelSelector: { matchLabels: { app: 'db' } } });
  });

  it('narrows regions to the hub and adds hub tolerations after the policy ones', () => {
    const extra = { key: 'gpu', operator: 'Exists' as const, effect: 'NoSchedule' as const };
    const result = hubPlacementConstraints(policy, {
      regions: ['fr-par'],
      tolerations: [extra],
      spreadAcrossZones: false,
    });
    expect(result).toEqual({
      ok: true,
      constraints: {
        requirements: [{ key: REGION, operator: 'In', values: ['fr-par'] }, ...REQUIRED.slice(1)],
        tolerations: [DEDICATED, extra],
      },
    });
  });

  it('refuses a hub region outside the policy instead of rendering a narrower set', () => {
    const result = hubPlacementConstraints(policy, { regions: ['fr-par', 'us-east-1'] });
    expect(result).toMatchObject({ ok: false, reason: Reason.RegionNotAllowed });
    expect(!result.ok && result.message).toContain('us-east-1');
  });

  it('spreads only with a selector to find sibling pods', () => {
    const result = hubPlacementConstraints(policy, {});
    expect(result.ok && result.constraints.zoneSpread).toBeUndefined();
  });
});

describe('renderPodPlacement', () => {
  it('creates one required term holding the constraints when the pod has none', () => {
    const out = renderPodPlacement(pod({ nodeSelector: { disk: 'ssd' } }), constraints());
    expect(terms(out)).toEqual([{ matchExpressions: REQUIRED }]);
    expect(out.nodeSelector).toEqual({ disk: 'ssd' });
  });

  it('ANDs the constraints into every term of a pod with several terms', () => {
    const spec = withTerms(
      { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
      { matchExpressions: [{ key: REGION, operator: 'In', values: ['fr-par', 'us-east-1'] }] },
      { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] },
    );
    const out = terms(renderPodPlacement(spec, constraints()));
    expect(out).toEqual([
      { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, ...REQUIRED] },
      // The weaker region requirement stays; the policy's is ANDed with it (fr-par remains).
      { matchExpressions: [{ key: REGION, operator: 'In', values: ['fr-par', 'us-east-1'] }, ...REQUIRED] },
      { matchExpressions: [{ key: 'gpu', operator: 'Exists' }, ...REQUIRED] },
    ]);
  });

  it('keeps requirements a term already implies, adding only the missing ones', () => {
    const spec = withTerms({
      matchExpressions: [
        { key: REGION, operator: 'In', values: ['de-fra'] },
        { key: HDS, operator: 'In', values: ['true'] },
      ],
    });
    expect(terms(renderPodPlacement(spec, constraints()))).toEqual([
      {
        matchExpressions: [
          { key: REGION, operator: 'In', values: ['de-fra'] },
          { key: HDS, operator: 'In', values: ['true'] },
          { key: JURISDICTION, operator: 'In', values: ['EU'] },
        ],
      },
    ]);
  });

  it('gives a matchFields-only term (a pinned node) the constraints as expressions', () => {
    const pinned = { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['us-east-1a'] }] };
    expect(terms(renderPodPlacement(withTerms(pinned), constraints()))).toEqual([
      { ...pinned, matchExpressions: REQUIRED },
    ]);
  });

  it('leaves an empty term empty: it matches no node, and filling it would widen placement', () => {
    const spec = withTerms(
      {},
      { matchExpressions: [] },
      { matchExpressions: [{ key: 'disk', operator: 'Exists' }] },
    );
    const out = terms(renderPodPlacement(spec, constraints()));
    expect(out.slice(0, 2)).toEqual([{}, { matchExpressions: [] }]);
    expect(out[2]?.matchExpressions).toEqual([{ key: 'disk', operator: 'Exists' }, ...REQUIRED]);
  });

  it('keeps a contradicting term, which becomes unsatisfiable rather than widened', () => {
    const spec = withTerms({ matchExpressions: [{ key: REGION, operator: 'In', values: ['us-east-1'] }] });
    const out = renderPodPlacement(spec, constraints());
    expect(terms(out)[0]?.matchExpressions?.[0]).toEqual({
      key: REGION,
      operator: 'In',
      values: ['us-east-1'],
    });
    expect(nodeUniverse().filter((n) => podMatchesNode(out, n))).toEqual([]);
  });

  it('keeps the rest of the affinity and the pod spec', () => {
    const spec = pod({
      nodeSelector: { [REGION]: 'fr-par' },
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname' }],
        },
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } },
          ],
        },
      },
      serviceAccountName: 'db',
    });
    const out = renderPodPlacement(spec, constraints());
    expect(out.affinity?.podAntiAffinity).toEqual(spec.affinity?.podAntiAffinity);
    expect(out.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toEqual(
      spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
    );
    expect(out.nodeSelector).toEqual({ [REGION]: 'fr-par' });
    expect(out.serviceAccountName).toBe('db');
  });

  it('does not modify its input', () => {
    const spec = withTerms({ matchExpressions: [{ key: 'disk', operator: 'Exists' }] });
    const before = structuredClone(spec);
    renderPodPlacement(spec, constraints());
    expect(spec).toEqual(before);
  });

  it('adds tolerations once, recognising defaulted equivalents', () => {
    const spec = pod({
      tolerations: [
        { key: 'other', operator: 'Exists' },
        { ...DEDICATED, operator: 'Equal' }, // as stored by the API server
      ],
    });
    expect(renderPodPlacement(spec, constraints()).tolerations).toEqual(spec.tolerations);
    const added = renderPodPlacement(pod(), constraints()).tolerations;
    expect(added).toEqual([DEDICATED]);
  });

  it('spreads over zones as a preference (ScheduleAnyway), once', () => {
    const out = renderPodPlacement(pod(), constraints());
    expect(out.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: ZONE,
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { app: 'db' } },
        nodeAffinityPolicy: 'Honor',
        nodeTaintsPolicy: 'Honor',
      },
    ]);
    const own = { maxSkew: 2, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule' };
    expect(
      renderPodPlacement(pod({ topologySpreadConstraints: [own] }), constraints()).topologySpreadConstraints,
    ).toEqual([own]);
    expect(
      renderPodPlacement(pod(), constraints({ zoneSpread: undefined })).topologySpreadConstraints,
    ).toBeUndefined();
  });
});

describe('renderPodPlacement over random pods', () => {
  const universe = nodeUniverse();
  const names = universe.map((n) => n.name);
  const policies = [euHds().spec, everyOperator().spec];

  it.each(policies.map((p, i) => [i, p] as const))(
    'policy %i: never widens, lands only on eligible nodes, complies, and is idempotent',
    (i, p) => {
      const rnd = random(1000 + i);
      const c: PlacementConstraints = { requirements: policyRequirements(p), tolerations: [] };
      for (let n = 0; n < 300; n++) {
        const spec = randomPodSpec(rnd, names, n % 2 ? c.requirements : []);
        const once = renderPodPlacement(spec, c);
        const context = JSON.stringify(spec);
        for (const node of universe) {
          if (!podMatchesNode(once, node)) continue;
          // Never widened: the rendered pod only fits nodes the original fitted.
          expect([context, podMatchesNode(spec, node)]).toEqual([context, true]);
          // Inside the policy.
          expect([context, isNodeEligible(node.labels, p)]).toEqual([context, true]);
        }
        expect([context, podSatisfiesPolicy(once, c)]).toEqual([context, { ok: true }]);
        expect(renderPodPlacement(once, c)).toEqual(once);
      }
    },
  );

  it.each(policies.map((p, i) => [i, p] as const))(
    'policy %i: a pod judged compliant fits only eligible nodes (the admission rules are sound)',
    (i, p) => {
      const rnd = random(2000 + i);
      const c = { requirements: policyRequirements(p) };
      let compliant = 0;
      for (let n = 0; n < 3000; n++) {
        const spec = randomPodSpec(rnd, names, n % 2 ? c.requirements : []);
        if (!podSatisfiesPolicy(spec, c).ok) continue;
        const fits = universe.filter((node) => podMatchesNode(spec, node));
        if (fits.length) compliant++;
        const outside = fits.filter((node) => !isNodeEligible(node.labels, p));
        expect([JSON.stringify(spec), outside]).toEqual([JSON.stringify(spec), []]);
      }
      // Enough compliant pods that fit some node for the check to mean something.
      expect(compliant).toBeGreaterThan(50);
    },
  );

  it('renders once, renders for good, also with tolerations and spread', () => {
    const rnd = random(7);
    const c = constraints();
    for (let n = 0; n < 100; n++) {
      const once = renderPodPlacement(randomPodSpec(rnd, names), c);
      expect(renderPodPlacement(once, c)).toEqual(once);
    }
  });
});

describe('podSatisfiesPolicy', () => {
  const c = constraints();
  const eu = { [REGION]: 'fr-par', [JURISDICTION]: 'EU', [HDS]: 'true' };
  const nodes = {
    'eu-fr-par-1': eu,
    'eu-fr-par-uncertified': { [REGION]: 'fr-par', [JURISDICTION]: 'EU' },
    'us-east-1a': { [REGION]: 'us-east-1', [JURISDICTION]: 'US' },
  };

  it('refuses a pod without constraints, naming what is missing', () => {
    const verdict = podSatisfiesPolicy(pod(), c);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain(`${REGION} In [fr-par, eu-west-3, de-fra]`);
  });

  it('accepts constraints given as exact values in nodeSelector', () => {
    expect(podSatisfiesPolicy(pod({ nodeSelector: eu }), c)).toEqual({ ok: true });
  });

  it('accepts stricter terms and refuses weaker ones', () => {
    const strict = {
      matchExpressions: [{ key: REGION, operator: 'In', values: ['fr-par'] }, ...REQUIRED.slice(1)],
    };
    const weak = {
      matchExpressions: [
        { key: REGION, operator: 'In', values: ['fr-par', 'us-east-1'] },
        ...REQUIRED.slice(1),
      ],
    };
    expect(podSatisfiesPolicy(withTerms(strict), c)).toEqual({ ok: true });
    expect(podSatisfiesPolicy(withTerms(weak), c).ok).toBe(false);
    expect(podSatisfiesPolicy(withTerms(strict, weak), c).ok).toBe(false);
  });

  it('accepts a requirement carried by nodeSelector and the others by every term', () => {
    const spec = withTerms(
      { matchExpressions: REQUIRED.slice(1) },
      { matchExpressions: [...REQUIRED.slice(1), { key: 'disk', operator: 'Exists' }] },
    );
    expect(podSatisfiesPolicy(spec, c).ok).toBe(false);
    expect(podSatisfiesPolicy({ ...spec, nodeSelector: { [REGION]: 'de-fra' } }, c)).toEqual({ ok: true });
  });

  it('ignores empty terms but not a required affinity that has only empty terms and no nodeSelector', () => {
    expect(podSatisfiesPolicy(withTerms({}, { matchExpressions: REQUIRED }), c)).toEqual({ ok: true });
    // Only empty terms: the pod fits no node at all, so it cannot run outside the policy.
    expect(podSatisfiesPolicy(withTerms({}), c)).toEqual({ ok: true });
    expect(podSatisfiesPolicy(withTerms(), c).ok).toBe(false);
  });

  it('checks the named node when node labels are known', () => {
    const compliant = pod({ nodeSelector: eu });
    expect(podSatisfiesPolicy({ ...compliant, nodeName: 'eu-fr-par-1' }, c, nodes)).toEqual({ ok: true });
    expect(podSatisfiesPolicy({ ...compliant, nodeName: 'us-east-1a' }, c, nodes)).toEqual({
      ok: false,
      reason: `node us-east-1a does not satisfy ${REGION} In [fr-par, eu-west-3, de-fra]`,
    });
    expect(
      podSatisfiesPolicy(
        { ...compliant, nodeName: 'eu-fr-par-uncertified' },
        c,
        new Map(Object.entries(nodes)),
      ),
    ).toEqual({
      ok: false,
      reason: `node eu-fr-par-uncertified does not satisfy ${HDS} In [true]`,
    });
    expect(podSatisfiesPolicy({ ...compliant, nodeName: 'gone' }, c, nodes)).toEqual({
      ok: false,
      reason: 'node gone is unknown',
    });
    // Without node labels, a pinned pod is judged by its constraints (the kubelet enforces them).
    expect(podSatisfiesPolicy({ ...compliant, nodeName: 'us-east-1a' }, c)).toEqual({ ok: true });
    expect(podSatisfiesPolicy(pod({ nodeName: 'eu-fr-par-1' }), c, nodes).ok).toBe(false);
  });

  describe('operators', () => {
    const holds = (expr: object, requirement: object) =>
      podSatisfiesPolicy(withTerms({ matchExpressions: [expr] }), {
        requirements: [requirement as PlacementConstraints['requirements'][number]],
      }).ok;

    it.each([
      // [pod expression, policy requirement, implied]
      [{ key: 'k', operator: 'In', values: ['a'] }, { key: 'k', operator: 'In', values: ['a', 'b'] }, true],
      [
        { key: 'k', operator: 'In', values: ['a', 'c'] },
        { key: 'k', operator: 'In', values: ['a', 'b'] },
        false,
      ],
      [{ key: 'k', operator: 'In', values: ['a'] }, { key: 'k', operator: 'NotIn', values: ['b'] }, true],
      [
        { key: 'k', operator: 'NotIn', values: ['b', 'c'] },
        { key: 'k', operator: 'NotIn', values: ['b'] },
        true,
      ],
      [{ key: 'k', operator: 'NotIn', values: ['c'] }, { key: 'k', operator: 'NotIn', values: ['b'] }, false],
      [{ key: 'k', operator: 'DoesNotExist' }, { key: 'k', operator: 'NotIn', values: ['b'] }, true],
      [{ key: 'k', operator: 'DoesNotExist' }, { key: 'k', operator: 'DoesNotExist' }, true],
      [{ key: 'k', operator: 'NotIn', values: ['b'] }, { key: 'k', operator: 'DoesNotExist' }, false],
      [{ key: 'k', operator: 'In', values: ['a'] }, { key: 'k', operator: 'Exists' }, true],
      [{ key: 'k', operator: 'Gt', values: ['5'] }, { key: 'k', operator: 'Exists' }, true],
      [{ key: 'k', operator: 'NotIn', values: ['a'] }, { key: 'k', operator: 'Exists' }, false],
      [{ key: 'k', operator: 'Gt', values: ['5'] }, { key: 'k', operator: 'Gt', values: ['3'] }, true],
      [{ key: 'k', operator: 'Gt', values: ['2'] }, { key: 'k', operator: 'Gt', values: ['3'] }, false],
      [{ key: 'k', operator: 'In', values: ['4', '9'] }, { key: 'k', operator: 'Gt', values: ['3'] }, true],
      [{ key: 'k', operator: 'In', values: ['4', 'x'] }, { key: 'k', operator: 'Gt', values: ['3'] }, false],
      [{ key: 'k', operator: 'Lt', values: ['3'] }, { key: 'k', operator: 'Lt', values: ['3'] }, true],
      [{ key: 'k', operator: 'Lt', values: ['3'] }, { key: 'k', operator: 'Gt', values: ['0'] }, false],
      [{ key: 'other', operator: 'In', values: ['a'] }, { key: 'k', operator: 'Exists' }, false],
    ])('%j implies %j: %s', (expr, requirement, implied) => {
      expect(holds(expr, requirement)).toBe(implied);
    });
  });
});
