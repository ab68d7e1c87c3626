// The policy report of a namespace (pure): one result per placed pod and per hub claim, with the
// operator's own verdicts; the two report kinds; the cap; and how a live object compares.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { ANNOTATION_ENCRYPTED, LABEL_RETAINED_FROM, type SovereigntyPolicy } from '../../../src/api/index.js';
import { compareLive } from '../../../src/controllers/policyreport/compare.js';
import {
  capResults,
  MAX_REPORT_BYTES,
  OPEN_REPORT,
  POLICY_REPORT,
  renderReport,
  renderResults,
  summarize,
  type PolicyReportObject,
  type ReportInput,
  type ReportResult,
} from '../../../src/controllers/policyreport/render.js';
import { nodeFacts } from '../../../src/placement/audit.js';
import { hub, JURISDICTION, node, pod, policy, REGION, usNode } from './fixtures.js';

const ZONE = 'topology.kubernetes.io/zone';
const NS = 'research';

const NODES = [
  node('eu-1', { [REGION]: 'fr-par', [ZONE]: 'fr-par-1', [JURISDICTION]: 'EU' }),
  node('eu-2', { [REGION]: 'de-fra', [ZONE]: 'de-fra-1', [JURISDICTION]: 'EU' }),
  usNode('us-1'),
];

