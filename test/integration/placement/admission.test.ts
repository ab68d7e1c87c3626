// Admission of every pod in a sovereign namespace, against a real API server (with its scheduler
// and simulated nodes): the generated admission policies refuse what could run outside the policy,
// admit what cannot, audit in Audit mode, inject the constraints when injection is on, and agree
// with the operator's own compliance rules on random pods.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubeConfig,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { join } from 'node:path';
import { FIELD_MANAGER, SOVEREIGNTY_POLICY, type SovereigntyPolicy } from '../../../src/api/index.js';
import { installCrds } from '../../../src/api/install-crds.js';
import { isNodeEligible } from '../../../src/policy/eligibility.js';
import {
  hubNamespaceLabels,
  renderAdmission,
  renderFailClosed,
  type AdmissionObject,
} from '../../../src/placement/admission.js';
import { policyRequirements } from '../../../src/placement/constraints.js';
import { podSatisfiesPolicy, renderPodPlacement } from '../../../src/placement/render.js';
import { Writer } from '../../../src/runtime/apply.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { testKubeConfig } from '../../support/cluster.js';
import { eventually } from '../../support/wait.js';
import {
  euHds,
  everyOperator,
  HDS,
  JURISDICTION,
  random,
  randomPodSpec,
  REGION,
} from '../../unit/placement/pods.js';

const suffix = Date.now().toString(36);
const EU = { [REGION]: 'fr-par', [JURISDICTION]: 'EU', [HDS]: 'true' };
const KWOK_NODES = [
  'eu-fr-par-1',
  'eu-fr-par-2',
  'eu-de-fra-1',
  'eu-fr-par-uncertified',
  'us-east-1a',
  'us-east-1b',
];
const EU_REQUIRED = [
  { key: REGION, operator: 'In', values: ['fr-par', 'eu-west-3', 'de-fra'] },
  { key: JURISDICTION, operator: 'In', values: ['EU'] },
  { key: HDS, operator: 'In', values: ['true'] },
];

let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let objects: KubernetesObjectApi;
let writer: Writer;
const applied: AdmissionObject[] = [];
const policies: string[] = [];
const namespaces: string[] = [];

interface Setup {
  policy: SovereigntyPolicy;
  ns: string;
}
let enforce: Setup;
let audit: Setup;
let inject: Setup;
let operators: Setup;

/** Creates the policy, reads back what the API server stored (defaults filled in), applies its
 * admission objects by server-side apply and labels a fresh namespace as holding a hub of it. */
async function setUp(template: SovereigntyPolicy, opts: { inject: boolean }): Promise<Setup> {
  const name = `${template.metadata.name}-${suffix}`;
  const { group, version, plural } = SOVEREIGNTY_POLICY;
  await custom.createClusterCustomObject({
    group,
    version,
    plural,
    body: { ...template, metadata: { name } },
  });
  policies.push(name);
  const policy = (await custom.getClusterCustomObject({ group, version, plural, name })) as SovereigntyPolicy;
  for (const object of renderAdmission(policy, opts)) {
    await writer.apply(object);
    applied.push(object);
  }
  const ns = `it-adm-${template.metadata.name}-${suffix}`;
  await core.createNamespace({ body: { metadata: { name: ns, labels: hubNamespaceLabels(name) } } });
  namespaces.push(ns);
  return { policy, ns };
}

const podSpec = (spec: Partial<V1PodSpec> = {}): V1PodSpec => ({
  containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
  ...spec,
});
const withTerms = (...nodeSelectorTerms: object[]): V1PodSpec =>
  podSpec({
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } } },
  });

let podCount = 0;
/** Creates a pod (or only submits it, with dryRun) and returns it with the API server's warnings. */
async function createPod(
  ns: string,
  spec: V1PodSpec,
  dryRun = false,
): Promise<{ pod: V1Pod; warnings: string }> {
  const body: V1Pod = { metadata: { name: `pod-${++podCount}` }, spec };
  const response = await core.createNamespacedPodWithHttpInfo({
    namespace: ns,
    body,
    ...(dryRun ? { dryRun: 'All' } : {}),
  });
  return { pod: response.data, warnings: response.headers['warning'] ?? '' };
}

