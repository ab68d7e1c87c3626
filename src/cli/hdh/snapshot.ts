// The one way the command line reads the cluster: list calls (and a few gets) through the
// fluent client, into the snapshot the pure views take — the what-if's ClusterSnapshot, and for
// status and report the ComplianceSnapshot (cluster UID, operator version, durable history).
// Reads only; what a read is refused is said with its verb and resource.
import type { V1ConfigMap, V1Namespace } from '@kubernetes/client-node';
import { kind } from 'kubernetes-fluent-client';
import { historyConfigMapName, HISTORY_LABEL, parseHistory, type HistoryEntry } from '../../api/history.js';
import { formatTime } from '../../api/conditions.js';
import type { ComplianceSnapshot, HistorySource } from '../../report/compliance/model.js';
import type { ClusterSnapshot } from '../../report/what-if.js';
import { OPERATOR_VERSION } from '../../version.js';
import { NotFoundError, UserError } from './errors.js';
import type { Reader } from './reads.js';

/** The namespace of every read of namespaced objects; undefined: all namespaces. */
export type Scope = string | undefined;

/** The label of the operator's Deployment (kustomize and Helm both set it). */
const OPERATOR_NAME_LABEL = 'app.kubernetes.io/name';
const OPERATOR_VERSION_LABEL = 'app.kubernetes.io/version';

/** The cluster as the what-if (and the rest) reads it. */
export async function readClusterSnapshot(reader: Reader, namespace: Scope): Promise<ClusterSnapshot> {
  // Nodes first: the one call every user of the tool can make, so an unreachable cluster is
  // told as such before anything else.
  const nodes = await reader.list(kind.Node, 'nodes');
  const policies = await reader.policies();
  const hubs = await reader.hubs(namespace);
  const pods = await reader.list(kind.Pod, 'pods', { namespace });
  const claims = await reader.list(kind.PersistentVolumeClaim, 'persistentvolumeclaims', { namespace });
  const volumes = await reader.list(kind.PersistentVolume, 'persistentvolumes');
  const storageClasses = await reader.list(kind.StorageClass, 'storageclasses.storage.k8s.io');
  const namespaces: V1Namespace[] = namespace
    ? [await reader.get(kind.Namespace, 'namespaces', namespace)]
    : await reader.list(kind.Namespace, 'namespaces');
  return { nodes, pods, claims, volumes, storageClasses, namespaces, hubs, policies };
}

export interface ComplianceReadOptions {
  operatorNamespace: string;
  /** Read the durable history (the report needs it; status does not). */
  history: boolean;
  /**
   * Whether the cluster's identity (kube-system's UID) must be read: a report names its cluster,
   * status only shows it when it can.
   */
  identity: 'required' | 'optional';
  /** The clock, for tests. */
  now?: () => Date;
}

/** The cluster as a compliance report (or status) reads it. */
export async function readComplianceSnapshot(
  reader: Reader,
  namespace: Scope,
  options: ComplianceReadOptions,
): Promise<ComplianceSnapshot> {
  const takenAt = formatTime((options.now ?? (() => new Date()))());
  const cluster = await readClusterSnapshot(reader, namespace);
  let clusterUID = '';
  try {
    const kubeSystem =
      cluster.namespaces.find((n) => n.metadata?.name === 'kube-system') ??
      (await reader.get(kind.Namespace, 'namespaces', 'kube-system'));
    clusterUID = kubeSystem.metadata?.uid ?? '';
    if (!clusterUID) throw new UserError('the kube-system namespace has no UID to name the cluster by');
  } catch (e) {
    if (options.identity === 'required') throw e;
  }
  const operator = await findOperator(reader, options.operatorNamespace);
  return {
    ...cluster,
    takenAt,
    clusterUID,
    operator: operatorVersion(operator),
    generator: { version: OPERATOR_VERSION },
    histories: options.history ? await readHistories(reader, namespace, options.operatorNamespace) : [],
    ...(options.history ? { historySource: historySource(operator, options.operatorNamespace) } : {}),
  };
}

/** The operator's Deployments in its namespace, or why they could not be listed. */
export interface OperatorLookup {
  namespace: string;
  /** namespace/name of each Deployment labelled as the operator, sorted; absent when not listed. */
  names?: string[];
  /** Their version labels, each once, sorted. */
  versions?: string[];
  /** Why the Deployments could not be listed. */
  refused?: string;
}

const OPERATOR_SELECTOR = `${OPERATOR_NAME_LABEL}=hdh-operator`;