function storageClass(name: string, encrypted: boolean): V1StorageClass {
  return {
    metadata: { name, ...(encrypted ? { annotations: { [ANNOTATION_ENCRYPTED]: 'true' } } : {}) },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

function volume(name: string, region: string, zone: string): V1PersistentVolume {
  return { metadata: { name, labels: { [REGION]: region, [ZONE]: zone } }, spec: {} };
}

function claim(name: string, volumeName?: string, storageClassName = 'enc'): V1PersistentVolumeClaim {
  return {
    metadata: { name, namespace: NS, uid: `uid-${name}` },
    spec: { storageClassName, ...(volumeName ? { volumeName } : {}) },
    status: { phase: volumeName ? 'Bound' : 'Pending' },
  };
}

function input(over: Partial<ReportInput> & { policies?: SovereigntyPolicy[] } = {}): ReportInput {
  const policies = over.policies ?? [policy('eu-hds')];
  const classes = [storageClass('enc', true), storageClass('plain', false)];
  const volumes = [volume('pv-fr', 'fr-par', 'fr-par-1'), volume('pv-us', 'us-east-1', 'us-east-1a')];
  return {
    namespace: NS,
    hubs: [hub('h', NS)],
    policy: (name) => policies.find((p) => p.metadata.name === name),
    pods: [
      pod('web-0', NS, 'eu-1'),
      pod('h-0', NS, 'eu-2', { hub: 'h' }),
      pod('stray', NS, 'us-1'),
      pod('pending', NS, undefined, { phase: 'Pending' }),
    ],
    nodes: new Map(NODES.map((n) => [n.metadata!.name!, nodeFacts(n)])),
    claims: [
      claim('data-h-0', 'pv-fr'),
      claim('data-h-1', 'pv-us'),
      claim('data-h-2'),
      claim('scratch', 'pv-fr'),
    ],
    volumes: new Map(volumes.map((v) => [v.metadata!.name!, v])),
    storageClass: (name) => classes.find((c) => c.metadata!.name === name),
    ...over,
  };
}

const find = (results: ReportResult[], rule: string, name: string) =>
  results.filter((r) => r.rule === rule && r.resources[0]!.name === name);

describe('renderResults: pods', () => {
  it('gives every placed pod a placement result with its node, region and zone; failures say why', () => {
    const results = renderResults(input());
    const placement = results.filter((r) => r.rule === 'placement');
    expect(placement.map((r) => [r.resources[0]!.name, r.result])).toEqual([
      ['h-0', 'pass'],
      ['stray', 'fail'],
      ['web-0', 'pass'],
    ]);
    const [pass] = find(results, 'placement', 'web-0');
    expect(pass).toEqual({
      policy: 'eu-hds',
      rule: 'placement',
      result: 'pass',
      message: 'node eu-1 (region fr-par, zone fr-par-1) satisfies SovereigntyPolicy eu-hds',
      category: 'Data sovereignty',
      severity: 'high',
      source: 'hdh-operator',
      resources: [{ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'web-0', uid: `uid-${NS}-web-0` }],
      properties: {
        node: 'eu-1',
        region: 'fr-par',
        zone: 'fr-par-1',
        enforcement: 'Enforce',
        onViolation: 'Evict',
      },
    });
    const [fail] = find(results, 'placement', 'stray');
    expect(fail!.message).toMatch(/^node us-1 \(region us-east-1\): .*us-east-1/);
    expect(find(results, 'placement', 'h-0')[0]!.properties).toMatchObject({ hub: 'h', node: 'eu-2' });
    // A pod not placed yet has no node to judge.
    expect(find(results, 'placement', 'pending')).toEqual([]);
  });

  it("holds a hub's own pods to the hub's regions, as the audit does", () => {
    const narrowed = input({ hubs: [hub('h', NS, { placement: { regions: ['fr-par'] } })] });
    const results = renderResults(narrowed);
    expect(find(results, 'placement', 'h-0')[0]!.result).toBe('fail');
    // Another pod of the namespace on the same node answers to the policy alone.
    const other = renderResults({ ...narrowed, pods: [pod('web-1', NS, 'eu-2')] });
    expect(find(other, 'placement', 'web-1')[0]!.result).toBe('pass');
  });

  it('judges each pod once per policy the namespace is held to', () => {
    const results = renderResults(
      input({
        hubs: [hub('h', NS), hub('g', NS, { policyName: 'de-only' })],
        policies: [policy('eu-hds'), policy('de-only', { regions: ['de-fra'] })],
      }),
    );
    const web = find(results, 'placement', 'web-0').map((r) => [r.policy, r.result]);
    expect(web).toEqual([
      ['de-only', 'fail'],
      ['eu-hds', 'pass'],
    ]);
  });

  it('says a hub has no verdict when its policy does not exist (error), rather than nothing', () => {
    const results = renderResults(input({ policies: [] }));
    expect(results).toEqual([
      expect.objectContaining({
        policy: 'eu-hds',
        rule: 'placement',
        result: 'error',
        resources: [expect.objectContaining({ kind: 'HealthDataHub', name: 'h' })],
      }),
    ]);
  });
});

describe('renderResults: claims', () => {
  it('locates every bound claim of the hub, pass inside the regions and fail outside', () => {
    const results = renderResults(input());
    const location = results.filter((r) => r.rule === 'storage-location');
    expect(location.map((r) => [r.resources[0]!.name, r.result])).toEqual([
      ['data-h-0', 'pass'],
      ['data-h-1', 'fail'],
    ]);
    expect(location[0]).toMatchObject({
      message: 'volume pv-fr lies in fr-par (zone fr-par-1), inside [fr-par, de-fra]',
      resources: [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data-h-0', uid: 'uid-data-h-0' }],
      properties: { hub: 'h', volume: 'pv-fr', region: 'fr-par', zone: 'fr-par-1', storageClass: 'enc' },
    });
    expect(location[1]!.message).toContain('it lies in us-east-1');
    // Not the hub's: not judged here (the hub's claims are named data-<hub>-<ordinal>).
    expect(results.some((r) => r.resources[0]!.name === 'scratch')).toBe(false);
  });

  it('judges the class of every hub claim, bound or not, by its encryption attestation', () => {
    const results = renderResults(
      input({
        claims: [
          claim('data-h-0', 'pv-fr'),
          claim('data-h-1', undefined, 'plain'),
          claim('data-h-2', undefined, 'gone'),
        ],
      }),
    );
    const enc = results.filter((r) => r.rule === 'storage-class-encrypted');
    expect(enc.map((r) => [r.resources[0]!.name, r.result])).toEqual([
      ['data-h-0', 'pass'],
      ['data-h-1', 'fail'],
      ['data-h-2', 'fail'],
    ]);
    expect(enc[0]!.message).toBe(`StorageClass enc is annotated ${ANNOTATION_ENCRYPTED}: "true"`);
    expect(enc[1]!.message).toContain(`StorageClass plain has no ${ANNOTATION_ENCRYPTED} annotation`);
    expect(enc[2]!.message).toContain('StorageClass gone does not exist');
  });

  it('skips the encryption check when the policy does not require it', () => {
    const results = renderResults(
      input({ policies: [policy('eu-hds', { storage: { requireEncryption: false } })] }),
    );
    const enc = results.filter((r) => r.rule === 'storage-class-encrypted');
    expect(new Set(enc.map((r) => r.result))).toEqual(new Set(['skip']));
  });

  it('leaves out claims retained from another hub of the same name', () => {
    const retained = claim('data-h-0', 'pv-fr');
    retained.metadata!.labels = { [LABEL_RETAINED_FROM]: 'uid-of-an-earlier-hub' };
    const results = renderResults(input({ claims: [retained] }));
    expect(results.filter((r) => r.resources[0]!.kind === 'PersistentVolumeClaim')).toEqual([]);
  });
});

describe('renderReport', () => {
  it.each([
    ['Report', 'openreports.io/v1alpha1', OPEN_REPORT],
    ['PolicyReport', 'wgpolicyk8s.io/v1alpha2', POLICY_REPORT],
  ] as const)('renders the same content as a %s of %s', (kindName, apiVersion, kind) => {
    const report = renderReport(kind, input());
    expect(report.apiVersion).toBe(apiVersion);
    expect(report.kind).toBe(kindName);
    expect(report.metadata).toEqual({
      name: 'hdh-sovereignty',
      namespace: NS,
      labels: { 'app.kubernetes.io/managed-by': 'hdh-operator' },
    });
    // The report-level source only where the schema has one; every result names it.
    expect(report.source).toBe(kind.reportSource ? 'hdh-operator' : undefined);
    expect(new Set(report.results.map((r) => r.source))).toEqual(new Set(['hdh-operator']));
    expect(report.summary).toEqual({ pass: 6, fail: 2, warn: 0, error: 0, skip: 0 });
    // No timestamp: a report that does not change is not rewritten.
    expect(JSON.stringify(report)).not.toMatch(/timestamp/i);
  });

  it('does not depend on the order the caches list objects in', () => {
    const a = input();
    const b = { ...a, pods: [...a.pods].reverse(), claims: [...a.claims].reverse() };
    expect(renderReport(OPEN_REPORT, b)).toEqual(renderReport(OPEN_REPORT, a));
  });

  const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
  const results = (count: number, message: (i: number) => string, failAt: number): ReportResult[] =>
    Array.from({ length: count }, (_v, i) => ({
      policy: 'p',
      rule: 'placement',
      result: i === failAt ? 'fail' : 'pass',
      message: message(i),
      category: 'c',
      severity: 'high',
      source: 's',
      resources: [{ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: `p${i}` }],
    }));

  it('keeps the results that fit the budget in bytes, failures first, in their order', () => {
    // Two bytes a character in UTF-8: a cap counting characters would overshoot twice over.
    const many = results(100, () => 'é'.repeat(500), 97);
    const budget = 20_000;
    const kept = capResults(many, budget);
    expect(bytes(kept)).toBeLessThanOrEqual(budget);
    expect(bytes(capResults(many, budget + 2_000))).toBeGreaterThan(budget);
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(20);
    expect(kept.filter((r) => r.result === 'fail')).toHaveLength(1);
    expect(kept[0]!.resources[0]!.name).toBe('p0'); // order kept
    expect(kept.at(-1)!.resources[0]!.name).toBe('p97');
    expect(summarize(many)).toEqual({ pass: 99, fail: 1, warn: 0, error: 0, skip: 0 });
    // Everything, when everything fits.
    expect(capResults(many, bytes(many))).toEqual(many);
  });

  it("keeps a report of long names under its budget, well below etcd's 1.5 MiB", () => {
    expect(MAX_REPORT_BYTES).toBeLessThanOrEqual(1024 * 1024);
    const long = (prefix: string, i: number) => `${prefix}-${i}-`.padEnd(253, 'x');
    const nodes = Array.from({ length: 40 }, (_v, i) =>
      node(long('eu', i), { [REGION]: 'fr-par', [ZONE]: long('fr-par', i), [JURISDICTION]: 'EU' }),
    );
    nodes.push(usNode('us-1'));
    const pods = Array.from({ length: 1500 }, (_v, i) => pod(long('web', i), NS, long('eu', i % 40)));
    pods.push(pod('zz-stray', NS, 'us-1'));
    const report = renderReport(
      OPEN_REPORT,
      input({ pods, nodes: new Map(nodes.map((n) => [n.metadata!.name!, nodeFacts(n)])) }),
    );
    expect(bytes(report)).toBeLessThanOrEqual(MAX_REPORT_BYTES);
    expect(bytes(report)).toBeGreaterThan(MAX_REPORT_BYTES - 4_096);
    expect(report.results.length).toBeLessThan(1500);
    expect(report.results.filter((r) => r.result === 'fail').map((r) => r.resources[0]!.name)).toEqual([
      'zz-stray',
      'data-h-1',
    ]);
    // The summary counts every verdict, listed or not.
    expect(report.summary.pass + report.summary.fail).toBe(1500 + 1 + 2 + 3);
  });
});

describe('compareLive', () => {
  const desired = renderReport(OPEN_REPORT, input());
  /** As the API server returns it: its own metadata added, keys in another order. */
  const served = (): PolicyReportObject => {
    const live = JSON.parse(JSON.stringify(desired)) as PolicyReportObject;
    Object.assign(live.metadata, { uid: 'u1', resourceVersion: '7', generation: 1, managedFields: [] });
    const { results, summary, ...rest } = live;
    return { results, summary, ...rest };
  };

  it('asks for an apply when the object is missing or differs, and nothing when it is current', () => {
    expect(compareLive(undefined, desired)).toBe('apply');
    expect(compareLive(served(), desired)).toBe('current');
    const edited = served();
    edited.results[0]!.result = 'pass';
    edited.results[1]!.result = 'pass';
    expect(compareLive(edited, desired)).toBe('apply');
    const unlabelled = served();
    unlabelled.metadata.labels = {};
    expect(compareLive(unlabelled, desired)).toBe('apply');
  });

  it('tolerates labels others add, but replaces an object holding fields the operator never writes', () => {
    const labelled = served();
    labelled.metadata.labels = { ...labelled.metadata.labels, team: 'x' };
    expect(compareLive(labelled, desired)).toBe('current');
    for (const field of ['scope', 'scopeSelector', 'configuration']) {
      const planted = { ...served(), [field]: { kind: 'Namespace', name: 'x' } };
      expect(compareLive(planted, desired)).toBe('replace');
    }
  });
});
