// The published JSON Schema (docs/compliance-report.schema.json) describes the reports made.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  buildComplianceReport,
  renderJson,
  sealReport,
  type ComplianceReport,
} from '../../../../src/report/compliance/index.js';
import { cluster, hub } from './fixtures.js';

const schema = JSON.parse(readFileSync('docs/compliance-report.schema.json', 'utf8')) as Record<
  string,
  unknown
>;
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(schema);

function errorsOf(report: unknown): string[] {
  return validate(report) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** As an auditor's tool reads it: from the file. */
const asRead = (r: ComplianceReport) => JSON.parse(renderJson(r)) as unknown;

describe('docs/compliance-report.schema.json', () => {
  it('is a draft 2020-12 schema with a description on every property', () => {
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    const undescribed: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const props = (node as { properties?: Record<string, Record<string, unknown>> }).properties ?? {};
      for (const [name, p] of Object.entries(props)) {
        const counted = path.endsWith('byPolicy.items') || path.endsWith('attributes.items');
        if (!counted && !p['description'] && !p['$ref']) undescribed.push(`${path}.${name}`);
      }
      for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`);
    };
    walk(schema, '$');
    expect(undescribed).toEqual([]);
  });

  it('validates the reports made: plain, sealed, signed, scoped, with history', () => {
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const report = buildComplianceReport(cluster());
    for (const r of [
      report,
      sealReport(report),
      sealReport(report, { signingKeyPem: key }),
      buildComplianceReport(cluster(), { namespaces: ['team-a'], since: '2025-03-04T00:00:00Z' }),
      buildComplianceReport({ ...cluster(), hubs: [hub('records', 'team-a', { policyName: 'missing' })] }),
      buildComplianceReport({
        ...cluster(),
        historySource: { namespace: 'hdh-system', operatorFound: false, source: 'no operator found there' },
      }),
    ]) {
      expect(errorsOf(asRead(r))).toEqual([]);
    }
  });

  it.each([
    ['an unknown top-level field', (r: Record<string, unknown>) => (r['extra'] = 1)],
    ['a missing summary', (r: Record<string, unknown>) => delete r['summary']],
    [
      'a verdict outside the list',
      (r: Record<string, unknown>) =>
        ((r as unknown as ComplianceReport).hubs[0]!.pods[0]!.verdict = 'ok' as 'pass'),
    ],
    [
      'a digest that is not SHA-256 hex',
      (r: Record<string, unknown>) => ((r as unknown as ComplianceReport).integrity!.digest = 'abc'),
    ],
    ['a time that is not RFC 3339', (r: Record<string, unknown>) => (r['generatedAt'] = '10 March 2025')],
  ])('refuses %s', (_what, edit) => {
    const r = asRead(sealReport(buildComplianceReport(cluster()))) as Record<string, unknown>;
    edit(r);
    expect(errorsOf(r)).not.toEqual([]);
  });
});
