// The one-file release manifest as a platform team applies it: `kubectl apply --server-side -f
// config/release/install.yaml`, the CRDs Established and the operator's Deployment Available (kwok
// runs its pods without pulling the image). The manifest is moved to its own namespace and
// cluster-role name, as `kustomize edit set namespace` would, so that the operator namespace the
// other tests share (hdh-system) is never relabelled; the CRDs are the shared ones, applied as
// they are. Also: the TypeScript renderer that `npm run generate` uses gives exactly what
// `kubectl kustomize` gives, for config/default and for an overlay changing the image.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { RELEASE_PATH, renderKustomization, type KubeObject } from '../../../hack/kustomize.js';
import { testKubeConfig } from '../../support/cluster.js';
import { kubectl } from '../../support/kubectl.js';
import { eventually } from '../../support/wait.js';

const suffix = Date.now().toString(36);
const namespace = `e2e-release-${suffix}`;
const clusterRole = `hdh-operator-release-${suffix}`;

const parse = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => !!o);

type Movable = KubeObject & {
  metadata: { name: string; namespace?: string };
  roleRef?: { kind: string; name: string };
  subjects?: { namespace?: string }[];
};

/** The release objects in this test's namespace and under this test's cluster-role name. */
function moved(objects: KubeObject[]): KubeObject[] {
  return objects.map((o) => {
    const obj = structuredClone(o) as Movable;
    if (obj.kind === 'Namespace' && obj.metadata.name === 'hdh-system') obj.metadata.name = namespace;
    if (obj.metadata.namespace === 'hdh-system') obj.metadata.namespace = namespace;
    if (obj.kind === 'ClusterRole' || obj.kind === 'ClusterRoleBinding') obj.metadata.name = clusterRole;
    if (obj.roleRef?.kind === 'ClusterRole') obj.roleRef.name = clusterRole;
    for (const s of obj.subjects ?? []) if (s.namespace === 'hdh-system') s.namespace = namespace;
    return obj;
  });
}

describe('the release manifest', () => {
  const kc = testKubeConfig();
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const crdApi = kc.makeApiClient(ApiextensionsV1Api);
  const work = mkdtempSync(join(tmpdir(), 'e2e-release-'));
  const release = parse(readFileSync(RELEASE_PATH, 'utf8'));

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await rbac.deleteClusterRoleBinding({ name: clusterRole }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: clusterRole }).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it('is what kubectl kustomize renders from config/default, and so is an overlay changing the image', async () => {
    expect(parse(await kubectl(['kustomize', 'config/default']))).toEqual(release);

    // An overlay outside the repository, as a platform team keeps one.
    const overlay = join(work, 'overlay');
    mkdirSync(overlay);
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      [
        'resources:',
        // kustomize takes a base outside the overlay's folder only by a relative path.
        `  - ${relative(overlay, join(process.cwd(), 'config', 'default'))}`,
        'images:',
        '  - { name: hdh-operator, newName: registry.example.eu/platform/hdh-operator, newTag: 1.2.3 }',
      ].join('\n'),
    );
    const rendered = renderKustomization(overlay, (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    });
    const byKubectl = parse(await kubectl(['kustomize', overlay]));
    expect(rendered).toEqual(byKubectl);
    expect(JSON.stringify(byKubectl)).toContain('"image":"registry.example.eu/platform/hdh-operator:1.2.3"');
  });

  it('applies with kubectl apply --server-side: CRDs Established, the Deployment Available', async () => {
    const file = join(work, 'install.yaml');
    writeFileSync(
      file,
      moved(release)
        .map((o) => stringify(o))
        .join('---\n'),
    );
    // --force-conflicts: the CRDs are already there, applied by another field manager (this test
    // run's set-up), as on an upgrade over an earlier install.
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]);

    const crds = release.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata!.name!);
    expect(crds).toHaveLength(2);
    for (const name of crds) {
      const crd = await crdApi.readCustomResourceDefinition({ name });
      expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    }
    const deployment = await eventually(
      'the Deployment Available with both replicas ready',
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'hdh-operator', namespace });
        const available = d.status?.conditions?.find((c) => c.type === 'Available')?.status === 'True';
        return available && d.status?.readyReplicas === 2 ? d : undefined;
      },
      30_000,
    );
    const [operator] = deployment.spec!.template.spec!.containers;
    expect(operator!.env?.map((e) => e.name)).toEqual(expect.arrayContaining(['POD_NAME', 'POD_NAMESPACE']));
    const service = await core.readNamespacedService({ name: 'hdh-operator-metrics', namespace });
    expect(service.spec?.ports?.map((p) => [p.name, p.port])).toEqual([['metrics', 8080]]);
    // Applying it again conflicts with nothing: the manifest is its own fields' only manager.
    await expect(kubectl(['apply', '--server-side', '-f', file])).resolves.toContain('serverside-applied');
  }, 40_000);
});
