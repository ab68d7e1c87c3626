// Test helpers: a seeded generator of valid pod placements, a universe of nodes, and a reference
// matcher with Kubernetes' node-selection semantics, to check rendering and admission against.
import type { V1NodeSelectorRequirement, V1NodeSelectorTerm, V1PodSpec } from '@kubernetes/client-node';
import type { NodeSelectorRequirement, SovereigntyPolicy } from '../../../src/api/index.js';
import { requirementHolds, type Labels } from '../../../src/policy/eligibility.js';

export const REGION = 'topology.kubernetes.io/region';
export const ZONE = 'topology.kubernetes.io/zone';
export const JURISDICTION = 'sovereign.node-restriction.kubernetes.io/jurisdiction';
export const HDS = 'sovereign.node-restriction.kubernetes.io/hds';
export const TIER = 'example.com/tier';
export const LEGACY = 'example.com/legacy';

/** Values each key takes in generated pods and nodes (undefined: the node lacks the label). */
const VALUES: Record<string, (string | undefined)[]> = {
  [REGION]: ['fr-par', 'de-fra', 'eu-west-3', 'us-east-1', undefined],
  [JURISDICTION]: ['EU', 'US', undefined],
  [HDS]: ['true', 'false', undefined],
  [TIER]: ['1', '3', '4', '10', 'gold', undefined],
  [LEGACY]: ['yes', undefined],
};

/** The sample policy eu-hds (config/samples). */
export function euHds(name = 'eu-hds'): SovereigntyPolicy {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name },
    spec: {
      regions: ['fr-par', 'eu-west-3', 'de-fra'],
      nodeSelectorRequirements: [
        { key: JURISDICTION, operator: 'In', values: ['EU'] },
        { key: HDS, operator: 'In', values: ['true'] },
      ],
      tolerations: [
        {
          key: 'sovereign.node-restriction.kubernetes.io/dedicated',
          value: 'health-data',
          effect: 'NoSchedule',
        },
      ],
      enforcement: 'Enforce',
      onViolation: 'Evict',
    },
  };
}

/** A policy using every operator, so each one's rules are exercised. */
export function everyOperator(name = 'every-operator'): SovereigntyPolicy {
  const reqs: NodeSelectorRequirement[] = [
    { key: JURISDICTION, operator: 'In', values: ['EU'] },
    { key: HDS, operator: 'Exists' },
    { key: TIER, operator: 'Gt', values: ['3'] },
    { key: LEGACY, operator: 'DoesNotExist' },
    { key: JURISDICTION, operator: 'NotIn', values: ['US'] },
    { key: TIER, operator: 'Lt', values: ['100'] },
  ];
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name },
    spec: { regions: ['fr-par', 'de-fra'], nodeSelectorRequirements: reqs, enforcement: 'Enforce' },
  };
}

export interface TestNode {
  name: string;
  labels: Labels;
}

/** Every combination of the label values above, one node each. */
export function nodeUniverse(): TestNode[] {
  let combos: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(VALUES)) {
    combos = combos.flatMap((c) => values.map((v) => (v === undefined ? c : { ...c, [key]: v })));
  }
  return combos.map((labels, i) => ({ name: `node-${i}`, labels }));
}

/** Kubernetes semantics: nodeSelector AND (any required term); an empty term matches nothing. */
export function podMatchesNode(spec: V1PodSpec, node: TestNode): boolean {
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
    if (node.labels[k] !== v) return false;
  }
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (spec.nodeName && spec.nodeName !== node.name) return false;
  if (!required) return true;
  return required.nodeSelectorTerms.some((t) => termMatches(t, node));
}

function termMatches(t: V1NodeSelectorTerm, node: TestNode): boolean {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  return (
    exprs.every((e) => requirementHolds(node.labels, e as NodeSelectorRequirement)) &&
    fields.every((f) => requirementHolds({ 'metadata.name': node.name }, f as NodeSelectorRequirement))
  );
}

/** Small seeded PRNG (mulberry32), so failures reproduce. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

function some<T>(rnd: () => number, items: readonly T[], max: number): T[] {
  const n = Math.floor(rnd() * (max + 1));
  return Array.from({ length: n }, () => pick(rnd, items));
}

const KEYS = Object.keys(VALUES);
const definedValues = (key: string) => (VALUES[key] ?? []).filter((v): v is string => v !== undefined);

function requirement(rnd: () => number, key = pick(rnd, KEYS)): V1NodeSelectorRequirement {
  const operator = pick(rnd, ['In', 'In', 'In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);
  switch (operator) {
    case 'Exists':
    case 'DoesNotExist':
      return { key, operator };
    case 'Gt':
    case 'Lt':
      return { key, operator, values: [pick(rnd, ['0', '2', '3', '4', '100', '200'])] };
    default: {
      const values = [...new Set(some(rnd, definedValues(key), 3))];
      return { key, operator, values: values.length ? values : [pick(rnd, definedValues(key))] };
    }
  }
}

function term(
  rnd: () => number,
  nodeNames: readonly string[],
  focus: readonly NodeSelectorRequirement[],
): V1NodeSelectorTerm {
  const shape = rnd();
  if (shape < 0.08) return {};
  const t: V1NodeSelectorTerm = {};
  // Near a policy: mostly its requirements, as written or as another requirement on the same key
  // (stricter or weaker), so that a good share of pods comply and many almost do.
  const near = focus.flatMap((r) => {
    const dice = rnd();
    if (dice < 0.75) return [{ ...r, values: r.values && [...r.values] } as V1NodeSelectorRequirement];
    return dice < 0.97 ? [requirement(rnd, r.key)] : [];
  });
  const exprs = [...near, ...some(rnd, [0], focus.length ? 1 : 4).map(() => requirement(rnd))];
  if (exprs.length) t.matchExpressions = exprs;
  if (shape > 0.8 || !exprs.length) {
    t.matchFields = [
      { key: 'metadata.name', operator: pick(rnd, ['In', 'NotIn']), values: [pick(rnd, nodeNames)] },
    ];
  }
  return t;
}

/**
 * A random valid pod placement: nodeSelector, required terms (some empty, some matchFields). With
 * `focus`, terms are built mostly from those requirements (see term()).
 */
export function randomPodSpec(
  rnd: () => number,
  nodeNames: readonly string[],
  focus: readonly NodeSelectorRequirement[] = [],
): V1PodSpec {
  const spec: V1PodSpec = { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] };
  if (rnd() < 0.4) {
    spec.nodeSelector = {};
    for (const key of some(rnd, KEYS, 3)) spec.nodeSelector[key] = pick(rnd, definedValues(key));
  }
  if (rnd() < 0.75) {
    const terms = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => term(rnd, nodeNames, focus));
    spec.affinity = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
    };
  }
  return spec;
}
