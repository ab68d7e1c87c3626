// The Helm chart as helm itself reads it: lint, the values schema, and what it renders (golden
// files under test/golden/chart/, rewritten with UPDATE_GOLDEN=1).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expectGolden, GOLDEN_DIR } from '../../support/golden.js';
import { CHART_DIR, helm, manifests, renderChart, type Manifest } from '../../support/helm.js';

const HA_VALUES = join(GOLDEN_DIR, 'chart', 'ha.values.yaml');
const chartYaml = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as {
  version: string;
  appVersion: string;
};
// The alert rules are another file's subject (config/prometheus): the golden renders leave the
// PrometheusRule out, and a test below checks that it carries exactly those rules.
const withoutAlerts = (rendered: string) =>
  rendered
    .split(/^(?=---\n)/m)
    .filter((doc) => !doc.includes('# Source: hdh-operator/templates/prometheusrule.yaml\n'))
    .join('');

const byKind = (all: Manifest[], kind: string) => all.filter((m) => m.kind === kind);
const one = (all: Manifest[], kind: string): Manifest => {
  const found = byKind(all, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0]!;
};
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: { image: string; args: string[]; env: { name: string; valueFrom?: unknown }[] }[];
    topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string }[];
  };
}
const podTemplate = (all: Manifest[]) =>
  (one(all, 'Deployment') as unknown as { spec: { template: PodTemplate } }).spec.template;
const args = (all: Manifest[]) => podTemplate(all).spec.containers[0]!.args;

/** Dotted paths of values.yaml down to its settings (free-form maps and lists are one setting). */
function valuePaths(values: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, v]) => {
    const path = prefix + key;
    const isSetting =
      typeof v !== 'object' ||
      v === null ||
      Array.isArray(v) ||
      Object.keys(v).length === 0 ||
      key === 'resources';
    return isSetting ? [path] : valuePaths(v as Record<string, unknown>, `${path}.`);
  });
}

/** The value names in the first column of the values table of a Markdown page. */
function documentedValues(page: string): Set<string> {
  const text = readFileSync(page, 'utf8');
  const lines = text.slice(text.indexOf('| value | default | meaning |')).split('\n');
  const rows = lines
    .slice(
      0,
      lines.findIndex((l) => !l.startsWith('|')),
    )
    .filter((l) => l.startsWith('| `'));
  return new Set(rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));
}

