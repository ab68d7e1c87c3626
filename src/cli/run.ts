import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseDuration } from '../api/duration.js';
import { FIELD_MANAGER } from '../api/index.js';
import { parseAllowedModules, stopModuleProbes } from '../keys/pkcs11-modules.js';
import { parseAllowedTokens } from '../keys/pkcs11-tokens.js';
import { registerOperator } from '../operator.js';
import type { InformerOptions } from '../runtime/informer.js';
import { leaderElectionTimingProblem } from '../runtime/leader-election.js';
import { describeError } from '../runtime/errors.js';
import { createLogger, type LogFormat, type Logger } from '../runtime/logging.js';
import { Manager } from '../runtime/manager.js';
import { OperatorMetrics } from '../runtime/metrics.js';
import { OPERATOR_VERSION } from '../version.js';
import { operatorImage } from './image.js';

export interface RunOptions {
  kubeconfig?: string;
  namespace?: string;
  leaderElect?: boolean | string;
  leaderElectionNamespace?: string;
  /** Lease timings as durations ("15s"); client-go's defaults when absent. */
  leaderElectLeaseDuration?: string;
  leaderElectRenewDeadline?: string;
  leaderElectRetryPeriod?: string;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  logLevel: string;
  logFormat: LogFormat;
  concurrency: number;
  /** Where builtin key-encryption keys are kept (default: the operator's own namespace). */
  operatorNamespace?: string;
  /**
   * The operator's image, for the datastore's unwrap-dek init container: `run` passes --image or
   * the image of its own Pod (operatorImage); in-process callers on simulated nodes, which never
   * pull, may leave it to DEFAULT_IMAGE.
   */
  image?: string;
  /** PKCS#11 modules hubs may name: comma-separated absolute paths (--pkcs11-allowed-modules). */
  pkcs11AllowedModules?: string | readonly string[];
  /** PKCS#11 tokens each namespace may name: comma-separated <namespace>/<label> (--pkcs11-allowed-tokens). */
  pkcs11AllowedTokens?: string | readonly string[];
  /** How often the served policy report kinds are asked again, as a duration ("60s"). */
  reportDiscoveryInterval?: string;
  /** Informer tuning; tests shorten the unhealthy threshold. */
  informer?: Omit<InformerOptions, 'transform'>;
}

export const DEFAULT_OPERATOR_NAMESPACE = 'hdh-system';
/** The image of this very version, as the chart and the manifests tag it (in-process default only). */
export const DEFAULT_IMAGE = `hdh-operator:${OPERATOR_VERSION}`;
const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

function parseBool(v: boolean | string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new Error(`--leader-elect: expected true or false, got "${v}"`);
}

/** The lease timings of the --leader-elect-* flags, in ms; throws with the flag to fix. */
export function leaderElectionTimings(opts: RunOptions): {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
} {
  const flag = (name: string, v: string | undefined, dflt: number) => {
    if (v === undefined) return dflt;
    try {
      return parseDuration(v);
    } catch (e) {
      throw new Error(`--leader-elect-${name}: ${describeError(e)}`);
    }
  };
  const t = {
    leaseDurationMs: flag('lease-duration', opts.leaderElectLeaseDuration, 15_000),
    renewDeadlineMs: flag('renew-deadline', opts.leaderElectRenewDeadline, 10_000),
    retryPeriodMs: flag('retry-period', opts.leaderElectRetryPeriod, 2_000),
  };
  const problem = leaderElectionTimingProblem(t.leaseDurationMs, t.renewDeadlineMs, t.retryPeriodMs);
  if (problem) throw new Error(`--leader-elect-lease-duration, -renew-deadline, -retry-period: ${problem}`);
  return t;
}

/** --report-discovery-interval in ms (undefined: the controller's default); throws naming the flag. */
function reportDiscoveryInterval(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  try {
    const ms = parseDuration(v);
    if (ms < 1000) throw new Error('must be at least 1s');
    return ms;
  } catch (e) {
    throw new Error(`--report-discovery-interval: ${describeError(e)}`);
  }
}

/** The operator's namespace: explicit, else the pod's (POD_NAMESPACE or its service account), else hdh-system. */
export function operatorNamespace(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  if (existsSync(SA_NAMESPACE_FILE)) return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  return DEFAULT_OPERATOR_NAMESPACE;
}

export interface OperatorHandle {
  manager: Manager;
  stop: () => Promise<void>;
  /** Resolves once caches are synced and, with leader election, leadership is acquired. */
  started: Promise<void>;
}

