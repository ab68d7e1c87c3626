import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

export interface ControlPlaneVersions {
  kubernetes: string;
  etcd: string;
  kwok: string;
}

/** Parses `KEY=value` lines (comments and blanks ignored), the format of hack/versions.env. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** The pinned versions, kept in one file shared with the build script. */
export function controlPlaneVersions(root = packageRoot()): ControlPlaneVersions {
  const env = parseEnvFile(readFileSync(join(root, 'hack', 'versions.env'), 'utf8'));
  const get = (k: string): string => {
    const v = env[k];
    if (!v) throw new Error(`hack/versions.env does not set ${k}`);
    return v;
  };
  return { kubernetes: get('K8S_VERSION'), etcd: get('ETCD_VERSION'), kwok: get('KWOK_VERSION') };
}