/** The refusal of a request: HTTP code and the Status message. */
async function refusal(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return { code: error.code, message: String((body as { message?: unknown }).message) };
  }
  throw new Error('request was admitted');
}

async function admitted(ns: string, spec: V1PodSpec): Promise<boolean> {
  try {
    await createPod(ns, spec, true);
    return true;
  } catch (error) {
    if (error instanceof ApiException && error.code === 403) return false;
    throw error;
  }
}

const terms = (pod: V1Pod) =>
  pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;

beforeAll(async () => {
  kc = testKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  objects = kc.makeApiClient(KubernetesObjectApi);
  writer = new Writer(new ApiClients(kc), FIELD_MANAGER);
  await installCrds(kc, join(process.cwd(), 'crds'));

  const auditPolicy = euHds('eu-hds-audit');
  auditPolicy.spec.enforcement = 'Audit';
  enforce = await setUp(euHds('eu-hds'), { inject: false });
  audit = await setUp(auditPolicy, { inject: true });
  inject = await setUp(euHds('eu-hds-inject'), { inject: true });
  operators = await setUp(everyOperator('every-op'), { inject: false });

  // A new policy takes effect once the API server's policy and parameter caches caught up.
  const pinned = podSpec({ nodeName: 'us-east-1a', nodeSelector: EU });
  await eventually('placement policies in effect', async () => !(await admitted(enforce.ns, podSpec())));
  await eventually('node name policy in effect', async () => !(await admitted(enforce.ns, pinned)));
  await eventually('every-operator policy in effect', async () => !(await admitted(operators.ns, podSpec())));
  await eventually('audit policies in effect', async () => {
    const { warnings } = await createPod(audit.ns, pinned, true);
    return warnings.includes('spec.nodeName names node us-east-1a');
  });
  await eventually(
    'injection in effect',
    async () => !!terms((await createPod(inject.ns, podSpec(), true)).pod),
  );
}, 120_000);

afterAll(async () => {
  // Namespaces first: their pods go with them. Then admission objects, bindings before policies.
  await Promise.allSettled(namespaces.map((name) => core.deleteNamespace({ name })));
  for (const object of [...applied].reverse()) {
    await objects.delete(object).catch(() => undefined);
  }
  const { group, version, plural } = SOVEREIGNTY_POLICY;
  await Promise.allSettled(
    policies.map((name) => custom.deleteClusterCustomObject({ group, version, plural, name })),
  );
});

