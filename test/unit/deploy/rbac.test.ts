// The operator's permissions are written twice: for kustomize (config/rbac, which the
// least-privilege end-to-end test runs the operator under) and for the Helm chart. They must
// grant the same rules, so that a permission added for a new watch reaches both.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

interface RbacDoc {
  kind: string;
  rules?: unknown[];
}

function docs(path: string, substitute = (s: string) => s): RbacDoc[] {
  return parseAllDocuments(substitute(readFileSync(path, 'utf8'))).map((d) => d.toJS() as RbacDoc);
}

const rulesOf = (all: RbacDoc[], kind: string) => all.filter((d) => d.kind === kind).map((d) => d.rules);

describe('RBAC of the kustomize config and of the Helm chart', () => {
  const config = docs('config/rbac/role.yaml');
  // The chart's only template expressions here are the release name and namespace.
  const chart = docs('charts/hdh-operator/templates/rbac.yaml', (s) =>
    s.replaceAll('{{ .Release.Name }}', 'hdh-operator').replaceAll('{{ .Release.Namespace }}', 'hdh-system'),
  );

  it('grant the same cluster-wide rules', () => {
    expect(rulesOf(config, 'ClusterRole')).toHaveLength(1);
    expect(rulesOf(chart, 'ClusterRole')).toEqual(rulesOf(config, 'ClusterRole'));
  });

  it('grant the same rules in the operator namespace (leader election, key access, retained claims)', () => {
    expect(rulesOf(config, 'Role')).toHaveLength(3);
    expect(rulesOf(chart, 'Role')).toEqual(rulesOf(config, 'Role'));
  });
});
