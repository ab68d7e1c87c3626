// An in-memory fake of what the controllers read and write, for unit tests: informer caches that
// are also event sources, the /status subresource kept per field manager as server-side apply
// keeps it, finalizer patches, Events, pod removals and namespace labels. Each part does what the
// API server does with the request, or less, never more, and records the request.
import {
  ApiException,
  type CoreV1ApiCreateNamespacedPodEvictionRequest,
  type CoreV1ApiDeleteNamespacedPodRequest,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Eviction,
  type V1Namespace,
  type V1Node,
  type V1PersistentVolumeClaim,
  type V1Pod,
} from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import {
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../src/api/index.js';
import type { NamespaceLabels } from '../../src/controllers/placement/reconciler.js';
import type { HistoryConfigMapApi } from '../../src/hub/history-recorder.js';
import { podIndexers } from '../../src/placement/pod-index.js';
import type { PodRemovalApi } from '../../src/placement/evictor.js';
import type { Labels } from '../../src/policy/eligibility.js';
import type { CustomResourceRef, StatusWriter, Writer } from '../../src/runtime/apply.js';
import { IndexedStore, objectKey, type Cache, type IndexFunc } from '../../src/runtime/cache.js';
import type { EventSink, EventType } from '../../src/runtime/events.js';
import { addFinalizerPatch, removeFinalizerPatch, type JsonPatchOp } from '../../src/runtime/finalizers.js';
import type { InformerEvent, InformerHandler } from '../../src/runtime/informer.js';
import type { EventSource } from '../../src/runtime/watches.js';

/** An error as the API client throws it: the HTTP code and a Status body. */
export function apiError(
  code: number,
  message: string,
  causes: { reason?: string; message: string }[] = [],
): ApiException<string> {
  const body = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code, details: { causes } };
  return new ApiException(code, message, JSON.stringify(body), {});
}

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/**
 * An informer's cache that tests fill by hand: `put` and `remove` hand add, update and delete
 * to the handlers after the indexes are up to date, as an informer does; `resync` re-delivers
 * every object.
 */
export class FakeCache<T extends KubernetesObject> extends IndexedStore<T> implements EventSource<T> {
  private readonly handlers: InformerHandler<T>[] = [];

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    super(indexers);
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  override put(obj: T): T | undefined {
    const old = super.put(obj);
    this.emit(old ? 'update' : 'add', obj, old);
    return old;
  }

  override remove(key: string): T | undefined {
    const old = super.remove(key);
    if (old) this.emit('delete', old);
    return old;
  }

  resync(): void {
    for (const obj of this.list()) this.emit('resync', obj);
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers) h(event, obj, old);
  }
}

/** Every write the resource version of the object moves, as the API server's does. */
function nextVersion(obj: KubernetesObject): string {
  return String(Number(obj.metadata?.resourceVersion ?? '0') + 1);
}

export interface StatusWrite {
  manager: string;
  kind: string;
  /** `namespace/name`. */
  key: string;
  status: Record<string, unknown>;
}

export interface FinalizerPatch {
  key: string;
  patch: JsonPatchOp[];
}

type Status = Record<string, unknown> & { conditions?: { type: string }[] };

/**
 * The /status subresource of the custom resources, under server-side apply with force: each field
 * manager owns what it applied (each condition by type, each other top-level field of status
 * whole); a field a manager stops sending goes once no other manager owns it; a field applied
 * with another value is taken from the managers that owned it. Records every request.
 */
