// Throughput of the operator's pure core, on the built code (`npm run bench`): how many pod
// renderings, compliance verdicts and pod audits one core does per second. It measures; it
// asserts nothing. Each case runs for a fixed time, several samples, and prints the median and
// the spread so that two runs (or two commits) can be compared as a ratio.
import { auditPods, nodeFacts } from '../dist/src/placement/audit.js';
import { hubPlacementConstraints } from '../dist/src/placement/constraints.js';
import { podSatisfiesPolicy, renderPodPlacement } from '../dist/src/placement/render.js';
import { renderAdmission } from '../dist/src/placement/admission.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 7);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 300);

const policySpec = {
  regions: ['fr-par', 'eu-west-3', 'de-fra'],
  nodeSelectorRequirements: [
    { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
    { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
  ],
  tolerations: [
    { key: 'sovereign.node-restriction.kubernetes.io/dedicated', value: 'health-data', effect: 'NoSchedule' },
  ],
  enforcement: 'Enforce',
  onViolation: 'Evict',
};
const made = hubPlacementConstraints(
  policySpec,
  { regions: ['fr-par', 'de-fra'] },
  { matchLabels: { app: 'x' } },
);
if (!made.ok) throw new Error(made.message);
const constraints = made.constraints;

// A pod with three existing affinity terms: the renderer must AND into each.
const podSpec = {
  containers: [{ name: 'c', image: 'registry.example.eu/app:1' }],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
          { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] },
          { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['eu-fr-par-1'] }] },
        ],
      },
    },
  },
};
const rendered = renderPodPlacement(podSpec, constraints);

// 2,000 pods over 200 nodes, one in ten nodes outside the policy.
const nodes = new Map();
for (let i = 0; i < 200; i++) {
  const eu = i % 10 !== 0;
  const node = {
    metadata: {
      name: `n${i}`,
      labels: {
        'topology.kubernetes.io/region': eu ? (i % 2 ? 'fr-par' : 'de-fra') : 'us-east-1',
        'sovereign.node-restriction.kubernetes.io/jurisdiction': eu ? 'EU' : 'US',
        'sovereign.node-restriction.kubernetes.io/hds': 'true',
      },
    },
    spec: {},
  };
  nodes.set(node.metadata.name, nodeFacts(node));
}
const pods = Array.from({ length: 2000 }, (_, i) => ({
  metadata: { name: `p${i}`, namespace: 'research', uid: `u${i}`, labels: {} },
  spec: { nodeName: `n${i % 200}`, containers: [] },
  status: { phase: 'Running' },
}));
const held = [{ hub: 'oncology', policyName: 'eu-hds', spec: policySpec }];
const policy = {
  apiVersion: 'hdh.sovereign.eu/v1alpha1',
  kind: 'SovereigntyPolicy',
  metadata: { name: 'eu-hds' },
  spec: policySpec,
};

const cases = [
  ['renderPodPlacement (3 terms)', () => renderPodPlacement(podSpec, constraints)],
  ['podSatisfiesPolicy (rendered pod)', () => podSatisfiesPolicy(rendered, constraints)],
  ['auditPods (2,000 pods, 200 nodes)', () => auditPods(held, pods, nodes)],
  ['renderAdmission (one policy)', () => renderAdmission(policy)],
];

function sample(fn) {
  let n = 0;
  const end = performance.now() + SAMPLE_MS;
  while (performance.now() < end) {
    fn();
    n++;
  }
  return (n * 1000) / SAMPLE_MS;
}

console.log(
  `node ${process.version}, ${SAMPLES} samples of ${SAMPLE_MS} ms per case (ops/s: median [min–max])`,
);
for (const [name, fn] of cases) {
  for (let i = 0; i < 50; i++) fn(); // warm-up for the JIT
  const rates = Array.from({ length: SAMPLES }, () => sample(fn)).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1));
  console.log(
    `${name.padEnd(38)} ${fmt(median).padStart(12)}  [${fmt(rates[0])}–${fmt(rates[rates.length - 1])}]`,
  );
}
