// The Argo CD health scripts run as Argo CD runs an argocd-cm customization (hdh-gotools
// argocd-health: gopher-lua with Argo CD's libraries, `obj` decoding and result reading), on the
// fixtures laid out as Argo CD lays out its bundled checks: health_test.yaml lists each
// testdata/<object>.yaml with the health it must give.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ARGOCD_HEALTH_DIR, argoHealth, argoHealthScript, goTools } from '../../support/gotools.js';

const GROUP = 'hdh.sovereign.eu';
const KINDS = ['HealthDataHub', 'SovereigntyPolicy'] as const;

interface HealthTest {
  healthStatus: { status: string; message: string };
  inputPath: string;
}

const readYaml = (path: string): unknown => parse(readFileSync(path, 'utf8')) as unknown;

describe.each(KINDS)('Argo CD health of %s', (kind) => {
  const dir = join(ARGOCD_HEALTH_DIR, GROUP, kind);
  const tests = (readYaml(join(dir, 'health_test.yaml')) as { tests: HealthTest[] }).tests;

  it.each(tests.map((t) => [t.inputPath, t] as const))('%s', (_path, t) => {
    const object = readYaml(join(dir, t.inputPath)) as object;
    expect(argoHealth(argoHealthScript(kind), object)).toEqual(t.healthStatus);
    // The fixture's name says the health it stands for (healthy.yaml, progressing_*.yaml, ...).
    const named = t.inputPath.replace(/^testdata\//, '').split(/[_.]/)[0]!;
    expect(t.healthStatus.status.toLowerCase()).toBe(named);
  });

  it('lists every fixture of testdata/', () => {
    const files = readdirSync(join(dir, 'testdata')).map((f) => `testdata/${f}`);
    expect(tests.map((t) => t.inputPath).sort()).toEqual(files.sort());
  });
});

it('gives every health the conventions ask for: Healthy, Progressing, Degraded, Suspended', () => {
  const seen = new Set(
    KINDS.flatMap((kind) =>
      (
        readYaml(join(ARGOCD_HEALTH_DIR, GROUP, kind, 'health_test.yaml')) as { tests: HealthTest[] }
      ).tests.map((t) => t.healthStatus.status),
    ),
  );
  expect([...seen].sort()).toEqual(['Degraded', 'Healthy', 'Progressing', 'Suspended']);
});

it('ships in the argocd-cm snippet exactly as in the health.lua files', () => {
  const cm = readYaml(join('config', 'argocd', 'argocd-cm-health.yaml')) as {
    kind: string;
    metadata: { name: string };
    data: Record<string, string>;
  };
  expect(cm.kind).toBe('ConfigMap');
  expect(cm.metadata.name).toBe('argocd-cm');
  const expected = Object.fromEntries(
    KINDS.map((kind) => [
      `resource.customizations.health.${GROUP}_${kind}`,
      readFileSync(argoHealthScript(kind), 'utf8'),
    ]),
  );
  expect(cm.data).toEqual(expected);
});

describe('the Lua runtime is Argo CD’s', () => {
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', generation: 3 } };

  it('opens base, table and the safe os only (no string, io or global os), and `obj` as a table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdh-lua-'));
    const file = join(dir, 'probe.lua');
    writeFileSync(
      file,
      [
        'local t = {type(string), type(io), type(os), type(table.insert), type(require("os").time),',
        '  tostring(obj.metadata.generation), type(obj.metadata.generation)}',
        'return {status = "Healthy", message = table.concat(t, " ")}',
      ].join('\n'),
    );
    const r = goTools(['argocd-health', file], JSON.stringify(object));
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      status: 'Healthy',
      message: 'nil nil nil function function 3 number',
    });
  });

  it('refuses input that is not an object, naming what is wrong', () => {
    const r = goTools(['argocd-health', argoHealthScript('HealthDataHub')], '{"metadata": {}}');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not a Kubernetes object/);
  });
});