describe('Helm chart', () => {
  it('passes helm lint --strict, with the default and the HA values', async () => {
    for (const extra of [[], ['--values', HA_VALUES]]) {
      const r = await helm(['lint', '--strict', CHART_DIR, ...extra]);
      expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({
        code: 0,
        out: expect.stringContaining('0 chart(s) failed'),
      });
    }
  });

  // Each bad value must stop helm with a message naming the value.
  it.each([
    ['replicas=two', "at '/replicas': got string, want integer"],
    ['logLevel=verbose', "at '/logLevel': value must be one of 'error', 'warn', 'info', 'debug'"],
    ['concurrency=-1', "at '/concurrency': minimum: got -1, want 1"],
    ['replica=3', "additional properties 'replica' not allowed"],
    ['replicas=0', "at '/replicas': minimum: got 0, want 1"],
    ['image.tag=latest', "at '/image/tag'"],
    ['logFormat=yaml', "at '/logFormat': value must be one of 'json', 'text'"],
    ['replicas=2,leaderElection.enabled=false', "at '/leaderElection/enabled': value must be true"],
    ['podLabels.app\\.kubernetes\\.io/instance=x', "invalid propertyName 'app.kubernetes.io/instance'"],
    // The chart's standard labels are on the pod template already: a second key would be a duplicate.
    ['podLabels.app\\.kubernetes\\.io/part-of=x', "invalid propertyName 'app.kubernetes.io/part-of'"],
    ['podLabels.helm\\.sh/chart=x', "invalid propertyName 'helm.sh/chart'"],
  ])('rejects --set %s', async (set, message) => {
    const r = await helm(['template', 'hdh-operator', CHART_DIR, '--set', set]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toContain(message);
  });

  it('renders the default values as in test/golden/chart/default.yaml', async () => {
    expectGolden('chart/default.yaml', withoutAlerts(await renderChart()));
  });

  it('renders HA with monitoring and NetworkPolicy on as in test/golden/chart/ha.yaml', async () => {
    expectGolden('chart/ha.yaml', withoutAlerts(await renderChart(['--values', HA_VALUES])));
  });

  it('labels every object with the standard labels and names it from the fullname', async () => {
    for (const [release, prefix] of [
      ['prod', 'prod-hdh-operator'],
      ['hdh-operator-eu', 'hdh-operator-eu'],
    ] as const) {
      const all = manifests(await renderChart(['--values', HA_VALUES], release, 'ops'));
      expect(all.map((m) => m.kind).sort()).toEqual(
        [
          'ClusterRole',
          'ClusterRoleBinding',
          'Deployment',
          'NetworkPolicy',
          'PodDisruptionBudget',
          'PrometheusRule',
          'Role',
          'Role',
          'Role',
          'RoleBinding',
          'RoleBinding',
          'RoleBinding',
          'Service',
          'ServiceAccount',
          'ServiceMonitor',
        ].sort(),
      );
      for (const m of all) {
        expect([m.kind, m.metadata.name]).toEqual([
          m.kind,
          expect.stringMatching(new RegExp(`^${prefix}(-|$)`)),
        ]);
        expect(m.metadata.labels).toMatchObject({
          'helm.sh/chart': `hdh-operator-${chartYaml.version}`,
          'app.kubernetes.io/name': 'hdh-operator',
          'app.kubernetes.io/instance': release,
          'app.kubernetes.io/version': chartYaml.appVersion,
          'app.kubernetes.io/managed-by': 'Helm',
        });
        if (m.kind !== 'ClusterRole' && m.kind !== 'ClusterRoleBinding')
          expect(m.metadata.namespace).toBe('ops');
      }
    }
  });

  it('pins the image to appVersion, passes the pod identity, and sets --image only when asked', async () => {
    const all = manifests(await renderChart());
    const container = podTemplate(all).spec.containers[0]!;
    expect(container.image).toBe(`hdh-operator:${chartYaml.appVersion}`);
    expect(container.args.some((a) => a.startsWith('--image'))).toBe(false);
    expect(container.env.map((e) => [e.name, e.valueFrom])).toEqual([
      ['POD_NAME', { fieldRef: { fieldPath: 'metadata.name' } }],
      ['POD_NAMESPACE', { fieldRef: { fieldPath: 'metadata.namespace' } }],
    ]);
    const tagged = manifests(
      await renderChart(['--set', 'image.tag=0.1.1', '--set', 'unwrapDekImage=eu.example/op:0.1.1']),
    );
    expect(podTemplate(tagged).spec.containers[0]!.image).toBe('hdh-operator:0.1.1');
    expect(args(tagged)).toContain('--image=eu.example/op:0.1.1');
  });

  it('with two replicas or more: leader election, a budget and spread replicas; with one: no budget, no spread', async () => {
    const ha = manifests(await renderChart());
    expect(args(ha)).toContain('--leader-elect=true');
    expect(one(ha, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1 });
    expect(podTemplate(ha).spec.topologySpreadConstraints?.map((c) => c.topologyKey)).toEqual([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);
    const single = manifests(await renderChart(['--set', 'replicas=1']));
    expect(byKind(single, 'PodDisruptionBudget')).toEqual([]);
    expect(podTemplate(single).spec.topologySpreadConstraints).toBeUndefined();
    // A rolling update briefly runs two replicas: election stays on unless turned off.
    expect(args(single)).toContain('--leader-elect=true');
    const alone = manifests(await renderChart(['--set', 'replicas=1,leaderElection.enabled=false']));
    expect(args(alone)).toContain('--leader-elect=false');
    expect(args(alone).some((a) => a.startsWith('--leader-elect-'))).toBe(false);
  });

  it('leaves the optional objects out by default', async () => {
    const kinds = manifests(await renderChart()).map((m) => m.kind);
    for (const kind of ['ServiceMonitor', 'PrometheusRule', 'NetworkPolicy'])
      expect(kinds).not.toContain(kind);
    expect(kinds).toContain('Service');
  });

  it("keeps the hubs' namespace label as the operator reports it (honorLabels)", async () => {
    // Without honorLabels the Prometheus Operator's target label `namespace` (the operator's own)
    // renames hdh_hub_ready's and hdh_placement_violations' to exported_namespace: the alerts,
    // grouped by namespace and hub, would merge same-named hubs and name the wrong namespace.
    const monitor = one(
      manifests(await renderChart(['--set', 'metrics.serviceMonitor.enabled=true'])),
      'ServiceMonitor',
    ) as unknown as { spec: { endpoints: { port: string; honorLabels?: boolean }[] } };
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', honorLabels: true })]);
  });

  it('ships the alert rules of config/prometheus/alerts.yaml in its PrometheusRule', async () => {
    const source = readFileSync('config/prometheus/alerts.yaml', 'utf8');
    const shipped = readFileSync(join(CHART_DIR, 'files', 'alerts.yaml'), 'utf8');
    // The copy is generated (npm run generate); stale, it would ship old rules.
    expect(shipped).toBe(
      `# Generated by \`npm run generate\` from config/prometheus/alerts.yaml; do not edit.\n${source}`,
    );
    const rule = one(
      manifests(await renderChart(['--set', 'metrics.prometheusRule.enabled=true'])),
      'PrometheusRule',
    );
    expect((rule as unknown as { spec: unknown }).spec).toEqual(parse(source));
    expect((parse(source) as { groups: unknown[] }).groups.length).toBeGreaterThan(0);
  });

  it('leaves HdhLeaderAbsent out when leader election is off (nothing would ever report a leader)', async () => {
    const alerts = async (set: string) => {
      const rule = one(
        manifests(await renderChart(['--set', `metrics.prometheusRule.enabled=true,${set}`])),
        'PrometheusRule',
      ) as unknown as { spec: { groups: { rules: { alert?: string }[] }[] } };
      return rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert));
    };
    const all = await alerts('replicas=1');
    expect(all).toContain('HdhLeaderAbsent');
    expect(await alerts('replicas=1,leaderElection.enabled=false')).toEqual(
      all.filter((a) => a !== 'HdhLeaderAbsent'),
    );
  });

  it.each(['charts/hdh-operator/README.md', 'docs/operations.md'])(
    'documents every value in the table of %s',
    (page) => {
      const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
      const documented = documentedValues(page);
      expect(valuePaths(values).filter((path) => !documented.has(path))).toEqual([]);
      expect([...documented].filter((path) => !valuePaths(values).includes(path))).toEqual([]);
    },
  );
});
