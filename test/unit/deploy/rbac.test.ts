// The operator's permissions are written twice: for kustomize (config/rbac, which the
// least-privilege end-to-end test runs the operator under) and for the Helm chart. They must
// grant the same rules, so that a permission added for a new watch reaches both. The chart is
// rendered by the real helm, so its template expressions play their part.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { manifests, renderChart, type Manifest } from '../../support/helm.js';

interface RbacDoc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: unknown[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

const rulesOf = (all: RbacDoc[], kind: string) => all.filter((d) => d.kind === kind).map((d) => d.rules);

describe('RBAC of the kustomize config and of the Helm chart', () => {
  const config = parseAllDocuments(readFileSync('config/rbac/role.yaml', 'utf8')).map(
    (d) => d.toJS() as RbacDoc,
  );
  let chart: RbacDoc[];

  beforeAll(async () => {
    const all: Manifest[] = manifests(await renderChart([], 'prod', 'ops'));
    chart = all.filter((m) => m.apiVersion.startsWith('rbac.authorization.k8s.io/')) as unknown as RbacDoc[];
  });

  it('grant the same cluster-wide rules', () => {
    expect(rulesOf(config, 'ClusterRole')).toHaveLength(1);
    expect(rulesOf(chart, 'ClusterRole')).toEqual(rulesOf(config, 'ClusterRole'));
  });

  it('grant the same rules in the operator namespace (leader election, key access, retained claims)', () => {
    expect(rulesOf(config, 'Role')).toHaveLength(3);
    expect(rulesOf(chart, 'Role')).toEqual(rulesOf(config, 'Role'));
  });

  it("bind each role of the chart to the release's service account, by the chart's fullname", () => {
    const roles = chart.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
    const bindings = chart.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding');
    expect(bindings.map((b) => [b.roleRef?.kind, b.roleRef?.name])).toEqual(
      roles.map((r) => [r.kind, r.metadata.name]),
    );
    for (const b of bindings) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'prod-hdh-operator', namespace: 'ops' }]);
    }
    // Never the release name alone: a ClusterRole named "prod" would collide with anything else.
    expect(roles.map((r) => r.metadata.name)).toEqual([
      'prod-hdh-operator',
      'prod-hdh-operator-leader-election',
      'prod-hdh-operator-key-access',
      'prod-hdh-operator-retained-claims',
    ]);
    for (const r of roles.filter((d) => d.kind === 'Role')) expect(r.metadata.namespace).toBe('ops');
  });
});