export class FakeStatusApi {
  readonly writes: StatusWrite[] = [];
  readonly finalizerPatches: FinalizerPatch[] = [];
  /** By object (plural/key/uid): field → managers. */
  private readonly owners = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly caches: Readonly<Record<string, FakeCache<KubernetesObject>>>) {}

  /** The writer a controller is given, applying with its own field manager. */
  writer(manager: string): StatusWriter & Pick<Writer, 'addFinalizer' | 'removeFinalizer'> {
    return {
      applyStatus: (ref, name, namespace, status) => this.applyStatus(manager, ref, name, namespace, status),
      addFinalizer: (ref, obj, finalizer) => this.jsonPatch(ref, obj, addFinalizerPatch(obj, finalizer)),
      removeFinalizer: (ref, obj, finalizer) =>
        this.jsonPatch(ref, obj, removeFinalizerPatch(obj, finalizer)),
    };
  }

  /** The writes of one field manager. */
  writesOf(manager: string): StatusWrite[] {
    return this.writes.filter((w) => w.manager === manager);
  }

  /** Who owns which field of an object's status (`conditions[Ready]`, `placement`). */
  ownersOf(plural: string, obj: KubernetesObject): Record<string, string[]> {
    const owned = this.owners.get(this.ownerKey(plural, obj)) ?? new Map<string, Set<string>>();
    return Object.fromEntries([...owned].map(([f, m]) => [f, [...m].sort()]));
  }

  private ownerKey(plural: string, obj: KubernetesObject): string {
    return `${plural}/${objectKey(obj)}/${obj.metadata?.uid ?? ''}`;
  }

  private cache(plural: string): FakeCache<KubernetesObject> {
    const cache = this.caches[plural];
    if (!cache) throw new Error(`the fake cluster serves no ${plural}`);
    return cache;
  }

  private applyStatus(
    manager: string,
    ref: { plural: string; kind: string },
    name: string,
    namespace: string | undefined,
    status: unknown,
  ): Promise<string | undefined> {
    const key = namespace ? `${namespace}/${name}` : name;
    const sent = clone(status) as Status;
    this.writes.push({ manager, kind: ref.kind, key, status: sent });
    const cache = this.cache(ref.plural);
    const obj = cache.get(key) as (KubernetesObject & { status?: Status }) | undefined;
    if (!obj) return Promise.reject(apiError(404, `${ref.plural} "${name}" not found`));

    const ownerKey = this.ownerKey(ref.plural, obj);
    const before = this.owners.get(ownerKey) ?? new Map<string, Set<string>>();
    const owned = new Map([...before].map(([f, m]) => [f, new Set(m)]));
    const current = clone(obj.status ?? {});
    const fields = new Map<string, unknown>();
    for (const [field, value] of Object.entries(sent)) {
      if (field !== 'conditions' && value !== undefined) fields.set(field, value);
    }
    for (const c of sent.conditions ?? []) fields.set(`conditions[${c.type}]`, c);

    const read = (field: string): unknown => {
      const type = /^conditions\[(.*)\]$/.exec(field)?.[1];
      return type === undefined ? current[field] : current.conditions?.find((c) => c.type === type);
    };
    const write = (field: string, value: unknown): void => {
      const type = /^conditions\[(.*)\]$/.exec(field)?.[1];
      if (type === undefined) {
        if (value === undefined) delete current[field];
        else current[field] = value;
        return;
      }
      const list = current.conditions ?? [];
      const at = list.findIndex((c) => c.type === type);
      if (value === undefined) list.splice(at, 1);
      else if (at >= 0) list[at] = value as { type: string };
      else list.push(value as { type: string });
      current.conditions = list;
    };

    // What this manager no longer sends is released, and goes when nobody else owns it.
    for (const [field, managers] of owned) {
      if (!managers.has(manager) || fields.has(field)) continue;
      managers.delete(manager);
      if (managers.size === 0) {
        owned.delete(field);
        write(field, undefined);
      }
    }
    for (const [field, value] of fields) {
      const managers = owned.get(field) ?? new Set<string>();
      // force: a field applied with another value changes hands.
      if (!isDeepStrictEqual(read(field), value)) managers.clear();
      managers.add(manager);
      owned.set(field, managers);
      write(field, value);
    }
    if (current.conditions?.length === 0) delete current.conditions;
    const snapshot = (o: Map<string, Set<string>>) =>
      Object.fromEntries([...o].map(([f, m]) => [f, [...m].sort()]));
    this.owners.set(ownerKey, owned);
    // A request that changes nothing (not even who owns what) is not a write: no new version.
    if (
      isDeepStrictEqual(current, clone(obj.status ?? {})) &&
      isDeepStrictEqual(snapshot(before), snapshot(owned))
    ) {
      return Promise.resolve(obj.metadata?.resourceVersion);
    }
    // metadata.managedFields as the API server keeps it: one Apply entry per manager of status.
    const managers = [...new Set([...owned.values()].flatMap((m) => [...m]))].sort();
    const managedFields = [
      ...(obj.metadata?.managedFields ?? []).filter((f) => f.subresource !== 'status'),
      ...managers.map((m) => ({ manager: m, operation: 'Apply', subresource: 'status' })),
    ];
    const next: KubernetesObject & { status?: Status } = {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: nextVersion(obj), managedFields },
      status: current,
    };
    cache.put(next);
    return Promise.resolve(next.metadata?.resourceVersion);
  }

  /** A JSON patch of metadata: its `test` operations refuse it (422) when the object changed. */
  private jsonPatch(
    ref: CustomResourceRef,
    obj: KubernetesObject,
    patch: JsonPatchOp[] | undefined,
  ): Promise<boolean> {
    if (!patch) return Promise.resolve(false);
    const cache = this.cache(ref.plural);
    const key = objectKey(obj);
    this.finalizerPatches.push({ key, patch: clone(patch) });
    const stored = cache.get(key);
    if (!stored) return Promise.reject(apiError(404, `${ref.plural} "${obj.metadata?.name}" not found`));
    const doc = clone(stored) as unknown as Record<string, unknown>;
    for (const op of patch) {
      const path = op.path.split('/').slice(1);
      const last = path.pop()!;
      let parent: Record<string, unknown> | unknown[] = doc;
      for (const p of path) parent = (parent as Record<string, unknown>)[p] as Record<string, unknown>;
      const at = (parent as Record<string, unknown> | undefined)?.[last];
      if (op.op === 'test') {
        if (!isDeepStrictEqual(at, op.value)) {
          return Promise.reject(apiError(422, `the server rejected our request: test failed at ${op.path}`));
        }
      } else if (op.op === 'add') {
        if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
        else parent[last] = op.value;
      } else if (Array.isArray(parent)) {
        parent.splice(Number(last), 1);
      } else {
        delete parent[last];
      }
    }
    const next = doc as unknown as KubernetesObject;
    next.metadata = { ...next.metadata, resourceVersion: nextVersion(stored) };
    cache.put(next);
    return Promise.resolve(true);
  }
}

