// `hdh-operator what-if --policy FILE`: reads the cluster (list calls only) and the candidate
// policy, and prints what applying it would change. A report: it exits 0 whatever it finds, 1 when
// it could not tell (no cluster, no CRDs, a refusal, a bad policy file).
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  StorageV1Api,
  type V1Namespace,
} from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import {
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../api/index.js';
import { formatWhatIf } from '../report/what-if-format.js';
import { whatIf, type ClusterSnapshot } from '../report/what-if.js';
import { describeError, statusCode } from '../runtime/errors.js';

export interface WhatIfCommandOptions {
  policy: string;
  namespace?: string;
  allNamespaces?: boolean;
  output?: 'text' | 'json';
  kubeconfig?: string;
}

/** An error the user can act on: printed as it is, without a stack. */
export class WhatIfError extends Error {}

/** The candidate policy from a YAML or JSON file: one SovereigntyPolicy, or a WhatIfError. */
export function parsePolicy(text: string, file: string): SovereigntyPolicy {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  if (docs.length !== 1) {
    throw new WhatIfError(`${file}: expected one SovereigntyPolicy, found ${docs.length} YAML documents`);
  }
  const doc = docs[0]!;
  if (doc.errors.length) throw new WhatIfError(`${file}: not valid YAML: ${doc.errors[0]!.message}`);
  const o = doc.toJS() as Record<string, unknown> | null;
  const bad = (why: string) => new WhatIfError(`${file}: not a SovereigntyPolicy: ${why}`);
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad('not an object');
  if (o['apiVersion'] !== SOVEREIGNTY_POLICY.apiVersion) {
    throw bad(`apiVersion is ${JSON.stringify(o['apiVersion'])}, not ${SOVEREIGNTY_POLICY.apiVersion}`);
  }
  if (o['kind'] !== SOVEREIGNTY_POLICY.kind) {
    throw bad(`kind is ${JSON.stringify(o['kind'])}, not ${SOVEREIGNTY_POLICY.kind}`);
  }
  const name = (o['metadata'] as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string' || !name) throw bad('metadata.name is missing');
  const spec = o['spec'] as { regions?: unknown; enforcement?: unknown } | undefined;
  const regions = spec?.regions;
  if (!Array.isArray(regions) || regions.length === 0 || !regions.every((r) => typeof r === 'string' && r)) {
    throw bad('spec.regions must list at least one region');
  }
  if (spec!.enforcement !== undefined && spec!.enforcement !== 'Enforce' && spec!.enforcement !== 'Audit') {
    throw bad('spec.enforcement must be Enforce or Audit');
  }
  return o as unknown as SovereigntyPolicy;
}

/** What a failed read means, naming the verb and resource it was refused. */
export function explainReadError(
  e: unknown,
  verb: string,
  resource: string,
  namespace: string | undefined,
  server: string,
): WhatIfError {
  const where = namespace ? ` in namespace ${namespace}` : '';
  const code = statusCode(e);
  if (code === 401)
    return new WhatIfError(`unauthorized at ${server}: the kubeconfig's credentials were refused`);
  if (code === 403) {
    return new WhatIfError(`forbidden: cannot ${verb} ${resource}${where} (${describeError(e)})`);
  }
  if (code === 404 && resource.endsWith(`.${SOVEREIGNTY_POLICY.group}`)) {
    return new WhatIfError(
      `the CRDs are not installed: the API server at ${server} does not serve ${resource} ` +
        `(install them from the crds/ folder or the Helm chart)`,
    );
  }
  if (code !== undefined) return new WhatIfError(`cannot ${verb} ${resource}${where}: ${describeError(e)}`);
  return new WhatIfError(`no cluster reachable at ${server}: ${describeError(e)}`);
}

/** The cluster as the what-if reads it: read-only list calls (and a get of the namespace). */
export async function readSnapshot(kc: KubeConfig, namespace: string | undefined): Promise<ClusterSnapshot> {
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const server = kc.getCurrentCluster()?.server ?? '(no server in the kubeconfig)';
  const read = async <T>(verb: string, resource: string, ns: string | undefined, call: () => Promise<T>) => {
    try {
      return await call();
    } catch (e) {
      throw explainReadError(e, verb, resource, ns, server);
    }
  };
  const policyResource = `${SOVEREIGNTY_POLICY.plural}.${SOVEREIGNTY_POLICY.group}`;
  const hubResource = `${HEALTH_DATA_HUB.plural}.${HEALTH_DATA_HUB.group}`;
  // Nodes first: the one call every user of the tool can make, so an unreachable cluster is
  // told as such before anything else.
  const nodes = (await read('list', 'nodes', undefined, () => core.listNode())).items;
  const policies = (
    (await read('list', policyResource, undefined, () =>
      custom.listClusterCustomObject({ ...SOVEREIGNTY_POLICY }),
    )) as { items: SovereigntyPolicy[] }
  ).items;
  const hubs = (
    (await read('list', hubResource, namespace, () =>
      namespace
        ? custom.listNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace })
        : custom.listClusterCustomObject({ ...HEALTH_DATA_HUB }),
    )) as { items: HealthDataHub[] }
  ).items;
  const pods = (
    await read('list', 'pods', namespace, () =>
      namespace ? core.listNamespacedPod({ namespace }) : core.listPodForAllNamespaces(),
    )
  ).items;
  const claims = (
    await read('list', 'persistentvolumeclaims', namespace, () =>
      namespace
        ? core.listNamespacedPersistentVolumeClaim({ namespace })
        : core.listPersistentVolumeClaimForAllNamespaces(),
    )
  ).items;
  const volumes = (await read('list', 'persistentvolumes', undefined, () => core.listPersistentVolume()))
    .items;
  const storageClasses = (
    await read('list', 'storageclasses.storage.k8s.io', undefined, () => storage.listStorageClass())
  ).items;
  const namespaces: V1Namespace[] = namespace
    ? [
        await core.readNamespace({ name: namespace }).catch((e: unknown) => {
          if (statusCode(e) === 404) throw new WhatIfError(`namespace ${namespace} not found`);
          throw explainReadError(e, 'get', 'namespaces', undefined, server);
        }),
      ]
    : (await read('list', 'namespaces', undefined, () => core.listNamespace())).items;
  return { nodes, pods, claims, volumes, storageClasses, namespaces, hubs, policies };
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

export async function whatIfCommand(opts: WhatIfCommandOptions): Promise<number> {
  try {
    if (opts.namespace && opts.allNamespaces)
      throw new WhatIfError('give either -n NAMESPACE or -A, not both');
    let text: string;
    try {
      text = await readFile(opts.policy, 'utf8');
    } catch (e) {
      throw new WhatIfError(`cannot read ${opts.policy}: ${describeError(e)}`);
    }
    const candidate = parsePolicy(text, opts.policy);
    const kc = loadKubeConfig(opts.kubeconfig);
    // As kubectl: the context's namespace unless -n or -A says otherwise.
    const namespace = opts.allNamespaces
      ? undefined
      : opts.namespace || kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
    const snapshot = await readSnapshot(kc, namespace);
    const result = whatIf(snapshot, candidate, namespace ? { namespaces: [namespace] } : {});
    process.stdout.write(
      opts.output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatWhatIf(result),
    );
    return 0;
  } catch (e) {
    process.stderr.write(
      `hdh-operator what-if: ${e instanceof WhatIfError ? e.message : describeError(e)}\n`,
    );
    return 1;
  }
}
