// The real helm (built by hack/build-tools.sh) on the chart in charts/hdh-operator. Its caches
// and settings go to a temporary home, so a developer's repositories and plugins play no part.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseEnvFile } from '../../src/devcluster/versions.js';
import { toolPath } from './tools.js';

const run = promisify(execFile);

export const CHART_DIR = 'charts/hdh-operator';

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

let home: string | undefined;
const helmEnv = (): NodeJS.ProcessEnv => {
  home ??= mkdtempSync(join(tmpdir(), 'hdh-helm-'));
  return {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
};

/** Runs helm; resolves with its exit code and output, never rejects on a non-zero exit. */
export async function helm(args: string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(toolPath('helm'), args, {
      env: helmEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** helm, failing with its stderr unless it exits 0. */
export async function helmOk(args: string[]): Promise<string> {
  const r = await helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The Kubernetes version helm renders for: the dev cluster's (helm's own default is too old for kubeVersion). */
export const KUBE_VERSION = parseEnvFile(readFileSync(join('hack', 'versions.env'), 'utf8')).K8S_VERSION!;

/** `helm template` of the chart with these `--set`/`-f` arguments: the manifests as text. */
export function renderChart(args: string[] = [], release = 'hdh-operator', namespace = 'hdh-system') {
  return helmOk([
    'template',
    release,
    CHART_DIR,
    '--namespace',
    namespace,
    '--kube-version',
    KUBE_VERSION,
    ...args,
  ]);
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The objects of a rendered chart. */
export function manifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => !!m);
}
