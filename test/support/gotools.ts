// hdh-gotools (hack/tools, built by hack/build-tools.sh): the consumers' own code run on what the
// project ships — kstatus (sigs.k8s.io/cli-utils), Argo CD's Lua health runtime (gopher-lua, set
// up as Argo CD sets it up) and kind's cluster config types.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { toolPath } from './tools.js';

export interface GoToolsResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `hdh-gotools <args>` with `input` on stdin; never throws on a non-zero exit. */
export function goTools(args: string[], input = ''): GoToolsResult {
  const r = spawnSync(toolPath('hdh-gotools'), args, { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], input?: string): unknown {
  const r = goTools(args, input);
  if (r.code !== 0) throw new Error(`hdh-gotools ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

export type KstatusStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';

export interface KstatusResult {
  kind: string;
  namespace: string;
  name: string;
  status: KstatusStatus;
  message: string;
}

/** kstatus (status.Compute) of one object or of every item of a List. */
export function kstatus(objectOrList: object): KstatusResult[] {
  return ok(['kstatus'], JSON.stringify(objectOrList)) as KstatusResult[];
}

export type ArgoHealthStatus =
  'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown' | '';

export interface ArgoHealth {
  status: ArgoHealthStatus;
  message: string;
}

/** The shipped Argo CD health scripts: config/argocd/health/<group>/<Kind>/health.lua. */
export const ARGOCD_HEALTH_DIR = join('config', 'argocd', 'health');

export function argoHealthScript(kind: 'HealthDataHub' | 'SovereigntyPolicy'): string {
  return join(ARGOCD_HEALTH_DIR, 'hdh.sovereign.eu', kind, 'health.lua');
}

/** Runs a health script on `object` as Argo CD runs an argocd-cm health customization. */
export function argoHealth(script: string, object: object): ArgoHealth {
  return ok(['argocd-health', script], JSON.stringify(object)) as ArgoHealth;
}

export interface KindConfigSummary {
  name: string;
  nodes: { role: 'control-plane' | 'worker'; labels: Record<string, string> }[];
}

/** Decodes a kind Cluster config strictly with kind's v1alpha4 types; throws with kind's error. */
export function kindConfig(file: string): KindConfigSummary {
  return ok(['kind-config', file]) as KindConfigSummary;
}
