// Pure generator: CustomResourceDefinition sources (crds/*.yaml, hand-written, the single
// source of truth of the API) in, generated file contents out. No file system access here, so
// unit tests can feed it modified schemas; hack/generate.ts does the reading and writing.
//
// Node runs hack/generate.ts with type stripping, which is why this module uses only erasable
// TypeScript syntax and imports nothing relative at run time.
import { parse } from 'yaml';

/** The subset of a JSON schema (apiextensions.k8s.io/v1 JSONSchemaProps) the CRDs use. */
export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  anyOf?: Schema[];
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
}

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object; scale?: object };
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

/** A CRD file as read from crds/: its file name and text. */
export interface CrdSource {
  file: string;
  text: string;
}

export interface GeneratedFile {
  path: string;
  content: string;
}

export const TYPES_PATH = 'src/api/types.generated.ts';
export const DOCS_PATH = 'docs/api.md';
export const KUSTOMIZATION_PATH = 'config/crd/kustomization.yaml';
/** Directories whose YAML files all come from crds/: anything else in them is stale. */
export const COPY_DIRS = ['charts/hdh-operator/crds', 'config/crd/bases'] as const;

// Readable names for the object types of the schema, keyed by kind and field path ("[]" marks
// array items). Unlisted objects get their parent's name plus the field's.
const TYPE_NAMES: Record<string, string> = {
  'HealthDataHub:spec': 'HealthDataHubSpec',
  'HealthDataHub:spec.placement': 'HubPlacement',
  'HealthDataHub:spec.placement.tolerations[]': 'Toleration',
  'HealthDataHub:spec.datastore': 'HubDatastore',
  'HealthDataHub:spec.datastore.env[]': 'EnvVar',
  'HealthDataHub:spec.datastore.env[].valueFrom': 'EnvVarSource',
  'HealthDataHub:spec.datastore.env[].valueFrom.secretKeyRef': 'SecretKeySelector',
  'HealthDataHub:spec.datastore.env[].valueFrom.configMapKeyRef': 'ConfigMapKeySelector',
  'HealthDataHub:spec.datastore.resources': 'ResourceRequirements',
  'HealthDataHub:spec.storage': 'HubStorage',
  'HealthDataHub:spec.encryption': 'HubEncryption',
  'HealthDataHub:spec.encryption.pkcs11': 'Pkcs11Settings',
  'HealthDataHub:spec.encryption.pkcs11.pinSecretRef': 'SecretKeyRef',
  'HealthDataHub:spec.encryption.transit': 'TransitSettings',
  'HealthDataHub:spec.encryption.transit.authSecretRef': 'SecretKeyRef',
  'HealthDataHub:spec.encryption.transit.caSecretRef': 'SecretKeyRef',
  'HealthDataHub:status': 'HealthDataHubStatus',
  'HealthDataHub:status.conditions[]': 'Condition',
  'HealthDataHub:status.placement': 'HubPlacementStatus',
  'HealthDataHub:status.placement.violations[]': 'PlacementViolation',
  'HealthDataHub:status.storage': 'HubStorageStatus',
  'HealthDataHub:status.storage.claims[]': 'ClaimStatus',
  'HealthDataHub:status.encryption': 'HubEncryptionStatus',
  'HealthDataHub:status.datastore': 'HubDatastoreStatus',
  'SovereigntyPolicy:spec': 'SovereigntyPolicySpec',
  'SovereigntyPolicy:spec.nodeSelectorRequirements[]': 'NodeSelectorRequirement',
  'SovereigntyPolicy:spec.tolerations[]': 'Toleration',
  'SovereigntyPolicy:spec.storage': 'PolicyStorage',
  'SovereigntyPolicy:spec.remediation': 'PolicyRemediation',
  'SovereigntyPolicy:status': 'SovereigntyPolicyStatus',
  'SovereigntyPolicy:status.conditions[]': 'Condition',
};

/** Parses and sorts the CRD sources; throws on anything the generator cannot represent. */
export function parseCrds(sources: readonly CrdSource[]): Crd[] {
  return [...sources]
    .sort((a, b) => a.file.localeCompare(b.file))
    .map((source) => {
      const crd = parse(source.text) as Crd;
      if (crd?.spec?.versions?.length !== 1) {
        throw new Error(`${source.file}: expected exactly one version; teach the generator about more`);
      }
      return crd;
    });
}

