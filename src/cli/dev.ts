import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { FIELD_MANAGER, HEALTH_DATA_HUB, type HealthDataHub } from '../api/index.js';
import { installCrds } from '../api/install-crds.js';
import { clusterDown, clusterUp } from '../devcluster/cluster.js';
import { loadNodeSet } from '../devcluster/nodes.js';
import { packageRoot } from '../devcluster/paths.js';
import { DEV_STORAGE_CLASS, renderDevStorage } from '../devcluster/storage.js';
import { renderHubTable } from '../hub/table.js';
import { modulesAsNamed } from '../keys/pkcs11-modules.js';
import { Writer } from '../runtime/apply.js';
import { ApiClients } from '../runtime/client.js';
import { statusCode } from '../runtime/errors.js';
import { Informer } from '../runtime/informer.js';
import { createLogger } from '../runtime/logging.js';
import { DEFAULT_OPERATOR_NAMESPACE, startOperator } from './run.js';

/** Namespace the sample hubs are created in. */
export const SAMPLE_NAMESPACE = 'research';

export interface DevOptions {
  dir: string;
  logLevel: string;
}

/** The sample manifests of config/samples (kustomization excluded), namespaced ones placed in ns. */
export function loadSamples(dir: string, ns: string): KubernetesObject[] {
  return (
    readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
      .sort()
      .flatMap((f) =>
        parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as KubernetesObject),
      )
      .filter((o) => o && o.kind)
      // Policies first: hubs then find theirs on their first reconcile.
      .sort((a, b) => Number(a.kind === HEALTH_DATA_HUB.kind) - Number(b.kind === HEALTH_DATA_HUB.kind))
      .map((o) =>
        o.kind === HEALTH_DATA_HUB.kind ? { ...o, metadata: { ...o.metadata, namespace: ns } } : o,
      )
  );
}

/** The PKCS#11 modules the sample hubs name, and the files they resolve to. */
export function samplePkcs11Modules(samples: readonly KubernetesObject[]): string[] {
  const named = samples
    .filter((o) => o.kind === HEALTH_DATA_HUB.kind)
    .map((o) => (o as HealthDataHub).spec.encryption?.pkcs11?.module)
    .filter((m): m is string => !!m);
  return [...new Set(named.flatMap(modulesAsNamed))];
}

/** The PKCS#11 tokens the sample hubs name, as `<namespace>/<label>` for the namespace of each hub. */
export function samplePkcs11Tokens(samples: readonly KubernetesObject[]): string[] {
  const named = samples
    .filter((o) => o.kind === HEALTH_DATA_HUB.kind)
    .map((o) => o as HealthDataHub)
    .flatMap((h) => {
      const label = h.spec.encryption?.pkcs11?.tokenLabel;
      return label ? [`${h.metadata.namespace}/${label}`] : [];
    });
  return [...new Set(named)];
}

export async function devCommand(opts: DevOptions): Promise<number> {
  const say = (l: string) => process.stderr.write(`[dev] ${l}\n`);
  const root = packageRoot();
  let stopRequested = false;
  let resolveStop: () => void = () => {};
  const stopped = new Promise<void>((r) => (resolveStop = r));
  const onSignal = () => {
    if (!stopRequested) say('stopping (Ctrl-C)…');
    stopRequested = true;
    resolveStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let operator: { stop: () => Promise<void> } | undefined;
  let table: Informer<HealthDataHub> | undefined;
  let exitCode = 0;
  try {
    const state = await clusterUp({ dir: opts.dir, log: say });
    if (stopRequested) return 0;
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);

    say('installing CRDs from crds/');
    await installCrds(kc, join(root, 'crds'));
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of [SAMPLE_NAMESPACE, DEFAULT_OPERATOR_NAMESPACE]) {
      await core.createNamespace({ body: { metadata: { name } } }).catch((e: unknown) => {
        if (statusCode(e) !== 409) throw e;
      });
    }
    const writer = new Writer(new ApiClients(kc), FIELD_MANAGER);
    // Storage the samples can bind: an encrypted-attested class and local volumes on the
    // certified EU nodes (no CSI driver runs here).
    for (const obj of renderDevStorage(loadNodeSet())) await writer.apply(obj);
    say(`storage class ${DEV_STORAGE_CLASS} with local volumes on the certified EU nodes`);
    const samples = loadSamples(join(root, 'config', 'samples'), SAMPLE_NAMESPACE);
    for (const obj of samples) {
      await writer.apply(obj);
      say(
        `applied ${obj.kind} ${obj.metadata?.namespace ? obj.metadata.namespace + '/' : ''}${obj.metadata?.name}`,
      );
    }

    operator = await startOperator(
      {
        kubeconfig: state.kubeconfig,
        leaderElect: false,
        metricsBindAddress: '127.0.0.1:0',
        healthProbeBindAddress: '127.0.0.1:0',
        logLevel: opts.logLevel,
        logFormat: 'text',
        concurrency: 2,
        // Here the user is the platform team: the PKCS#11 modules and tokens the samples name are allowed.
        pkcs11AllowedModules: samplePkcs11Modules(samples),
        pkcs11AllowedTokens: samplePkcs11Tokens(samples),
      },
      (reason) => {
        say(reason);
        exitCode = 1;
        resolveStop();
      },
    );

    table = new Informer<HealthDataHub>(new ApiClients(kc), HEALTH_DATA_HUB, createLogger('warn', 'text'));
    let last = '';
    let timer: NodeJS.Timeout | undefined;
    table.on(() => {
      // Debounced: one table per burst of status updates, printed only when it changed.
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        const text = renderHubTable(table!.list(), new Date(), false);
        if (text !== last) {
          last = text;
          process.stdout.write(`\n${text}\n\n`);
        }
      }, 300);
    });
    table.start();
    say(
      `ready. kubectl: export KUBECONFIG=${state.kubeconfig}; kubectl get hdh -A   (Ctrl-C stops everything)`,
    );
    await stopped;
    if (timer) clearTimeout(timer);
  } catch (e) {
    say(`failed: ${e instanceof Error ? e.message : String(e)}`);
    exitCode = 1;
  } finally {
    table?.stop();
    await operator?.stop();
    await clusterDown(opts.dir, { log: say });
    say('stopped');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}
