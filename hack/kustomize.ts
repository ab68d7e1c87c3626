// Pure renderer of the project's own kustomizations (config/), for the one-file release manifest
// config/release/install.yaml. `npm run generate` must work on any machine with Node, before any
// Kubernetes binary is built, so it does not call `kubectl kustomize`; it renders the subset of
// kustomize that config/ uses (resources and images) and refuses anything else, and an end-to-end
// test holds its output equal to `kubectl kustomize config/default`.
//
// Node runs it with type stripping (hack/generate.ts): erasable TypeScript only.
import { isMap, isScalar, isSeq, parseAllDocuments, visit, type Document } from 'yaml';

/** A Kubernetes object as read from YAML. */
export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
};

/** A kustomize `images:` entry. */
export interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** The kustomization fields this renderer understands; any other is an error. */
const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'images']);

export const RELEASE_PATH = 'config/release/install.yaml';
export const RELEASE_SOURCE = 'config/default';

/** A path relative to dir, normalised; absolute when rel or dir is. */
const join = (dir: string, rel: string): string => {
  const path = rel.startsWith('/') ? rel : `${dir}/${rel}`;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return (path.startsWith('/') ? '/' : '') + parts.join('/');
};

/** A resource as read: its YAML document (comments kept, for the release manifest) and its value. */
interface Resource {
  doc: Document;
  object: KubeObject;
}

const parseResources = (path: string, text: string): Resource[] =>
  parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    const object = doc.toJS() as KubeObject | null;
    return object ? [{ doc, object }] : [];
  });

/**
 * The objects a kustomization directory renders to, in kustomize's default (legacy) order.
 * `read` gives a file's text by its path (relative to the repository root, or absolute), or
 * undefined when there is no such file.
 */
export function renderKustomization(dir: string, read: (path: string) => string | undefined): KubeObject[] {
  return render(dir, read).map((r) => r.object);
}

function render(dir: string, read: (path: string) => string | undefined): Resource[] {
  return sortLegacy(build(dir, read, []));
}

function build(dir: string, read: (path: string) => string | undefined, seen: string[]): Resource[] {
  if (seen.includes(dir)) throw new Error(`kustomization cycle: ${[...seen, dir].join(' -> ')}`);
  const file = join(dir, 'kustomization.yaml');
  const text = read(file);
  if (text === undefined) throw new Error(`${dir}: no kustomization.yaml`);
  const k = parseResources(file, text)[0]?.object as
    (KubeObject & { resources?: string[]; images?: ImageOverride[] }) | undefined;
  if (!k) throw new Error(`${file}: empty`);
  const unknown = Object.keys(k).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length) {
    throw new Error(
      `${file}: ${unknown.join(', ')} not rendered by hack/kustomize.ts (it knows ${[...KNOWN_FIELDS].join(', ')}); teach it, keeping it equal to kubectl kustomize`,
    );
  }
  const resources = (k.resources ?? []).flatMap((entry) => {
    const path = join(dir, entry);
    const asFile = read(path);
    if (asFile !== undefined && !entry.endsWith('/')) return parseResources(path, asFile);
    return build(path, read, [...seen, dir]);
  });
  const images = k.images ?? [];
  return images.length ? resources.map((r) => withImages(r, images)) : resources;
}

/** An image reference's name: without its digest, and without its tag (a ':' after the last '/'). */
export function imageName(ref: string): string {
  const noDigest = ref.split('@')[0]!;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

/** kustomize's image transformer: an override's newName, newTag or digest on the images it names. */
export function overrideImage(ref: string, images: readonly ImageOverride[]): string {
  const name = imageName(ref);
  const o = images.find((i) => i.name === name);
  if (!o) return ref;
  const rest = ref.slice(name.length);
  const suffix = o.digest ? `@${o.digest}` : o.newTag ? `:${o.newTag}` : rest;
  return `${o.newName ?? name}${suffix}`;
}

/** The `image` of every entry of every `containers` and `initContainers` list, overridden. */
function withImages(resource: Resource, images: readonly ImageOverride[]): Resource {
  const doc = resource.doc.clone();
  visit(doc, {
    Pair(_, pair) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if ((key !== 'containers' && key !== 'initContainers') || !isSeq(pair.value)) return;
      for (const container of pair.value.items) {
        if (!isMap(container)) continue;
        const image = container.get('image');
        if (typeof image === 'string') container.set('image', overrideImage(image, images));
      }
    },
  });
  return { doc, object: doc.toJS() as KubeObject };
}

// kustomize's legacy sort (api/resid/gvk.go): these kinds first, in this order, those last, every
// other kind between; then by group/version/kind, name and namespace.
const ORDER_FIRST = [
  'Namespace',
  'ResourceQuota',
  'StorageClass',
  'CustomResourceDefinition',
  'ServiceAccount',
  'PodSecurityPolicy',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Endpoints',
  'Service',
  'LimitRange',
  'PriorityClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const ORDER_LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

const rank = (kind: string): number => {
  const first = ORDER_FIRST.indexOf(kind);
  if (first >= 0) return first;
  const last = ORDER_LAST.indexOf(kind);
  return last >= 0 ? ORDER_FIRST.length + 1 + last : ORDER_FIRST.length;
};

const gvk = (o: KubeObject): string => {
  const [group, version] = (o.apiVersion ?? '').includes('/')
    ? (o.apiVersion ?? '').split('/')
    : ['', o.apiVersion ?? ''];
  return `${group || '~G'}_${version || '~V'}_${o.kind || '~K'}`;
};

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortLegacy(resources: Resource[]): Resource[] {
  return [...resources].sort(
    ({ object: a }, { object: b }) =>
      rank(a.kind ?? '') - rank(b.kind ?? '') ||
      compare(gvk(a), gvk(b)) ||
      compare(a.metadata?.name ?? '', b.metadata?.name ?? '') ||
      compare(a.metadata?.namespace ?? '', b.metadata?.namespace ?? ''),
  );
}

/**
 * The release manifest: every object of config/default in one file, under a header, each with
 * the comments of its source (they explain the settings a platform team may change).
 */
export function renderRelease(read: (path: string) => string | undefined): { path: string; content: string } {
  const header = [
    `# Generated by \`npm run generate\` from ${RELEASE_SOURCE}; do not edit.`,
    '# The operator in one file: CustomResourceDefinitions, namespace hdh-system, RBAC, Deployment and',
    '# metrics Service. Apply with: kubectl apply --server-side -f install.yaml',
  ].join('\n');
  const docs = render(RELEASE_SOURCE, read).map(({ doc }) =>
    doc
      .toString({ lineWidth: 0 })
      .replace(/^---\n/, '')
      .trimEnd(),
  );
  return { path: RELEASE_PATH, content: `${header}\n---\n${docs.join('\n---\n')}\n` };
}