/** Every file generated from the CRD sources, with its path relative to the repository root. */
export function generate(sources: readonly CrdSource[]): GeneratedFile[] {
  const crds = parseCrds(sources);
  const sorted = [...sources].sort((a, b) => a.file.localeCompare(b.file));
  const copies = COPY_DIRS.flatMap((dir) =>
    sorted.map((source) => ({
      path: `${dir}/${source.file}`,
      content: `# Generated by \`npm run generate\` from crds/${source.file}; do not edit.\n${source.text}`,
    })),
  );
  return [
    { path: TYPES_PATH, content: renderTypes(crds) },
    { path: DOCS_PATH, content: renderDocs(crds) },
    ...copies,
    { path: KUSTOMIZATION_PATH, content: renderKustomization(sorted.map((s) => s.file)) },
  ];
}

/** What must change on disk to match `expected`: files to write and files to remove. */
export interface SyncPlan {
  write: GeneratedFile[];
  remove: string[];
}

/** Compares generated files with the disk, given as a reader and a lister (for the copy dirs). */
export function planSync(
  expected: readonly GeneratedFile[],
  read: (path: string) => string | undefined,
  list: (dir: string) => string[],
): SyncPlan {
  const write = expected.filter((file) => read(file.path) !== file.content);
  const wanted = new Set(expected.map((file) => file.path));
  const remove = COPY_DIRS.flatMap((dir) =>
    list(dir)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => `${dir}/${name}`)
      .filter((path) => !wanted.has(path)),
  );
  return { write, remove };
}

// ---------------------------------------------------------------------------------------------
// TypeScript types

interface TypeDecl {
  name: string;
  schema: Schema;
  origin: string;
}

const HEADER = 'Generated by `npm run generate` from the CustomResourceDefinitions in crds/; do not edit.';

function renderTypes(crds: readonly Crd[]): string {
  const decls = new Map<string, TypeDecl>();
  const blocks: string[] = [];

  const nameFor = (kind: string, path: string, parentName: string, field: string): string =>
    TYPE_NAMES[`${kind}:${path}`] ?? parentName + pascal(field) + (path.endsWith('[]') ? 'Item' : '');

  // Registers an object type, or reuses an identical earlier one (Toleration and Condition are
  // shared by both kinds); two different shapes under one name is an authoring error.
  const declare = (name: string, schema: Schema, origin: string, emit: () => string): void => {
    const previous = decls.get(name);
    if (previous) {
      if (shape(previous.schema) !== shape(schema)) {
        throw new Error(`type ${name} has different schemas at ${previous.origin} and ${origin}`);
      }
      return;
    }
    decls.set(name, { name, schema, origin });
    // Reserve the slot first so a type comes before the types its fields declare.
    const slot = blocks.push('') - 1;
    blocks[slot] = emit();
  };

  const typeOf = (schema: Schema, kind: string, path: string, parentName: string, field: string): string => {
    if (schema['x-kubernetes-int-or-string']) return 'number | string';
    if (schema.enum) return schema.enum.map((value) => tsLiteral(value)).join(' | ');
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        const item = typeOf(schema.items ?? {}, kind, `${path}[]`, parentName, field);
        return item.includes(' ') ? `(${item})[]` : `${item}[]`;
      }
      case 'object': {
        if (schema.properties) {
          const name = nameFor(kind, path, parentName, field);
          declare(name, schema, `${kind}:${path}`, () => renderInterface(name, schema, kind, path));
          return name;
        }
        if (typeof schema.additionalProperties === 'object') {
          return `Record<string, ${typeOf(schema.additionalProperties, kind, `${path}.*`, parentName, field)}>`;
        }
        return 'Record<string, unknown>';
      }
      default:
        return 'unknown';
    }
  };

  const renderInterface = (name: string, schema: Schema, kind: string, path: string): string => {
    const required = new Set(schema.required ?? []);
    const members = Object.entries(schema.properties ?? {}).map(([field, prop]) => {
      const type = typeOf(prop, kind, path ? `${path}.${field}` : field, name, field);
      const optional = required.has(field) ? '' : '?';
      return `${docComment(prop.description, prop.default, '  ')}  ${tsKey(field)}${optional}: ${type};`;
    });
    return `${docComment(schema.description, undefined, '')}export interface ${name} {\n${members.join('\n')}\n}`;
  };

  const constants: string[] = [];
  for (const crd of crds) {
    const { group, names, scope } = crd.spec;
    const version = crd.spec.versions[0]!;
    const root = version.schema.openAPIV3Schema;
    const apiVersion = `${group}/${version.name}`;
    const props = root.properties ?? {};
    const start = blocks.length;
    const spec = props['spec'] ? typeOf(props['spec'], names.kind, 'spec', names.kind, 'spec') : 'unknown';
    const status = props['status']
      ? typeOf(props['status'], names.kind, 'status', names.kind, 'status')
      : 'unknown';
    const specOptional = root.required?.includes('spec') ? '' : '?';

    constants.push(
      [
        `/** Names of the ${names.kind} resource. */`,
        `export const ${screamingSnake(names.kind)} = {`,
        `  group: ${tsLiteral(group)},`,
        `  version: ${tsLiteral(version.name)},`,
        `  apiVersion: ${tsLiteral(apiVersion)},`,
        `  kind: ${tsLiteral(names.kind)},`,
        `  listKind: ${tsLiteral(names.listKind)},`,
        `  plural: ${tsLiteral(names.plural)},`,
        `  singular: ${tsLiteral(names.singular)},`,
        `  shortNames: [${(names.shortNames ?? []).map((n) => tsLiteral(n)).join(', ')}],`,
        `  categories: [${(names.categories ?? []).map((n) => tsLiteral(n)).join(', ')}],`,
        `  namespaced: ${scope === 'Namespaced'},`,
        `} as const;`,
      ].join('\n'),
    );
    // The kind itself goes before the types its spec and status just declared.
    blocks.splice(
      start,
      0,
      [
        `${docComment(root.description, undefined, '')}export interface ${names.kind} {`,
        `  apiVersion: ${tsLiteral(apiVersion)};`,
        `  kind: ${tsLiteral(names.kind)};`,
        `  metadata: V1ObjectMeta;`,
        `${docComment(props['spec']?.description, undefined, '  ')}  spec${specOptional}: ${spec};`,
        `${docComment(props['status']?.description, undefined, '  ')}  status?: ${status};`,
        `}`,
        ``,
        `/** A list of ${names.kind} objects. */`,
        `export interface ${names.listKind} {`,
        `  apiVersion: ${tsLiteral(apiVersion)};`,
        `  kind: ${tsLiteral(names.listKind)};`,
        `  metadata: V1ListMeta;`,
        `  items: ${names.kind}[];`,
        `}`,
      ].join('\n'),
    );
  }

  return [
    `// ${HEADER}`,
    `import type { V1ListMeta, V1ObjectMeta } from '@kubernetes/client-node';`,
    ...constants,
    ...blocks,
  ]
    .join('\n\n')
    .concat('\n');
}