describe('Enforce', () => {
  it('refuses a pod without node constraints, naming the policy and how to comply', async () => {
    const { code, message } = await refusal(createPod(enforce.ns, podSpec()));
    expect(code).toBe(403);
    expect(message).toContain(`pod refused by SovereigntyPolicy ${enforce.policy.metadata.name}`);
    expect(message).toContain(
      'To comply, require topology.kubernetes.io/region In [fr-par, eu-west-3, de-fra]',
    );
  });

  it('refuses a pod whose term is weaker than the policy', async () => {
    const weak = withTerms({
      matchExpressions: [
        { key: REGION, operator: 'In', values: ['fr-par', 'us-east-1'] },
        ...EU_REQUIRED.slice(1),
      ],
    });
    const { message } = await refusal(createPod(enforce.ns, weak));
    expect(message).toContain(`where ${REGION} In [fr-par, eu-west-3, de-fra] does not hold`);
  });

  it('refuses a pod with a compliant term and a non-compliant one', async () => {
    const spec = withTerms(
      { matchExpressions: EU_REQUIRED },
      { matchExpressions: [{ key: JURISDICTION, operator: 'In', values: ['EU'] }] },
    );
    const { code } = await refusal(createPod(enforce.ns, spec));
    expect(code).toBe(403);
  });

  it('admits pods carrying the constraints in every term or in nodeSelector', async () => {
    const everyTerm = withTerms(
      { matchExpressions: [{ key: REGION, operator: 'In', values: ['de-fra'] }, ...EU_REQUIRED.slice(1)] },
      { matchExpressions: [...EU_REQUIRED, { key: 'disk', operator: 'Exists' }] },
      {}, // matches no node
    );
    await expect(createPod(enforce.ns, everyTerm)).resolves.toBeDefined();
    await expect(createPod(enforce.ns, podSpec({ nodeSelector: EU }))).resolves.toBeDefined();
  });

  it('admits a rendered pod, which the scheduler puts on an eligible node', async () => {
    const rendered = renderPodPlacement(
      withTerms({ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }),
      {
        requirements: policyRequirements(enforce.policy.spec),
        tolerations: enforce.policy.spec.tolerations ?? [],
      },
    );
    const { pod } = await createPod(enforce.ns, rendered);
    const node = await eventually('pod scheduled', async () => {
      const current = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace: enforce.ns });
      return current.spec?.nodeName;
    });
    expect(['eu-fr-par-1', 'eu-fr-par-2', 'eu-de-fra-1']).toContain(node);
  });

  it('refuses a pod naming a node outside the policy, even with the constraints', async () => {
    const bare = await refusal(createPod(enforce.ns, podSpec({ nodeName: 'us-east-1a' })));
    expect(bare.code).toBe(403);
    const pinned = await refusal(
      createPod(enforce.ns, podSpec({ nodeName: 'us-east-1a', nodeSelector: EU })),
    );
    expect(pinned.message).toContain(
      `pod refused by SovereigntyPolicy ${enforce.policy.metadata.name}: spec.nodeName names node us-east-1a, ` +
        `which does not satisfy ${REGION} In [fr-par, eu-west-3, de-fra]`,
    );
    const uncertified = await refusal(
      createPod(enforce.ns, podSpec({ nodeName: 'eu-fr-par-uncertified', nodeSelector: EU })),
    );
    expect(uncertified.message).toContain(
      `node eu-fr-par-uncertified, which does not satisfy ${HDS} In [true]`,
    );
  });

  it('admits a pod naming an eligible node and carrying the constraints', async () => {
    await expect(
      createPod(enforce.ns, podSpec({ nodeName: 'eu-fr-par-1', nodeSelector: EU })),
    ).resolves.toBeDefined();
  });

  it('holds pods of other namespaces to nothing', async () => {
    await expect(createPod('default', podSpec(), true)).resolves.toBeDefined();
  });
});

describe('Audit', () => {
  it('admits the same pods, unchanged, with a warning naming the policy', async () => {
    const name = audit.policy.metadata.name;
    const pinned = await createPod(audit.ns, podSpec({ nodeName: 'us-east-1a' }));
    expect(pinned.pod.spec?.nodeName).toBe('us-east-1a');
    expect(pinned.pod.spec?.affinity).toBeUndefined(); // Audit never injects
    expect(pinned.warnings).toContain(
      `SovereigntyPolicy ${name} (Audit, admitted): spec.nodeName names node us-east-1a`,
    );

    const bare = await createPod(audit.ns, podSpec());
    expect(bare.warnings).toContain(
      `SovereigntyPolicy ${name} (Audit, admitted): its placement allows nodes`,
    );
    const compliant = await createPod(audit.ns, podSpec({ nodeSelector: EU }));
    expect(compliant.warnings).toBe('');
  });
});

