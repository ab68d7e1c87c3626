// The release manifest (config/release/install.yaml) and the kustomize base it is rendered from:
// one pinned image whose overlay override reaches the datastores' init containers too (the
// operator reads its image from its own Pod), and a renderer that refuses what it cannot render.
// The end-to-end test holds the renderer equal to `kubectl kustomize` and applies the manifest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  imageName,
  overrideImage,
  RELEASE_PATH,
  renderKustomization,
  renderRelease,
  type KubeObject,
} from '../../../hack/kustomize.js';

const root = process.cwd();
const readDisk = (path: string): string | undefined => {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
};
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}
const containersOf = (objects: KubeObject[]): Container[] => {
  const deployment = objects.find((o) => o.kind === 'Deployment') as
    { spec: { template: { spec: { containers: Container[] } } } } | undefined;
  return deployment!.spec.template.spec.containers;
};

/** A repository with extra files over the real one: an overlay as a platform team writes it. */
const withFiles =
  (files: Record<string, string>) =>
  (path: string): string | undefined =>
    files[path] ?? readDisk(path);

describe('the release manifest', () => {
  it('on disk is config/default rendered (run `npm run generate` when this fails)', () => {
    expect(readDisk(RELEASE_PATH)).toBe(renderRelease(readDisk).content);
  });

  it('holds the CRDs, the namespace, RBAC, the Deployment and the metrics Service, namespace first', () => {
    const objects = parseAllDocuments(readDisk(RELEASE_PATH)!).map((d) => d.toJS() as KubeObject);
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      'Namespace/hdh-system',
      'CustomResourceDefinition/healthdatahubs.hdh.sovereign.eu',
      'CustomResourceDefinition/sovereigntypolicies.hdh.sovereign.eu',
      'ServiceAccount/hdh-operator',
      'Role/hdh-operator-key-access',
      'Role/hdh-operator-leader-election',
      'Role/hdh-operator-retained-claims',
      'ClusterRole/hdh-operator',
      'RoleBinding/hdh-operator-key-access',
      'RoleBinding/hdh-operator-leader-election',
      'RoleBinding/hdh-operator-retained-claims',
      'ClusterRoleBinding/hdh-operator',
      'Service/hdh-operator-metrics',
      'Deployment/hdh-operator',
    ]);
  });

  it("pins the operator's image at the package version and lets the operator read it from its Pod", () => {
    const [operator] = containersOf(renderKustomization('config/default', readDisk));
    expect(operator!.name).toBe('operator');
    expect(operator!.image).toBe(`hdh-operator:${version}`);
    expect(operator!.args!.some((a) => a.startsWith('--image'))).toBe(false);
    const fieldRefs = Object.fromEntries(
      (operator!.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
    );
    expect(fieldRefs).toMatchObject({ POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace' });
  });

  it("takes an overlay's images: entry, and nothing else names the image", () => {
    const read = withFiles({
      'overlays/prod/kustomization.yaml': [
        'resources: [../../config/default]',
        'images:',
        '  - { name: hdh-operator, newName: registry.example.eu/platform/hdh-operator, newTag: 1.2.3 }',
      ].join('\n'),
    });
    const objects = renderKustomization('overlays/prod', read);
    expect(containersOf(objects).map((c) => c.image)).toEqual([
      'registry.example.eu/platform/hdh-operator:1.2.3',
    ]);
    expect(JSON.stringify(objects)).not.toContain(`hdh-operator:${version}`);
  });

  it('refuses kustomization fields it does not render, naming them', () => {
    const read = withFiles({
      'overlays/x/kustomization.yaml': 'resources: [../../config/default]\nnamespace: ops\n',
    });
    expect(() => renderKustomization('overlays/x', read)).toThrow(
      'overlays/x/kustomization.yaml: namespace not rendered by hack/kustomize.ts',
    );
  });
});

describe("kustomize's image override", () => {
  it.each([
    ['hdh-operator:0.1.0', { name: 'hdh-operator', newTag: '0.2.0' }, 'hdh-operator:0.2.0'],
    ['hdh-operator:0.1.0', { name: 'hdh-operator', newName: 'r.eu/hdh' }, 'r.eu/hdh:0.1.0'],
    ['hdh-operator:0.1.0', { name: 'hdh-operator', digest: 'sha256:ab' }, 'hdh-operator@sha256:ab'],
    ['r.eu:5000/hdh-operator', { name: 'r.eu:5000/hdh-operator', newTag: '1' }, 'r.eu:5000/hdh-operator:1'],
    ['postgres:17', { name: 'hdh-operator', newTag: '1' }, 'postgres:17'],
  ])('%s with %j is %s', (ref, override, expected) => {
    expect(overrideImage(ref, [override])).toBe(expected);
  });

  it('reads the name before a tag or digest, not a registry port', () => {
    expect(imageName('r.eu:5000/a/b:1@sha256:00')).toBe('r.eu:5000/a/b');
    expect(imageName('r.eu:5000/a/b')).toBe('r.eu:5000/a/b');
  });
});
