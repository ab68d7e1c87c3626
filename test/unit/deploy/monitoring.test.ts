// The alerts and the dashboard the project ships, checked with Prometheus' own promtool (rules
// parse, and each alert fires and stays quiet when it should) and against the metrics the
// operator really registers: a renamed metric must break this test, not a platform's alerting.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { HubMetrics } from '../../../src/hub/metrics.js';
import { KeyMetrics } from '../../../src/keys/metrics.js';
import { PlacementMetrics } from '../../../src/placement/metrics.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { StorageMetrics } from '../../../src/storage/metrics.js';
import { toolPath } from '../../support/tools.js';

const run = promisify(execFile);
const ALERTS = 'config/prometheus/alerts.yaml';
const ALERT_TESTS = 'test/prometheus/alerts.test.yaml';
const DASHBOARD = 'config/grafana/hdh-operator-dashboard.json';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr: string; refId: string }[];
}

/** Runs promtool; resolves with its output, rejects with it (and the exit code) on failure. */
async function promtool(...args: string[]): Promise<string> {
  try {
    const r = await run(toolPath('promtool'), args, { encoding: 'utf8' });
    return r.stdout + r.stderr;
  } catch (e) {
    const f = e as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} exited ${f.code}:\n${f.stdout}${f.stderr}`);
  }
}

/** Every metric name the operator registers, as it appears in /metrics (histograms' series too). */
async function registeredMetricNames(): Promise<Map<string, string>> {
  const m = new OperatorMetrics({ defaultMetrics: true });
  // The domain's metrics, as registerOperator adds them to the same registry.
  new PlacementMetrics(m.registry);
  new StorageMetrics(m.registry);
  new KeyMetrics(m.registry);
  new HubMetrics(m.registry, () => []);
  const types = new Map<string, string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    types.set(metric.name, String(metric.type));
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) types.set(metric.name + suffix, 'histogram');
    }
  }
  return types;
}

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression selects (not functions, keywords, labels or durations). */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    const name = m[1]!;
    if (!PROMQL_WORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

const alerts = (): AlertRule[] =>
  (parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );

/** The anchors GitHub gives the headings of a Markdown page. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#+\s+(.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    ),
  );
}

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    const out = await promtool('check', 'rules', ALERTS);
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('fire, and stay quiet, as test/prometheus/alerts.test.yaml says (promtool test rules)', async () => {
    const out = await promtool('test', 'rules', ALERT_TESTS);
    expect(out).toContain('SUCCESS');
  });

  it('cover the five required situations, each tested firing and not firing', () => {
    const names = alerts().map((a) => a.alert);
    expect(names).toEqual(
      expect.arrayContaining([
        'HdhPlacementViolation',
        'HdhKeyProviderDown',
        'HdhHubNotReady',
        'HdhReconcileErrors',
        'HdhLeaderAbsent',
      ]),
    );
    const tests = parse(readFileSync(ALERT_TESTS, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const checks = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const name of names) {
      const mine = checks.filter((c) => c.alertname === name);
      expect({ name, fires: mine.some((c) => c.exp_alerts.length > 0) }).toEqual({ name, fires: true });
      expect({ name, quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({ name, quiet: true });
    }
  });

  it('each have a severity, a summary, a description and a runbook section in docs/operations.md', () => {
    const sections = anchors(readFileSync('docs/operations.md', 'utf8'));
    for (const a of alerts()) {
      expect({ alert: a.alert, severity: a.labels?.severity }).toEqual({
        alert: a.alert,
        severity: expect.stringMatching(/^(critical|warning|info)$/),
      });
      expect(a.annotations?.summary).toBeTruthy();
      expect(a.annotations?.description).toBeTruthy();
      const [page, anchor] = (a.annotations?.runbook_url ?? '').split('#');
      expect(page).toBe('docs/operations.md');
      expect({ alert: a.alert, documented: sections.has(anchor ?? '') }).toEqual({
        alert: a.alert,
        documented: true,
      });
    }
  });

  it('select only metrics the operator registers', async () => {
    const registered = await registeredMetricNames();
    for (const a of alerts()) {
      const names = metricNamesIn(a.expr);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names)
        expect({ alert: a.alert, metric: n, registered: registered.has(n) }).toEqual({
          alert: a.alert,
          metric: n,
          registered: true,
        });
    }
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: { name: string; type: string }[] };
  };
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('is a dashboard of a current schema, with unique panel ids and a data source variable', () => {
    expect(dashboard.uid).toBe('hdh-operator');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource' }),
    );
    for (const p of panels) {
      expect({ panel: p.title, datasource: p.datasource?.uid }).toEqual({
        panel: p.title,
        datasource: '${datasource}',
      });
      expect(p.targets?.length).toBeGreaterThan(0);
    }
  });

  it('shows hubs by readiness, violations, evictions, key operations, reconcile latency and queue depth', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    for (const metric of [
      'hdh_hub_ready',
      'hdh_placement_violations',
      'hdh_placement_evictions_total',
      'hdh_key_operations_total',
      'controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_depth',
    ]) {
      expect(all).toContain(metric);
    }
  });

  it('has panel expressions that parse as PromQL (promtool check rules)', async () => {
    // Grafana's interval variables become a plain duration; each expression a recording rule.
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: exprs.map((e, i) => ({
            record: `dashboard:panel_expression_${i}`,
            expr: e.expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m'),
          })),
        },
      ],
    };
    const file = join(mkdtempSync(join(tmpdir(), 'hdh-dashboard-')), 'panels.rules.yaml');
    writeFileSync(file, JSON.stringify(rules));
    const out = await promtool('check', 'rules', file);
    expect(out).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it('names only metrics the operator registers', async () => {
    const registered = await registeredMetricNames();
    for (const { panel, expr } of exprs) {
      for (const n of metricNamesIn(expr)) {
        expect({ panel, metric: n, registered: registered.has(n) }).toEqual({
          panel,
          metric: n,
          registered: true,
        });
      }
    }
  });
});

describe('metricNamesIn', () => {
  it('finds the selected metrics only', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (controller, le) (rate(controller_runtime_reconcile_time_seconds_bucket{controller=~"a|b"}[5m])))',
      ),
    ).toEqual(['controller_runtime_reconcile_time_seconds_bucket']);
    expect(
      metricNamesIn(
        'max by (namespace) (leader_election_master_status{name="x"}) < 1 or absent(up{job="y"}) and on (instance) process_cpu_seconds_total',
      ).sort(),
    ).toEqual(['leader_election_master_status', 'process_cpu_seconds_total', 'up']);
  });
});
