// Authoring rules for the hand-written CRDs in crds/, checked before any cluster sees them.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseCrds, type Schema } from '../../../hack/crd-codegen.js';
import { DURATION_PATTERN } from '../../../src/api/duration.js';

const root = process.cwd();
const crds = parseCrds(
  readdirSync(join(root, 'crds'))
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => ({ file, text: readFileSync(join(root, 'crds', file), 'utf8') })),
);

interface Node {
  path: string;
  schema: Schema;
}

/** Every schema node of a kind, with its field path; the root's metadata is the API server's. */
function nodes(kind: string): Node[] {
  const crd = crds.find((c) => c.spec.names.kind === kind)!;
  const out: Node[] = [];
  const walk = (schema: Schema, path: string): void => {
    out.push({ path, schema });
    for (const [field, child] of Object.entries(schema.properties ?? {})) {
      if (path === '' && field === 'metadata') continue;
      walk(child, path ? `${path}.${field}` : field);
    }
    if (schema.items) walk(schema.items, `${path}[]`);
    if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${path}.*`);
  };
  walk(crd.spec.versions[0]!.schema.openAPIV3Schema, '');
  return out;
}

const kinds = ['HealthDataHub', 'SovereigntyPolicy'];

describe.each(kinds)('the %s CRD', (kind) => {
  const all = nodes(kind);

  it('describes every field, so kubectl explain reads like documentation', () => {
    expect(all.filter((n) => !n.schema.description?.trim()).map((n) => n.path)).toEqual([]);
  });

  it('bounds every array and string, so CEL rules stay within the cost budget', () => {
    const unbounded = all.filter(
      (n) =>
        (n.schema.type === 'array' && n.schema.maxItems === undefined) ||
        (n.schema.type === 'string' &&
          n.schema.maxLength === undefined &&
          !n.schema.enum &&
          !n.schema.format),
    );
    expect(unbounded.map((n) => n.path).filter((p) => p !== 'apiVersion' && p !== 'kind')).toEqual([]);
  });

  it('states every scalar default in the description', () => {
    const missing = all.filter((n) => {
      const value = n.schema.default;
      if (value === undefined || (typeof value === 'object' && !Array.isArray(value))) return false;
      const shown = Array.isArray(value) ? value.join(', ') : String(value);
      return !n.schema.description?.includes(`Defaults to ${shown}.`);
    });
    expect(missing.map((n) => n.path)).toEqual([]);
  });

  it('gives every CEL rule a message', () => {
    const rules = all.flatMap((n) =>
      (n.schema['x-kubernetes-validations'] ?? []).map((r) => ({ ...r, path: n.path })),
    );
    expect(rules.filter((r) => !r.message).map((r) => r.path)).toEqual([]);
  });

  it('has a status subresource and no phase', () => {
    const crd = crds.find((c) => c.spec.names.kind === kind)!;
    expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
    expect(all.map((n) => n.path)).not.toContain('status.phase');
    expect(all.map((n) => n.path)).toEqual(
      expect.arrayContaining(['status.observedGeneration', 'status.conditions[].observedGeneration']),
    );
  });
});

describe('the HealthDataHub CRD', () => {
  const byPath = new Map(nodes('HealthDataHub').map((n) => [n.path, n.schema]));
  const rules = (path: string): string[] =>
    (byPath.get(path)?.['x-kubernetes-validations'] ?? []).map((r) => r.rule);

  it('keeps policyName, storageClassName and provider immutable', () => {
    for (const path of ['spec.policyName', 'spec.storage.storageClassName', 'spec.encryption.provider']) {
      expect(rules(path)).toContain('self == oldSelf');
    }
  });

  it('lets storage.size grow but never shrink', () => {
    expect(rules('spec.storage.size').join(' ')).toContain(
      'quantity(self).compareTo(quantity(oldSelf)) >= 0',
    );
  });

  it('bounds storage.size at 64Ti, refusing what is no quantity at all (1e9999)', () => {
    expect(rules('spec.storage.size')).toContain(
      "isQuantity(self) && quantity(self).compareTo(quantity('64Ti')) <= 0",
    );
  });

  it('checks rotationInterval with the grammar the operator parses, so duration() never overflows', () => {
    const literal = `'${DURATION_PATTERN.replaceAll('\\', '\\\\')}'`;
    const interval = rules('spec.encryption.rotationInterval');
    expect(interval).toHaveLength(3);
    for (const rule of interval) expect(rule).toContain(`self.matches(${literal})`);
    expect(interval.join(' ')).toContain("duration(self) <= duration('87600h')");
  });

  it('keeps conditions a map keyed by type with metav1.Condition required fields', () => {
    const conditions = byPath.get('status.conditions')!;
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect(byPath.get('status.conditions[]')?.required).toEqual([
      'type',
      'status',
      'lastTransitionTime',
      'reason',
      'message',
    ]);
  });

  it('never takes a PIN or token inline, only Secret references', () => {
    const secretish = [...byPath.keys()].filter((p) =>
      /pin|token|password|secret/i.test(p.split('.').pop()!),
    );
    expect(
      secretish.filter((p) => !/SecretRef$|SecretRef\.(name|key)$|tokenLabel$|secretKeyRef/.test(p)),
    ).toEqual([]);
  });
});

describe('the samples', () => {
  const sample = (file: string): Record<string, unknown> =>
    parse(readFileSync(join(root, 'config/samples', file), 'utf8')) as Record<string, unknown>;

  it('include the eu-hds policy', () => {
    expect(sample('sovereigntypolicy_eu-hds.yaml')).toEqual({
      apiVersion: 'hdh.sovereign.eu/v1alpha1',
      kind: 'SovereigntyPolicy',
      metadata: { name: 'eu-hds' },
      spec: {
        regions: ['fr-par', 'eu-west-3', 'de-fra'],
        nodeSelectorRequirements: [
          { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
          { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
        ],
        tolerations: [
          {
            key: 'sovereign.node-restriction.kubernetes.io/dedicated',
            value: 'health-data',
            effect: 'NoSchedule',
          },
        ],
        storage: { requireEncryption: true, allowedStorageClasses: [] },
        keyProviders: ['builtin', 'pkcs11', 'transit'],
        enforcement: 'Enforce',
        onViolation: 'Evict',
      },
    });
  });

  it('include a minimal hub with only the required fields', () => {
    expect(sample('healthdatahub_minimal.yaml')['spec']).toEqual({
      policyName: 'eu-hds',
      storage: { size: expect.any(String), storageClassName: expect.any(String) },
    });
  });

  it('include a full hub that sets every spec field', () => {
    const full = sample('healthdatahub_full.yaml');
    const missing = nodes('HealthDataHub')
      .map((n) => n.path)
      .filter((p) => p.startsWith('spec.') && !p.includes('*'))
      // Only one provider's settings can be set, and Secret and ConfigMap sources are alternatives.
      .filter((p) => !p.startsWith('spec.encryption.transit'))
      .filter((p) => !hasPath(full['spec'], p.slice('spec.'.length).split('.')));
    expect(missing).toEqual([]);
  });
});

// True when some element along the path holds the field (arrays: any item).
function hasPath(value: unknown, segments: string[]): boolean {
  if (!segments.length) return value !== undefined;
  const [head, ...rest] = segments;
  const field = head!.replace(/\[\]$/, '');
  const next = (value as Record<string, unknown> | undefined)?.[field];
  if (head!.endsWith('[]')) return Array.isArray(next) && next.some((item) => hasPath(item, rest));
  return hasPath(next, rest);
}
