// The options every subcommand shares, checked before the cluster is read: which kubeconfig and
// context, which namespace (-n, -A, else the context's, as kubectl), and report periods.
import { formatTime } from '../../api/conditions.js';
import { parseDuration } from '../../api/duration.js';
import { UserError } from './errors.js';
import type { ConnectOptions } from './kubeconfig.js';

export interface ScopeOptions {
  namespace?: string;
  allNamespaces?: boolean;
}

export type CommonOptions = ConnectOptions & ScopeOptions;

/** A namespace name as the API server accepts it (DNS-1123 label). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** -n and -A are exclusive, and -n names a namespace that can exist. */
export function checkScope(opts: ScopeOptions): void {
  if (opts.namespace && opts.allNamespaces) throw new UserError('give either -n NAMESPACE or -A, not both');
  if (opts.namespace !== undefined && !DNS_LABEL.test(opts.namespace)) {
    throw new UserError(`${JSON.stringify(opts.namespace)} is not a namespace name`);
  }
}

/** The namespace to read, undefined for all: -A, else -n, else the context's. */
export function scopeOf(opts: ScopeOptions, contextNamespace: string): string | undefined {
  checkScope(opts);
  return opts.allNamespaces ? undefined : opts.namespace || contextNamespace;
}

/** A hub name as the CRD admits it (a DNS-1123 label of at most 52 characters). */
export function checkHubName(name: string): void {
  if (name.length > 52 || !DNS_LABEL.test(name)) {
    throw new UserError(`${JSON.stringify(name)} is not a HealthDataHub name`);
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `--since`: an RFC 3339 time, or a duration before `now` (`24h`, `720h`, `1h30m`); the start of
 * the period as RFC 3339, to the second.
 */
export function parseSince(text: string, now: Date): string {
  if (RFC3339.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw new UserError(`--since ${text}: not a valid time`);
    if (t > now.getTime()) throw new UserError(`--since ${text}: in the future`);
    return formatTime(new Date(t));
  }
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new UserError(
      `--since ${JSON.stringify(text)}: give a duration such as 24h or 720h, or an RFC 3339 time such as 2025-01-31T00:00:00Z`,
    );
  }
  return formatTime(new Date(now.getTime() - ms));
}

/** A Kubernetes UID: a UUID. */
const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkUid(flag: string, uid: string): void {
  if (!UID.test(uid))
    throw new UserError(`${flag} ${JSON.stringify(uid)} is not a UID (a UUID such as metadata.uid)`);
}