// The schema minus what does not change the type (top-level description and default).
function shape(schema: Schema): string {
  const { description: _description, default: _default, ...rest } = schema;
  return JSON.stringify(rest);
}

function docComment(description: string | undefined, defaultValue: unknown, indent: string): string {
  const lines = wrap((description ?? '').replace(/\*\//g, '*\\/'), 96 - indent.length);
  if (defaultValue !== undefined) {
    if (lines.length) lines.push('');
    lines.push(`@defaultValue \`${JSON.stringify(defaultValue)}\``);
  }
  if (!lines.length) return '';
  return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ` ${l}` : ''}`).join('\n')}\n${indent} */\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function tsLiteral(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value);
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function tsKey(field: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(field) ? field : tsLiteral(field);
}

function pascal(field: string): string {
  return field.charAt(0).toUpperCase() + field.slice(1);
}

function screamingSnake(kind: string): string {
  return kind.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Reference documentation

function renderDocs(crds: readonly Crd[]): string {
  const first = crds[0];
  const out: string[] = [
    '# API reference',
    '',
    `<!-- ${HEADER} -->`,
    '',
    'Reference of every field of the custom resources, generated from their schemas. For an ' +
      'introduction, read the [API guide](api-guide.md).',
    '',
  ];
  if (first) {
    out.push(`Group \`${first.spec.group}\`, version \`${first.spec.versions[0]!.name}\`.`, '');
  }
  for (const crd of crds) out.push(`- [${crd.spec.names.kind}](#${crd.spec.names.kind.toLowerCase()})`);
  for (const crd of crds) out.push('', ...renderKindDocs(crd));
  return out.join('\n').concat('\n');
}

