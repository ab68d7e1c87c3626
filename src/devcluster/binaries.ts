import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, packageRoot } from './paths.js';
import { controlPlaneVersions } from './versions.js';

export const BINARY_NAMES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
] as const;
export type BinaryName = (typeof BINARY_NAMES)[number];

export interface ControlPlaneBinaries {
  paths: Record<BinaryName, string>;
  /** Directory holding kwok's stage definitions (node/pod lifecycle). */
  kwokStagesDir: string;
  /** Where each binary came from, for the status output. */
  sources: Record<BinaryName, 'env' | 'kubebuilder-assets' | 'cache'>;
}

/** `kube-apiserver` -> `TEST_ASSET_KUBE_APISERVER` (the envtest convention). */
export function assetEnvName(name: BinaryName): string {
  return `TEST_ASSET_${name.toUpperCase().replace(/-/g, '_')}`;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), `k8s-v${controlPlaneVersions().kubernetes}`);
}

/**
 * Resolves one binary: TEST_ASSET_* first, then $KUBEBUILDER_ASSETS/<name>, then the cache.
 * Returns undefined when none has it (the caller builds into the cache).
 */
export function resolveBinary(
  name: BinaryName,
  env: NodeJS.ProcessEnv = process.env,
): { path: string; source: ControlPlaneBinaries['sources'][BinaryName] } | undefined {
  const fromEnv = env[assetEnvName(name)];
  if (fromEnv && isExecutable(fromEnv)) return { path: fromEnv, source: 'env' };
  if (env.KUBEBUILDER_ASSETS) {
    const p = join(env.KUBEBUILDER_ASSETS, name);
    if (isExecutable(p)) return { path: p, source: 'kubebuilder-assets' };
  }
  const cached = join(cacheDir(env), 'bin', name);
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

/** Runs hack/build-control-plane.sh, streaming its progress to stderr. */
export async function buildIntoCache(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const script = join(packageRoot(), 'hack', 'build-control-plane.sh');
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn('bash', [script], {
      env: { ...env, OUT_DIR: cacheDir(env) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`building the control plane failed (exit ${code})`)),
    );
  });
}

/** Finds every binary, building the missing ones from the Go module proxy once. */
export async function ensureBinaries(env: NodeJS.ProcessEnv = process.env): Promise<ControlPlaneBinaries> {
  const stagesDir = env.HDH_KWOK_STAGES ?? join(cacheDir(env), 'kwok-stages');
  const missing = () => BINARY_NAMES.filter((n) => !resolveBinary(n, env));
  if (missing().length > 0 || !existsSync(stagesDir)) {
    process.stderr.write(
      `control-plane binaries missing (${missing().join(', ') || 'kwok stages'}): building them into ${cacheDir(env)}\n`,
    );
    await buildIntoCache(env);
  }
  const paths = {} as Record<BinaryName, string>;
  const sources = {} as ControlPlaneBinaries['sources'];
  for (const n of BINARY_NAMES) {
    const r = resolveBinary(n, env);
    if (!r) throw new Error(`binary ${n} not found after the build`);
    paths[n] = r.path;
    sources[n] = r.source;
  }
  return { paths, sources, kwokStagesDir: stagesDir };
}