/** Looks for the operator's Deployment: read once, for its version and to place the history. */
export async function findOperator(reader: Reader, operatorNamespace: string): Promise<OperatorLookup> {
  let deployments;
  try {
    deployments = await reader.list(kind.Deployment, 'deployments.apps', {
      namespace: operatorNamespace,
      labels: { [OPERATOR_NAME_LABEL]: 'hdh-operator' },
    });
  } catch (e) {
    return { namespace: operatorNamespace, refused: e instanceof Error ? e.message : String(e) };
  }
  const versions = deployments
    .map((d) => d.metadata?.labels?.[OPERATOR_VERSION_LABEL])
    .filter((v): v is string => !!v);
  return {
    namespace: operatorNamespace,
    names: deployments.map((d) => `${operatorNamespace}/${d.metadata?.name}`).sort(),
    versions: [...new Set(versions)].sort(),
  };
}

/**
 * The operator's version: the version label of its Deployment. Informative, so a refusal or an
 * absence is said in `source` rather than failing the report.
 */
export function operatorVersion(found: OperatorLookup): ComplianceSnapshot['operator'] {
  const { namespace, names, versions = [], refused } = found;
  if (refused !== undefined || !names) return { source: `not read: ${refused}` };
  if (names.length === 0) {
    return { source: `no Deployment labelled ${OPERATOR_SELECTOR} in namespace ${namespace}` };
  }
  if (versions.length === 1) {
    return {
      version: versions[0],
      source: `label ${OPERATOR_VERSION_LABEL} of Deployment ${names.join(', ')}`,
    };
  }
  if (versions.length > 1) {
    return { source: `Deployments ${names.join(', ')} carry different versions: ${versions.join(', ')}` };
  }
  return { source: `Deployment ${names.join(', ')} has no ${OPERATOR_VERSION_LABEL} label` };
}

/**
 * Where the history was read. It is read from the namespace the command was told (the
 * operator's, by default hdh-system), whether or not the operator runs there: an operator run
 * outside the cluster keeps its record there too. When no operator Deployment is found there, the
 * report says so, since a wrong namespace would show an empty history, which reads as a quiet one.
 */
export function historySource(found: OperatorLookup, operatorNamespace: string): HistorySource {
  const read = `ConfigMaps ${historyConfigMapName('<namespace>')} of namespace ${operatorNamespace}`;
  if (found.names?.length) {
    return {
      namespace: operatorNamespace,
      operatorFound: true,
      source: `${read}, where the operator runs (Deployment ${found.names.join(', ')})`,
    };
  }
  const where =
    found.refused !== undefined
      ? `where the operator could not be looked for (${found.refused})`
      : `where no Deployment labelled ${OPERATOR_SELECTOR} was found`;
  return {
    namespace: operatorNamespace,
    operatorFound: false,
    source:
      `${read}, ${where}: if the operator runs in another namespace, this is not its record ` +
      '(give --operator-namespace); an operator run outside the cluster keeps it here',
  };
}

/**
 * The durable history of the namespaces in scope, from the operator's namespace: one ConfigMap
 * per namespace. A ConfigMap whose label and name disagree is not the operator's record and is
 * left out. A refusal fails: a report must not silently leave its history out.
 */
export async function readHistories(
  reader: Reader,
  namespace: Scope,
  operatorNamespace: string,
): Promise<{ namespace: string; entries: HistoryEntry[] }[]> {
  if (namespace) {
    const name = historyConfigMapName(namespace);
    let cm: V1ConfigMap | undefined;
    try {
      cm = await reader.get(kind.ConfigMap, 'configmaps', name, operatorNamespace);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    return [{ namespace, entries: cm && namespaceOfHistory(cm) === namespace ? parseHistory(cm) : [] }];
  }
  const maps = await reader.list(kind.ConfigMap, 'configmaps', {
    namespace: operatorNamespace,
    labels: { [HISTORY_LABEL]: '' },
  });
  return maps
    .map((cm) => ({ cm, of: namespaceOfHistory(cm) }))
    .filter((x): x is { cm: V1ConfigMap; of: string } => x.of !== undefined)
    .map(({ cm, of }) => ({ namespace: of, entries: parseHistory(cm) }))
    .sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
}

/** The namespace a history ConfigMap is of, when its label and its name agree. */
function namespaceOfHistory(cm: V1ConfigMap): string | undefined {
  const of = cm.metadata?.labels?.[HISTORY_LABEL];
  return of && cm.metadata?.name === historyConfigMapName(of) ? of : undefined;
}