export interface RecordedEvent {
  /** `Kind namespace/name` of the object the Event is about. */
  regarding: string;
  type: EventType;
  reason: string;
  note: string;
}

/** Records every Event asked for (the real recorder folds repeats into a series; not this one). */
export class FakeEventSink implements EventSink {
  readonly events: RecordedEvent[] = [];

  record(regarding: KubernetesObject, type: EventType, reason: string, note: string): Promise<void> {
    const md = regarding.metadata ?? {};
    const name = md.namespace ? `${md.namespace}/${md.name}` : (md.name ?? '');
    this.events.push({ regarding: `${regarding.kind} ${name}`, type, reason, note });
    return Promise.resolve();
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }

  withReason(reason: string): RecordedEvent[] {
    return this.events.filter((e) => e.reason === reason);
  }
}

export interface PodRemovalRequest {
  action: 'evict' | 'delete';
  /** `namespace/name`. */
  pod: string;
  uid?: string;
  gracePeriodSeconds?: number;
  /** The HTTP code answered (200 when it was carried out). */
  code: number;
}

/**
 * The Eviction API and pod DELETE: a removal carried out marks the pod terminating in the pod
 * cache (deletionTimestamp, deletionGracePeriodSeconds), as the watch would show it. A pod that
 * is not there is 404, a UID precondition that fails 409; `refuseEvictions` makes evictions
 * answer 429, as a PodDisruptionBudget does (deletions are not stopped by budgets).
 */
export class FakePodRemovalApi implements PodRemovalApi {
  readonly requests: PodRemovalRequest[] = [];
  /** Set: evictions are refused with this budget's message. */
  private budget: string | undefined;
  /** Called before each request is answered (e.g. to abort a reconcile midway). */
  beforeRequest: ((r: { action: 'evict' | 'delete'; pod: string }) => void) | undefined;