describe('injection', () => {
  it('gives an unconstrained pod the constraints, and the scheduler an eligible node', async () => {
    const { pod } = await createPod(inject.ns, podSpec());
    expect(terms(pod)).toEqual([{ matchExpressions: EU_REQUIRED }]);
    const node = await eventually('pod scheduled', async () => {
      const current = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace: inject.ns });
      return current.spec?.nodeName;
    });
    expect(['eu-fr-par-1', 'eu-fr-par-2', 'eu-de-fra-1']).toContain(node);
  });

  it('ANDs the constraints into every term exactly as the renderer does', async () => {
    const spec = withTerms(
      { matchExpressions: [{ key: REGION, operator: 'In', values: ['fr-par', 'us-east-1'] }] },
      {},
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['us-east-1a'] }] },
      { matchExpressions: [{ key: REGION, operator: 'In', values: ['de-fra'] }, ...EU_REQUIRED.slice(1)] },
    );
    const { pod } = await createPod(inject.ns, spec, true);
    const c = { requirements: policyRequirements(inject.policy.spec), tolerations: [] };
    expect(terms(pod)).toEqual(terms({ spec: renderPodPlacement(spec, c) }));
    expect(podSatisfiesPolicy(pod.spec!, c)).toEqual({ ok: true });
  });

  it('still refuses a pod naming a node outside the policy', async () => {
    const { message } = await refusal(createPod(inject.ns, podSpec({ nodeName: 'us-east-1b' })));
    expect(message).toContain('spec.nodeName names node us-east-1b');
  });

  it('matches the renderer on random pods, and leaves compliant pods as written', async () => {
    const rnd = random(42);
    const c = { requirements: policyRequirements(inject.policy.spec), tolerations: [] };
    for (let n = 0; n < 40; n++) {
      const spec = randomPodSpec(rnd, KWOK_NODES, n % 2 ? c.requirements : []);
      const { pod } = await createPod(inject.ns, spec, true);
      const expected = podSatisfiesPolicy(spec, c).ok ? spec : renderPodPlacement(spec, c);
      expect([JSON.stringify(spec), terms(pod)]).toEqual([JSON.stringify(spec), terms({ spec: expected })]);
      expect(podSatisfiesPolicy(pod.spec!, c)).toEqual({ ok: true });
    }
  });
});

describe('the admission policy and the compliance rules agree', () => {
  it.each([
    ['eu-hds', () => enforce],
    ['every operator', () => operators],
  ])('on random pods (%s)', async (_, setup) => {
    const { ns, policy } = setup();
    const c = { requirements: policyRequirements(policy.spec) };
    const rnd = random(7);
    const verdicts = { true: 0, false: 0 };
    for (let n = 0; n < 150; n++) {
      const spec = randomPodSpec(rnd, KWOK_NODES, n % 4 ? c.requirements : []);
      const verdict = podSatisfiesPolicy(spec, c).ok;
      verdicts[`${verdict}`]++;
      expect([JSON.stringify(spec), await admitted(ns, spec)]).toEqual([JSON.stringify(spec), verdict]);
    }
    // Both answers must be well represented for the agreement to mean something.
    expect(Math.min(verdicts.true, verdicts.false)).toBeGreaterThanOrEqual(10);
  });

  it('holds for the largest policy the CRD admits, on a large pod, within CEL budgets', async () => {
    const long = (prefix: string, i: number) => `${prefix}-${String(i).padStart(2, '0')}-`.padEnd(63, 'x');
    const requirements = Array.from({ length: 32 }, (_, i) =>
      i % 4 === 3
        ? { key: `example.com/key-${i}`, operator: 'Exists' as const }
        : {
            key: `example.com/key-${i}`,
            operator: (i % 4 === 2 ? 'NotIn' : 'In') as 'In' | 'NotIn',
            values: Array.from({ length: 64 }, (_, j) => long(`v${i}`, j)),
          },
    );
    const big = euHds('largest');
    big.spec.regions = Array.from({ length: 64 }, (_, i) => long('region', i));
    big.spec.nodeSelectorRequirements = requirements;
    const setup = await setUp(big, { inject: false });
    const c = { requirements: policyRequirements(setup.policy.spec) };
    // Every term carries every requirement (narrowed), plus unrelated expressions: the most work.
    const term = {
      matchExpressions: [
        ...c.requirements.map((r) => (r.operator === 'In' ? { ...r, values: r.values!.slice(0, 32) } : r)),
        ...Array.from({ length: 20 }, (_, i) => ({ key: `other/${i}`, operator: 'Exists' })),
      ],
    };
    const spec = withTerms(...Array.from({ length: 20 }, () => term));
    // The last term lacks the region requirement.
    const weaker = withTerms(...Array.from({ length: 19 }, () => term), {
      matchExpressions: term.matchExpressions.slice(1),
    });
    expect(podSatisfiesPolicy(spec, c)).toEqual({ ok: true });
    expect(podSatisfiesPolicy(weaker, c).ok).toBe(false);

    await eventually('largest policy in effect', async () => !(await admitted(setup.ns, podSpec())));
    expect(await admitted(setup.ns, spec)).toBe(true);
    const { message } = await refusal(createPod(setup.ns, weaker, true));
    expect(message).toContain(`where ${REGION} In [`); // refused on the requirement, not on a budget

    // With injection, the weaker pod is repaired instead.
    for (const object of renderAdmission(setup.policy).filter((o) => o.kind?.startsWith('Mutating'))) {
      await writer.apply(object);
      applied.push(object);
    }
    await eventually(
      'largest injection in effect',
      async () => !!terms((await createPod(setup.ns, podSpec(), true)).pod),
    );
    const { pod } = await createPod(setup.ns, weaker, true);
    expect(podSatisfiesPolicy(pod.spec!, c)).toEqual({ ok: true });
  });

  it('the node name policy agrees with node eligibility on every node', async () => {
    const nodes = await core.listNode();
    for (const node of nodes.items) {
      const name = node.metadata!.name!;
      if (!KWOK_NODES.includes(name)) continue;
      const eligible = isNodeEligible(node.metadata?.labels ?? {}, enforce.policy.spec);
      expect([name, await admitted(enforce.ns, podSpec({ nodeName: name, nodeSelector: EU }))]).toEqual([
        name,
        eligible,
      ]);
    }
  });
});