function renderKindDocs(crd: Crd): string[] {
  const { group, names, scope } = crd.spec;
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema;
  const code = (values: readonly string[] | undefined): string =>
    values?.length ? values.map((v) => `\`${v}\``).join(', ') : '—';
  const out: string[] = [
    `## ${names.kind}`,
    '',
    root.description ?? '',
    '',
    '| | |',
    '| --- | --- |',
    `| API version | \`${group}/${version.name}\` |`,
    `| Scope | ${scope} |`,
    `| Plural / singular | \`${names.plural}\` / \`${names.singular}\` |`,
    `| Short names | ${code(names.shortNames)} |`,
    `| Categories | ${code(names.categories)} |`,
    `| Subresources | ${code(Object.keys(version.subresources ?? {}))} |`,
  ];
  const rootRules = validationNotes({ 'x-kubernetes-validations': root['x-kubernetes-validations'] });
  if (rootRules.length) out.push(`| Object rules | ${cell(rootRules.join('; '))} |`);

  const columns = version.additionalPrinterColumns ?? [];
  if (columns.length) {
    out.push('', '### Columns of `kubectl get`', '', '| Column | Value | Shown |', '| --- | --- | --- |');
    for (const column of columns) {
      const shown = column.priority ? 'with `-o wide`' : 'always';
      out.push(`| ${column.name} | ${cell(`\`${column.jsonPath}\``)} | ${shown} |`);
    }
  }

  out.push(
    '',
    '### Fields',
    '',
    '| Field | Type | Default | Validation | Description |',
    '| --- | --- | --- | --- | --- |',
  );
  const walk = (schema: Schema, path: string, required: boolean): void => {
    const notes = validationNotes(schema);
    if (required) notes.unshift('required');
    // Rules on object items have no row of their own: show them on the array's.
    if (schema.type === 'array' && schema.items?.properties) {
      notes.push(...validationNotes(schema.items).map((note) => `each item: ${note}`));
    }
    const dflt = schema.default === undefined ? '' : `\`${JSON.stringify(schema.default)}\``;
    out.push(
      `| \`${path}\` | ${typeLabel(schema)} | ${cell(dflt)} | ${cell(notes.join('; '))} | ${cell(schema.description ?? '')} |`,
    );
    const objectSchema = schema.type === 'array' ? schema.items : schema;
    const childPath = schema.type === 'array' ? `${path}[]` : path;
    const requiredChildren = new Set(objectSchema?.required ?? []);
    for (const [field, child] of Object.entries(objectSchema?.properties ?? {})) {
      walk(child, `${childPath}.${field}`, requiredChildren.has(field));
    }
    if (schema.type === 'array' && schema.items && !schema.items.properties) {
      const itemNotes = validationNotes(schema.items);
      if (itemNotes.length)
        out.push(
          `| \`${path}[]\` | ${typeLabel(schema.items)} | | ${cell(itemNotes.join('; '))} | ${cell(schema.items.description ?? '')} |`,
        );
    }
    if (typeof objectSchema?.additionalProperties === 'object') {
      const value = objectSchema.additionalProperties;
      out.push(
        `| \`${childPath}.*\` | ${typeLabel(value)} | | ${cell(validationNotes(value).join('; '))} | ${cell(value.description ?? '')} |`,
      );
    }
  };
  const requiredTop = new Set(root.required ?? []);
  for (const top of ['spec', 'status']) {
    const schema = root.properties?.[top];
    if (schema) walk(schema, top, requiredTop.has(top));
  }
  return out;
}

function typeLabel(schema: Schema): string {
  if (schema['x-kubernetes-int-or-string']) return 'integer or string';
  if (schema.type === 'array') return `[]${schema.items ? typeLabel(schema.items) : 'unknown'}`;
  if (schema.type === 'object' && !schema.properties && typeof schema.additionalProperties === 'object') {
    return `map[string]${typeLabel(schema.additionalProperties)}`;
  }
  const base = schema.type ?? 'any';
  return schema.format ? `${base} (${schema.format})` : base;
}

function validationNotes(schema: Schema): string[] {
  const notes: string[] = [];
  if (schema.enum) notes.push(`one of ${schema.enum.map((v) => `\`${String(v)}\``).join(', ')}`);
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    notes.push(range(schema.minimum, schema.maximum, ''));
  }
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    notes.push(range(schema.minLength, schema.maxLength, ' characters'));
  }
  if (schema.minItems !== undefined || schema.maxItems !== undefined) {
    notes.push(range(schema.minItems, schema.maxItems, ' items'));
  }
  if (schema.maxProperties !== undefined) notes.push(`at most ${schema.maxProperties} entries`);
  if (schema['x-kubernetes-list-type'] === 'set') notes.push('no duplicates');
  const mapKeys = schema['x-kubernetes-list-map-keys'];
  if (schema['x-kubernetes-list-type'] === 'map' && mapKeys) {
    notes.push(`unique by ${mapKeys.map((k) => `\`${k}\``).join(', ')}`);
  }
  if (schema.pattern) notes.push(`pattern \`${schema.pattern}\``);
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    notes.push(rule.message ?? `rule \`${rule.rule}\``);
  }
  return notes;
}

function range(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined)
    return min === max ? `exactly ${min}${unit}` : `${min}–${max}${unit}`;
  if (min !== undefined) return `at least ${min}${unit}`;
  return `at most ${max}${unit}`;
}

// Table cells hold one line, and a pipe would end the cell.
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

// ---------------------------------------------------------------------------------------------
// Kustomize

function renderKustomization(files: readonly string[]): string {
  return [
    `# ${HEADER}`,
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'resources:',
    ...files.map((file) => `  - bases/${file}`),
    '',
  ].join('\n');
}
