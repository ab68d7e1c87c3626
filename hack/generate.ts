// Regenerates everything derived from the CRDs in crds/: TypeScript types, the API reference
// and the copies for the Helm chart and kustomize. `--check` changes nothing and exits 1,
// naming each stale file, when the generated files do not match crds/.
//
// Run by Node with type stripping (npm run generate), so the sibling module is imported by its
// .ts file name at run time; the type-only import gives the compiler its shape.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Codegen from './crd-codegen.js';

const codegen = (await import(new URL('./crd-codegen.ts', import.meta.url).href)) as typeof Codegen;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

const readSources = (): Codegen.CrdSource[] =>
  readdirSync(join(root, 'crds'))
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => ({ file, text: readFileSync(join(root, 'crds', file), 'utf8') }));

const read = (path: string): string | undefined => {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
};

const list = (dir: string): string[] => {
  try {
    return readdirSync(join(root, dir));
  } catch {
    return [];
  }
};

const plan = codegen.planSync(codegen.generate(readSources()), read, list);

if (check) {
  const problems = [
    ...plan.write.map((file) => `stale or missing: ${file.path}`),
    ...plan.remove.map((path) => `not generated from crds/: ${path}`),
  ];
  if (problems.length) {
    console.error(`Generated files are out of date; run \`npm run generate\`.\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log('Generated files are up to date.');
} else {
  for (const file of plan.write) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    writeFileSync(join(root, file.path), file.content);
    console.log(`wrote ${file.path}`);
  }
  for (const path of plan.remove) {
    rmSync(join(root, path));
    console.log(`removed ${path}`);
  }
  if (!plan.write.length && !plan.remove.length) console.log('Generated files are up to date.');
}