  constructor(
    private readonly pods: FakeCache<V1Pod>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  refuseEvictions(budget = 'web'): void {
    this.budget = budget;
  }

  allowEvictions(): void {
    this.budget = undefined;
  }

  /** The pods removed (`namespace/name`), in order. */
  removed(): string[] {
    return this.requests.filter((r) => r.code === 200).map((r) => r.pod);
  }

  createNamespacedPodEviction(param: CoreV1ApiCreateNamespacedPodEvictionRequest): Promise<V1Eviction> {
    const options = param.body.deleteOptions;
    const refused = this.budget;
    return this.remove(
      'evict',
      param.namespace,
      param.name,
      options?.preconditions?.uid,
      options?.gracePeriodSeconds,
      () =>
        refused === undefined
          ? undefined
          : apiError(429, "Cannot evict pod as it would violate the pod's disruption budget.", [
              {
                reason: 'DisruptionBudget',
                message: `The disruption budget ${refused} needs 1 healthy pods and has 1 currently`,
              },
            ]),
    ).then(() => param.body);
  }

  deleteNamespacedPod(param: CoreV1ApiDeleteNamespacedPodRequest): Promise<V1Pod> {
    const grace = param.body?.gracePeriodSeconds ?? param.gracePeriodSeconds;
    return this.remove(
      'delete',
      param.namespace,
      param.name,
      param.body?.preconditions?.uid,
      grace,
      () => undefined,
    );
  }

  private remove(
    action: 'evict' | 'delete',
    namespace: string,
    name: string,
    uid: string | undefined,
    gracePeriodSeconds: number | undefined,
    refusal: () => ApiException<string> | undefined,
  ): Promise<V1Pod> {
    const key = `${namespace}/${name}`;
    this.beforeRequest?.({ action, pod: key });
    const answer = (code: number) =>
      this.requests.push({
        action,
        pod: key,
        ...(uid ? { uid } : {}),
        ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
        code,
      });
    const pod = this.pods.get(key);
    if (!pod) {
      answer(404);
      return Promise.reject(apiError(404, `pods "${name}" not found`));
    }
    if (uid && pod.metadata?.uid !== uid) {
      answer(409);
      return Promise.reject(apiError(409, `Precondition failed: UID in precondition: ${uid}`));
    }
    const refused = refusal();
    if (refused) {
      answer(refused.code);
      return Promise.reject(refused);
    }
    answer(200);
    const own = pod.spec?.terminationGracePeriodSeconds ?? 30;
    const pending = pod.metadata?.deletionGracePeriodSeconds;
    // A deletion can only shorten a pending grace period.
    const grace = Math.min(gracePeriodSeconds ?? own, pending ?? Infinity);
    const terminating: V1Pod = {
      ...pod,
      metadata: {
        ...pod.metadata,
        resourceVersion: nextVersion(pod),
        deletionTimestamp: new Date(this.now().getTime() + grace * 1000),
        deletionGracePeriodSeconds: grace,
      },
    };
    this.pods.put(terminating);
    return Promise.resolve(terminating);
  }
}

/**
 * The namespace labeller as the placement and hub controllers see it: `sync` is recorded (and can
 * be made to fail); the labels are what the namespace cache holds, which tests set.
 */
export class FakeNamespaceLabels implements NamespaceLabels {
  readonly synced: string[] = [];
  failure: Error | undefined;

  constructor(private readonly namespaces: Cache<V1Namespace>) {}

  sync(namespace: string): Promise<void> {
    this.synced.push(namespace);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve();
  }

  labelsOf(namespace: string): Labels {
    return this.namespaces.get(namespace)?.metadata?.labels ?? {};
  }

