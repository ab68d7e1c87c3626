// The datastore step: applies the rendered Service, PodDisruptionBudget and StatefulSet with
// server-side apply, skipping what is unchanged since the last apply or already on the server as
// applied (AppliedCache: an operator at rest, or just restarted, makes no write), and keeps the StatefulSet's immutable fields (the claim template after
// growth) in step by an orphaning delete and a re-apply, which recreates no pod.
import {
  AppsV1Api,
  PolicyV1Api,
  type KubernetesObject,
  type V1PodDisruptionBudget,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../api/index.js';
import type { Writer } from '../../runtime/apply.js';
import type { AppliedCache } from '../../runtime/apply-cache.js';
import type { Cache } from '../../runtime/cache.js';
import type { ApiClients } from '../../runtime/client.js';
import { ignoreNotFound } from '../../runtime/errors.js';
import type { Informer } from '../../runtime/informer.js';
import type { Logger } from '../../runtime/logging.js';
import {
  immutableStatefulSetChanges,
  keepLegacyTemplateLabels,
  renderDatastore,
  type KeyDelivery,
} from '../../storage/datastore.js';

export interface DatastoreStepDeps {
  clients: ApiClients;
  writer: Writer;
  applied: AppliedCache;
  statefulSets: Informer<V1StatefulSet>;
  podDisruptionBudgets: Informer<V1PodDisruptionBudget>;
  /** The hubs' Services as watched: an unchanged one is not applied again after a restart. */
  services?: Cache<KubernetesObject>;
  log: Logger;
}

export type DatastoreOutcome =
  | { ok: true; live: V1StatefulSet | undefined; requeueAfterMs?: number }
  | { ok: false; reason: string; message: string };

/** While an orphaning delete of the StatefulSet completes (the garbage collector releases pods). */
const RECREATE_POLL_MS = 1000;

/** The AppliedCache key of an object: also what the watch handlers of operator.ts compute. */
export function appliedKey(obj: KubernetesObject): string {
  return `${obj.kind}/${obj.metadata?.namespace}/${obj.metadata?.name}`;
}

export class DatastoreStep {
  private readonly apps: AppsV1Api;
  private readonly policy: PolicyV1Api;
  /**
   * StatefulSets deleted (orphaning) to be recreated, by namespace/name, until the recreation is
   * applied: their template labels must survive it, or the running pods would be rolled.
   */
  private readonly recreating = new Map<string, V1StatefulSet>();

  constructor(private readonly d: DatastoreStepDeps) {
    this.apps = d.clients.make(AppsV1Api);
    this.policy = d.clients.make(PolicyV1Api);
  }

  /** The live StatefulSet of the hub, as last seen by the watch. */
  live(hub: HealthDataHub): V1StatefulSet | undefined {
    return this.d.statefulSets.get(`${hub.metadata.namespace}/${hub.metadata.name}`);
  }

  async apply(
    hub: HealthDataHub,
    policy: SovereigntyPolicy,
    keyDelivery?: KeyDelivery,
  ): Promise<DatastoreOutcome> {
    const render = renderDatastore(hub, policy.spec, keyDelivery ? { keyDelivery } : {});
    if (!render.ok) return render;
    const { service, podDisruptionBudget } = render.objects;
    const key = `${hub.metadata.namespace}/${hub.metadata.name}`;
    const live = this.live(hub);
    // A StatefulSet of an earlier version keeps its template labels: no rollout, no refusal.
    const statefulSet = keepLegacyTemplateLabels(
      live ?? this.recreating.get(key),
      render.objects.statefulSet,
    );
    await this.applyCached(service);
    if (podDisruptionBudget) await this.applyCached(podDisruptionBudget);
    for (const gone of render.absent) {
      // Only the budget is ever absent (one replica); delete it when the watch shows one.
      if (gone.kind !== 'PodDisruptionBudget') continue;
      if (!this.d.podDisruptionBudgets.get(`${gone.namespace}/${gone.name}`)) continue;
      this.d.applied.forget(appliedKey({ kind: gone.kind, metadata: gone }));
      await this.policy
        .deleteNamespacedPodDisruptionBudget({ name: gone.name, namespace: gone.namespace })
        .catch(ignoreNotFound);
    }

    if (live?.metadata?.deletionTimestamp) {
      // Our orphaning delete is still being carried out: apply once it is gone.
      return { ok: true, live, requeueAfterMs: RECREATE_POLL_MS };
    }
    const immutable = live ? immutableStatefulSetChanges(live, statefulSet) : [];
    if (live && immutable.length) {
      this.d.log.info('recreating the datastore StatefulSet without its pods', {
        hub: `${hub.metadata.namespace}/${hub.metadata.name}`,
        fields: immutable.join(', '),
      });
      this.d.applied.forget(appliedKey(statefulSet));
      this.recreating.set(key, live);
      // Orphan: the pods keep running and the next StatefulSet (same selector and template)
      // adopts them; claims have no owner and are untouched. The UID precondition makes sure the
      // StatefulSet deleted is the one compared.
      await this.apps
        .deleteNamespacedStatefulSet({
          name: statefulSet.metadata!.name!,
          namespace: statefulSet.metadata!.namespace!,
          body: { propagationPolicy: 'Orphan', preconditions: { uid: live.metadata!.uid! } },
        })
        .catch(ignoreNotFound);
      return { ok: true, live, requeueAfterMs: RECREATE_POLL_MS };
    }
    await this.applyCached(statefulSet);
    this.recreating.delete(key);
    return { ok: true, live };
  }

  private async applyCached(obj: KubernetesObject): Promise<void> {
    const key = appliedKey(obj);
    if (!this.d.applied.needsApply(key, obj, this.liveOf(obj))) return;
    const result = await this.d.writer.apply(obj);
    this.d.applied.remember(key, obj, result.metadata);
  }

  /** The object as watched, where a cache of its kind is at hand. */
  private liveOf(obj: KubernetesObject): KubernetesObject | undefined {
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    if (obj.kind === 'StatefulSet') return this.d.statefulSets.get(key);
    if (obj.kind === 'PodDisruptionBudget') return this.d.podDisruptionBudgets.get(key);
    if (obj.kind === 'Service') return this.d.services?.get(key);
    return undefined;
  }
}
