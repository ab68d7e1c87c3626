// The hub's datastore as Kubernetes objects, rendered from the hub and its policy by pure
// functions: a StatefulSet (one claim per replica), the headless Service that names its pods and,
// with more than one replica, a PodDisruptionBudget. The reconciler applies them as they are.
import type {
  V1Container,
  V1EnvVar,
  V1LabelSelector,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1Probe,
  V1SecurityContext,
  V1Service,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  HEALTH_DATA_HUB,
  LABEL_HUB,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  type EnvVar,
  type HealthDataHub,
  type ResourceRequirements,
  type SovereigntyPolicySpec,
} from '../api/index.js';
import { hubPlacementConstraints } from '../placement/constraints.js';
import { renderPodPlacement } from '../placement/render.js';
import { CLAIM_TEMPLATE } from './claims.js';
import {
  CONTAINER_NAME,
  DATA_MOUNT_PATH,
  DATASTORE_APP,
  DATASTORE_UID,
  DEFAULT_IMAGE,
  DEFAULT_PORT,
  DEFAULT_REPLICAS,
  PORT_NAME,
} from './datastore-constants.js';

export * from './datastore-constants.js';
export { datastoreReport, type DatastoreReport } from './datastore-report.js';
export { immutableStatefulSetChanges, keepLegacyTemplateLabels } from './datastore-updates.js';

const LABEL_NAME = 'app.kubernetes.io/name';
const LABEL_COMPONENT = 'app.kubernetes.io/component';
/** Volumes and mounts of the pod; names a key delivery must not reuse. */
const TMP_VOLUME = 'tmp';
const RUN_VOLUME = 'run';
const RESERVED_VOLUMES = [CLAIM_TEMPLATE, TMP_VOLUME, RUN_VOLUME];

/**
 * What the key work adds to the datastore pod to deliver the hub's data-encryption key as a
 * read-only file (src/keys/delivery.ts gives this shape): memory-backed volumes, the init
 * containers that fill them, their read-only mounts in the datastore container, and the service
 * account the pod runs as when the init container reads a key through the API. Pod annotations
 * (such as the active key version) roll the pods when they change. Every init container gets the
 * same restricted security context as the datastore.
 */
export interface KeyDelivery {
  volumes?: V1Volume[];
  initContainers?: V1Container[];
  datastoreMounts?: V1VolumeMount[];
  serviceAccountName?: string;
  podAnnotations?: Record<string, string>;
}

export interface DatastoreOptions {
  keyDelivery?: KeyDelivery;
}

export interface DatastoreObjects {
  statefulSet: V1StatefulSet;
  service: V1Service;
  /** Present with more than one replica. */
  podDisruptionBudget?: V1PodDisruptionBudget;
}

/** An object of the datastore that must not exist in the current shape (delete it if found). */
export interface AbsentObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export type DatastoreRender =
  | { ok: true; objects: DatastoreObjects; absent: AbsentObject[] }
  | { ok: false; reason: string; message: string };

/** Labels on every object of the hub's datastore and on its pods. */
export function datastoreLabels(hubName: string): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
    [LABEL_HUB]: hubName,
    [LABEL_NAME]: DATASTORE_APP,
    [LABEL_COMPONENT]: 'datastore',
  };
}

/**
 * The pods of the hub's datastore. It includes the hub label (so spreading counts the hub's
 * datastore pods and nothing else) and never changes: a StatefulSet's selector is immutable.
 */
export function datastoreSelector(hubName: string): V1LabelSelector {
  return { matchLabels: { [LABEL_HUB]: hubName, [LABEL_NAME]: DATASTORE_APP } };
}

/**
 * The datastore's objects for `hub` held to `policy`. Fails (RegionNotAllowed) when the hub's
 * placement cannot be rendered; nothing should be applied then. Deterministic: the same input
 * gives the same objects, so an unchanged hub costs no write (AppliedCache).
 */
export function renderDatastore(
  hub: HealthDataHub,
  policy: SovereigntyPolicySpec,
  options: DatastoreOptions = {},
): DatastoreRender {
  const name = hub.metadata.name!;
  const namespace = hub.metadata.namespace!;
  const selector = datastoreSelector(name);
  const placement = hubPlacementConstraints(policy, hub.spec.placement, selector);
  if (!placement.ok) return { ok: false, reason: placement.reason, message: placement.message };

  const datastore = hub.spec.datastore ?? {};
  const replicas = datastore.replicas ?? DEFAULT_REPLICAS;
  const port = datastore.port ?? DEFAULT_PORT;
  const keys = options.keyDelivery ?? {};
  checkKeyDelivery(keys);
  const labels = datastoreLabels(name);
  const metadata = { name, namespace, labels, ownerReferences: [ownerReference(hub)] };

  const podSpec = renderPodPlacement(
    podTemplateSpec(datastore.image ?? DEFAULT_IMAGE, port, datastore, keys),
    placement.constraints,
  );
  const statefulSet: V1StatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: structuredClone(metadata),
    spec: {
      replicas,
      serviceName: name,
      selector,
      // One replica at a time, in order: a datastore's first replica usually initialises the data.
      podManagementPolicy: 'OrderedReady',
      template: {
        metadata: {
          labels: { ...labels },
          annotations: {
            ...(keys.podAnnotations ?? {}),
            // kubectl logs/exec pick the datastore rather than an init container.
            'kubectl.kubernetes.io/default-container': CONTAINER_NAME,
          },
        },
        spec: podSpec,
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: CLAIM_TEMPLATE, labels: { ...labels } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: hub.spec.storage.storageClassName,
            resources: { requests: { storage: hub.spec.storage.size } },
          },
        },
      ],
      // Claims are never deleted by Kubernetes: not when the StatefulSet goes (the hub's
      // finalizer decides, section "Deletion" of docs/storage.md), not when it scales down
      // (scaling up again reuses them).
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
  };

  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: structuredClone(metadata),
    spec: {
      // Headless: gives each replica a stable DNS name (<hub>-<n>.<hub>) for the StatefulSet, and
      // clients the addresses of ready replicas.
      clusterIP: 'None',
      selector: { ...selector.matchLabels },
      ports: [{ name: PORT_NAME, port, targetPort: PORT_NAME, protocol: 'TCP' }],
    },
  };

  const absent: AbsentObject[] = [];
  let podDisruptionBudget: V1PodDisruptionBudget | undefined;
  if (replicas > 1) {
    podDisruptionBudget = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: structuredClone(metadata),
      spec: {
        selector: structuredClone(selector),
        maxUnavailable: 1,
        // An unready replica may always be evicted: it serves nothing, and the placement
        // remediation must be able to move a failing pod off a node outside the policy.
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    };
  } else {
    // With one replica a budget would block every drain; remove one left from a larger hub.
    absent.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name, namespace });
  }
  return {
    ok: true,
    objects: podDisruptionBudget ? { statefulSet, service, podDisruptionBudget } : { statefulSet, service },
    absent,
  };
}