  get(namespace: string): V1Namespace | undefined {
    return this.namespaces.get(namespace);
  }
}

/** The caches and write seams of one fake cluster, wired together. */
export class FakeCluster {
  readonly hubs = new FakeCache<HealthDataHub>();
  readonly policies = new FakeCache<SovereigntyPolicy>();
  readonly nodes = new FakeCache<V1Node>();
  readonly pods = new FakeCache<V1Pod>(podIndexers);
  readonly namespaces = new FakeCache<V1Namespace>();
  readonly claims = new FakeCache<V1PersistentVolumeClaim>();
  readonly status = new FakeStatusApi({
    [HEALTH_DATA_HUB.plural]: this.hubs as unknown as FakeCache<KubernetesObject>,
    [SOVEREIGNTY_POLICY.plural]: this.policies as unknown as FakeCache<KubernetesObject>,
  });
  readonly events = new FakeEventSink();
  readonly podRemoval: FakePodRemovalApi;
  readonly namespaceLabels = new FakeNamespaceLabels(this.namespaces);

  constructor(now: () => Date = () => new Date()) {
    this.podRemoval = new FakePodRemovalApi(this.pods, now);
  }

  /** The Node as the API server has it (the fake has one truth: the node cache). */
  readonly liveNode = (name: string): Promise<V1Node | undefined> => Promise.resolve(this.nodes.get(name));
}

export interface ConfigMapRequest {
  verb: 'get' | 'create' | 'update';
  /** `namespace/name`. */
  key: string;
  /** The HTTP code answered. */
  code: number;
}

/**
 * ConfigMap reads, creates and replaces as the API server answers them: 404 for a missing one,
 * 409 for a create over an existing one or a replace with a stale resourceVersion. `failNext`
 * answers the next writes with other codes; `beforeWrite` runs before each write is answered
 * (to play another writer). Records every request.
 */
export class FakeConfigMapApi {
  readonly stored = new Map<string, V1ConfigMap>();
  readonly requests: ConfigMapRequest[] = [];
  beforeWrite: ((key: string) => void) | undefined;
  private readonly failures: number[] = [];
  private version = 0;

  failNext(...codes: number[]): void {
    this.failures.push(...codes);
  }

  /** Stores `cm` as another writer would (a new resourceVersion). */
  put(cm: V1ConfigMap): V1ConfigMap {
    const copy = clone(cm);
    copy.metadata = { ...copy.metadata, resourceVersion: String(++this.version) };
    this.stored.set(`${copy.metadata.namespace}/${copy.metadata.name}`, copy);
    return clone(copy);
  }

  api(): HistoryConfigMapApi {
    const answer = (verb: ConfigMapRequest['verb'], key: string, code: number) => {
      this.requests.push({ verb, key, code });
      return code === 200 ? undefined : apiError(code, `configmaps "${key}": HTTP ${code}`);
    };
    const injected = (verb: 'create' | 'update', key: string) => {
      const code = this.failures.shift();
      return code === undefined ? undefined : answer(verb, key, code);
    };
    return {
      readNamespacedConfigMap: ({ namespace, name }: { namespace: string; name: string }) => {
        const key = `${namespace}/${name}`;
        const cm = this.stored.get(key);
        if (!cm) return Promise.reject(answer('get', key, 404));
        answer('get', key, 200);
        return Promise.resolve(clone(cm));
      },
      createNamespacedConfigMap: ({ namespace, body }: { namespace: string; body: V1ConfigMap }) => {
        const key = `${namespace}/${body.metadata?.name}`;
        this.beforeWrite?.(key);
        const failed =
          injected('create', key) ?? (this.stored.has(key) ? answer('create', key, 409) : undefined);
        if (failed) return Promise.reject(failed);
        answer('create', key, 200);
        return Promise.resolve(this.put({ ...body, metadata: { ...body.metadata, namespace } }));
      },
      replaceNamespacedConfigMap: ({
        namespace,
        name,
        body,
      }: {
        namespace: string;
        name: string;
        body: V1ConfigMap;
      }) => {
        const key = `${namespace}/${name}`;
        this.beforeWrite?.(key);
        const stored = this.stored.get(key);
        const failed =
          injected('update', key) ??
          (!stored
            ? answer('update', key, 404)
            : stored.metadata?.resourceVersion !== body.metadata?.resourceVersion
              ? answer('update', key, 409)
              : undefined);
        if (failed) return Promise.reject(failed);
        answer('update', key, 200);
        return Promise.resolve(this.put(body));
      },
    } as unknown as HistoryConfigMapApi;
  }
}
