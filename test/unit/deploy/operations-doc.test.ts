// docs/operations.md removes the operator installed from the release manifest object by object,
// keeping the namespace (builtin keys live there) and the CRDs (every hub goes with them). That
// list must name every other object of config/release/install.yaml, or an uninstall leaves
// pieces of the operator behind; and nothing that is not there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = process.cwd();
const page = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
const release = parseAllDocuments(readFileSync(join(root, 'config', 'release', 'install.yaml'), 'utf8'))
  .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null)
  .filter((o) => o?.kind);

/** The `kubectl … delete kind/name …` commands of the page's uninstall step, as kind/name words. */
function uninstallTargets(): { namespaced: string[]; cluster: string[] } {
  const section = /## Uninstall\n([\s\S]*?)\n## /.exec(page)?.[1] ?? '';
  const commands = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((m) => m[1]!.replace(/\\\n\s*/g, ''))
    .flatMap((block) => block.split('\n'))
    .filter((line) => /^kubectl .*delete [a-z]+\/\S+/.test(line.trim()));
  const words = (line: string) =>
    line
      .trim()
      .split(/\s+/)
      .filter((w) => /^[a-z]+\/[a-z0-9.-]+$/.test(w));
  return {
    namespaced: commands.filter((c) => c.includes(' -n hdh-system ')).flatMap(words),
    cluster: commands.filter((c) => !c.includes(' -n ')).flatMap(words),
  };
}

describe('the uninstall commands of docs/operations.md', () => {
  it('delete every object of the release manifest but the namespace and the CRDs, and nothing else', () => {
    const keep = new Set(['Namespace', 'CustomResourceDefinition']);
    const expected = release
      .filter((o) => !keep.has(o!.kind!))
      .map((o) => ({
        word: `${o!.kind!.toLowerCase()}/${o!.metadata!.name!}`,
        namespaced: !!o!.metadata?.namespace,
      }));
    const { namespaced, cluster } = uninstallTargets();
    expect([...namespaced].sort()).toEqual(
      expected
        .filter((e) => e.namespaced)
        .map((e) => e.word)
        .sort(),
    );
    expect([...cluster].sort()).toEqual(
      expected
        .filter((e) => !e.namespaced)
        .map((e) => e.word)
        .sort(),
    );
    expect(expected.length).toBeGreaterThan(5);
  });

  it('never deletes the release manifest or the kustomize base as a whole', () => {
    expect(page).not.toMatch(/^\s*kubectl delete (-f config\/release|-k config\/default)/m);
  });
});