describe('what the CRD admits, the API server enforces', () => {
  it('accepts integer requirements at the 64-bit bounds, and refuses pods beyond them', async () => {
    const edge = euHds('int64-edge');
    edge.spec.nodeSelectorRequirements = [
      ...(edge.spec.nodeSelectorRequirements ?? []),
      { key: 'example.com/rank', operator: 'Lt', values: ['9223372036854775807'] },
      { key: 'example.com/tier', operator: 'Gt', values: ['0000000000000000001'] },
    ];
    // Applying the objects is the first check: the API server refuses what it cannot compile.
    const setup = await setUp(edge, { inject: false });
    await eventually('int64 policy in effect', async () => !(await admitted(setup.ns, podSpec())));
    const selector = (tier: string, rank: string) =>
      podSpec({ nodeSelector: { ...EU, 'example.com/tier': tier, 'example.com/rank': rank } });
    expect(await admitted(setup.ns, selector('2', '9223372036854775806'))).toBe(true);
    expect(await admitted(setup.ns, selector('1', '5'))).toBe(false);
    expect(await admitted(setup.ns, selector('2', '9223372036854775807'))).toBe(false);
    // Beyond 64 bits no node satisfies Gt (the scheduler cannot parse it): refused, naming it.
    const { code, message } = await refusal(createPod(setup.ns, selector('99999999999999999999', '5'), true));
    expect(code).toBe(403);
    expect(message).toContain('where example.com/tier Gt [0000000000000000001] does not hold');
  });

  it('the fail-closed pair refuses every pod of the policy’s namespaces, saying why', async () => {
    const { policy, ns } = enforce;
    const pair = renderFailClosed(policy);
    for (const object of pair) {
      await writer.apply(object);
      applied.push(object);
    }
    const compliant = podSpec({ nodeSelector: EU });
    const { message } = await eventually(
      'fail-closed pair in effect',
      async () => (await admitted(ns, compliant)) === false && refusal(createPod(ns, compliant, true)),
    );
    expect(message).toContain(
      `the admission checks of SovereigntyPolicy ${policy.metadata.name} could not be put in force`,
    );
    expect(await admitted(`default`, podSpec({ nodeSelector: EU }))).toBe(true); // other namespaces: nothing
    for (const object of [...pair].reverse()) await objects.delete(object);
    await eventually('fail-closed pair gone', async () => admitted(ns, compliant));
  });
});