function ownerReference(hub: HealthDataHub): V1OwnerReference {
  return {
    apiVersion: HEALTH_DATA_HUB.apiVersion,
    kind: HEALTH_DATA_HUB.kind,
    name: hub.metadata.name!,
    uid: hub.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The restricted Pod Security profile, for every container: no root, no privilege escalation, no
 * capabilities, the runtime's default seccomp profile, and a read-only root filesystem (the
 * datastore writes only to its volume, /tmp and /var/run, which are volumes).
 */
export function restrictedSecurityContext(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function podTemplateSpec(
  image: string,
  port: number,
  datastore: NonNullable<HealthDataHub['spec']['datastore']>,
  keys: KeyDelivery,
): V1PodSpec {
  const tcp = { tcpSocket: { port: PORT_NAME } };
  const probe = (p: V1Probe): V1Probe => ({ ...structuredClone(tcp), ...p });
  const container: V1Container = {
    name: CONTAINER_NAME,
    image,
    ports: [{ name: PORT_NAME, containerPort: port, protocol: 'TCP' }],
    securityContext: restrictedSecurityContext(),
    volumeMounts: [
      { name: CLAIM_TEMPLATE, mountPath: DATA_MOUNT_PATH },
      { name: TMP_VOLUME, mountPath: '/tmp' },
      { name: RUN_VOLUME, mountPath: '/var/run' },
      ...(keys.datastoreMounts ?? []).map((m) => structuredClone(m)),
    ],
    // A first start may initialise the data: liveness waits until the port answered once.
    startupProbe: probe({ periodSeconds: 10, failureThreshold: 60 }),
    readinessProbe: probe({ periodSeconds: 10, failureThreshold: 3 }),
    livenessProbe: probe({ periodSeconds: 20, failureThreshold: 6 }),
  };
  const env = (datastore.env ?? []).map(toEnvVar);
  if (env.length) container.env = env;
  const resources = toResources(datastore.resources);
  if (resources) container.resources = resources;

  const spec: V1PodSpec = {
    // The datastore has no business with the Kubernetes API, and service links would only add
    // environment variables it does not read.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: DATASTORE_UID,
      runAsGroup: DATASTORE_UID,
      fsGroup: DATASTORE_UID,
      // A large volume is only walked when its root does not already belong to the group.
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [container],
    volumes: [
      { name: TMP_VOLUME, emptyDir: {} },
      { name: RUN_VOLUME, emptyDir: {} },
      ...(keys.volumes ?? []).map((v) => structuredClone(v)),
    ],
  };
  if (keys.serviceAccountName) spec.serviceAccountName = keys.serviceAccountName;
  if (keys.initContainers?.length) {
    spec.initContainers = keys.initContainers.map((c) => ({
      ...structuredClone(c),
      securityContext: restrictedSecurityContext(),
    }));
  }
  return spec;
}

/** A key delivery must not shadow the datastore's own volumes; this is a programming error. */
function checkKeyDelivery(keys: KeyDelivery): void {
  for (const v of keys.volumes ?? []) {
    if (RESERVED_VOLUMES.includes(v.name)) throw new Error(`key delivery volume "${v.name}" is reserved`);
  }
  for (const m of keys.datastoreMounts ?? []) {
    if (RESERVED_VOLUMES.includes(m.name)) throw new Error(`key delivery mount "${m.name}" is reserved`);
    if (m.readOnly !== true) throw new Error(`key delivery mount "${m.name}" must be readOnly`);
  }
}

function toEnvVar(e: EnvVar): V1EnvVar {
  const out: V1EnvVar = { name: e.name };
  if (e.value !== undefined) out.value = e.value;
  if (e.valueFrom) out.valueFrom = structuredClone(e.valueFrom);
  return out;
}

function toResources(r: ResourceRequirements | undefined): V1Container['resources'] {
  const requests = quantities(r?.requests);
  const limits = quantities(r?.limits);
  if (!requests && !limits) return undefined;
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

function quantities(q: Record<string, number | string> | undefined): Record<string, string> | undefined {
  if (!q || Object.keys(q).length === 0) return undefined;
  return Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));
}