/**
 * Builds and starts the operator; returns at once so that a shutdown signal can stop it at any
 * point, even while caches are still syncing. Shared by `run` and `dev`.
 */
export function createOperator(
  opts: RunOptions,
  onFatal: (reason: string) => void,
  log: Logger = createLogger(opts.logLevel, opts.logFormat),
): OperatorHandle {
  // Checked before anything starts: a wrong list stops the operator with the flag's message.
  const pkcs11AllowedModules = parseAllowedModules(opts.pkcs11AllowedModules);
  const pkcs11AllowedTokens = parseAllowedTokens(opts.pkcs11AllowedTokens);
  const reportDiscoveryIntervalMs = reportDiscoveryInterval(opts.reportDiscoveryInterval);
  const kc = loadKubeConfig(opts.kubeconfig);
  const inCluster = !!process.env.KUBERNETES_SERVICE_HOST;
  const identity = `${hostname()}_${process.pid}`;
  const image = opts.image ?? DEFAULT_IMAGE;
  const leaderElect = parseBool(opts.leaderElect, inCluster);
  const metrics = new OperatorMetrics({ defaultMetrics: true });
  const manager = new Manager(kc, log, metrics, {
    metricsBindAddress: opts.metricsBindAddress,
    healthProbeBindAddress: opts.healthProbeBindAddress,
    concurrency: opts.concurrency,
    leaderElection: leaderElect
      ? {
          name: 'hdh-operator-leader',
          namespace: opts.leaderElectionNamespace ?? operatorNamespace(opts.operatorNamespace),
          identity,
          ...leaderElectionTimings(opts),
        }
      : undefined,
    // The identity makes each replica's requests recognisable in the API server's audit log.
    userAgent: `hdh-operator/${OPERATOR_VERSION} (${identity})`,
    informerDefaults: {
      resyncPeriodMs: 10 * 60_000,
      // Only the operator's own managers' entries are ever read (status ownership, and what an
      // apply would change): the others are dropped from the caches.
      managedFields: (e) => e.manager?.startsWith(FIELD_MANAGER) ?? false,
      ...opts.informer,
    },
  });
  registerOperator(manager, {
    namespace: opts.namespace,
    identity,
    operatorNamespace: operatorNamespace(opts.operatorNamespace),
    image,
    pkcs11AllowedModules,
    pkcs11AllowedTokens,
    reportDiscoveryIntervalMs,
  });
  log.info('starting hdh-operator', {
    server: kc.getCurrentCluster()?.server,
    namespace: opts.namespace ?? '(all)',
    leaderElect,
    concurrency: opts.concurrency,
    image,
    pkcs11AllowedModules,
    pkcs11AllowedTokens: pkcs11AllowedTokens.map((t) => `${t.namespace}/${t.label}`),
  });
  const started = manager.start(onFatal);
  // A module probe still running would hold the process up to its timeout.
  const stop = () => {
    stopModuleProbes();
    return manager.stop();
  };
  return { manager, stop, started };
}

/** createOperator, resolved once started. */
export async function startOperator(
  opts: RunOptions,
  onFatal: (reason: string) => void,
): Promise<OperatorHandle> {
  const handle = createOperator(opts, onFatal);
  await handle.started;
  return handle;
}

export async function runCommand(opts: RunOptions): Promise<number> {
  // Failures to start, and the shutdown, are log lines like any other (JSON by default).
  const log = createLogger(opts.logLevel, opts.logFormat);
  let handle: OperatorHandle;
  try {
    // Learnt before anything starts, so a datastore never gets an image nobody chose.
    const image = await operatorImage(opts.image, loadKubeConfig(opts.kubeconfig));
    handle = createOperator(
      { ...opts, image },
      (reason) => {
        log.error('stopping', { reason });
        void shutdown(1);
      },
      log,
    );
  } catch (e) {
    log.error('could not start', { error: describeError(e) });
    return 1;
  }
  let stopping: Promise<number> | undefined;
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((r) => (resolveExit = r));
  const shutdown = (code: number, signal?: string): Promise<number> => {
    if (!stopping) log.info('shutting down', signal ? { signal } : {});
    stopping ??= handle.stop().then(
      () => code,
      (e: unknown) => {
        log.error('shutdown failed', { error: describeError(e) });
        return 1;
      },
    );
    void stopping.then((exitCode) => {
      log.info('stopped', { exitCode });
      resolveExit(exitCode);
    });
    return stopping;
  };
  process.once('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.once('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  handle.started.catch((e: unknown) => {
    log.error('could not start', { error: describeError(e) });
    void shutdown(1);
  });
  return exit;
}
