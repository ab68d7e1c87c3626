// The storage steps of the hub reconciler, around the pure building blocks of src/storage/:
// before the datastore, the class check and the adoption of retained claims; after it, growth
// and the volume audit. Nothing here deletes a claim (only a confirmed destruction does, in
// deletion.ts), and every claim write is test-guarded.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { Reason, type HealthDataHub, type SovereigntyPolicy } from '../../api/index.js';
import type { NodeFacts } from '../../placement/compliance.js';
import { BY_NAMESPACE } from '../../runtime/cache.js';
import { statusCode } from '../../runtime/errors.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Informer } from '../../runtime/informer.js';
import {
  auditVolumes,
  checkStorageClass,
  legacyLabelRemovals,
  planAdoption,
  planGrowth,
  type AdoptionPlan,
  type GrowthPlan,
  type StorageClassVerdict,
  type StorageMetrics,
  type VolumeAudit,
} from '../../storage/index.js';
import type { ClaimWriter } from './claim-writes.js';

export interface StorageStepDeps {
  claims: Informer<V1PersistentVolumeClaim>;
  volumes: Informer<V1PersistentVolume>;
  storageClasses: Informer<V1StorageClass>;
  writes: ClaimWriter;
  events: EventRecorder;
  metrics: StorageMetrics;
}

/** A guarded claim write refused because the claim changed since it was read: look again soon. */
const CHANGED_MEANWHILE_MS = 1000;

export class StorageStep {
  constructor(private readonly d: StorageStepDeps) {}

  storageClass(hub: HealthDataHub): V1StorageClass | undefined {
    return this.d.storageClasses.get(hub.spec.storage.storageClassName);
  }

  /** The class check: nothing of the hub is created unless it passes. */
  checkClass(hub: HealthDataHub, policy: SovereigntyPolicy, nodes: ReadonlyMap<string, NodeFacts>) {
    return checkStorageClass({ hub, policy, storageClass: this.storageClass(hub), nodes });
  }

  /** Claims of the hub's namespace, from the cache (the hub's are picked out by name downstream). */
  claimsOf(hub: HealthDataHub): V1PersistentVolumeClaim[] {
    return this.d.claims.byIndex(BY_NAMESPACE, hub.metadata.namespace!);
  }

  /**
   * Adopts the claims retained from a deleted hub of the same name. The plan's conflicts, if any,
   * keep the datastore from being created (it would mount them by name); the caller reports them.
   */
  async adopt(hub: HealthDataHub): Promise<{ plan: AdoptionPlan; requeueAfterMs?: number }> {
    const plan = planAdoption(hub, this.claimsOf(hub));
    if (plan.conflicts.length) return { plan };
    let requeueAfterMs: number | undefined;
    for (const a of plan.adopt) {
      if (!(await this.guarded(() => this.d.writes.patch(hub.metadata.namespace!, a.claim, a.patch)))) {
        requeueAfterMs = CHANGED_MEANWHILE_MS;
        continue;
      }
      this.d.metrics.claimOperations.inc({ op: 'adopt' });
    }
    if (plan.event) await this.d.events.record(hub, plan.event.type, plan.event.reason, plan.event.note);
    return requeueAfterMs === undefined ? { plan } : { plan, requeueAfterMs };
  }

  /**
   * Raises every claim below spec.storage.size (the StatefulSet never resizes existing claims).
   * With a class that cannot expand, nothing is patched and the plan says which claims are blocked.
   */
  async grow(hub: HealthDataHub): Promise<{ plan: GrowthPlan; requeueAfterMs?: number }> {
    const plan = planGrowth(hub, this.claimsOf(hub), this.storageClass(hub));
    const grown: string[] = [];
    let requeueAfterMs: number | undefined;
    for (const g of plan.grow) {
      if (!(await this.guarded(() => this.d.writes.patch(hub.metadata.namespace!, g.claim, g.patch)))) {
        requeueAfterMs = CHANGED_MEANWHILE_MS;
        continue;
      }
      this.d.metrics.claimOperations.inc({ op: 'expand' });
      grown.push(`${g.claim} (${g.from} -> ${g.to})`);
    }
    if (grown.length) {
      await this.d.events.record(
        hub,
        'Normal',
        Reason.VolumesExpanded,
        `expanded claims ${grown.join(', ')} to spec.storage.size; the volumes follow as the driver resizes them`,
      );
    }
    return requeueAfterMs === undefined ? { plan } : { plan, requeueAfterMs };
  }

  /**
   * Removes the instance label earlier versions put on the hub's claims (LEGACY_INSTANCE_LABEL):
   * claims have no owner, so Argo CD's label tracking would count them as an Application's.
   */
  async dropLegacyLabels(hub: HealthDataHub): Promise<{ requeueAfterMs?: number }> {
    let requeueAfterMs: number | undefined;
    for (const r of legacyLabelRemovals(hub, this.claimsOf(hub))) {
      if (!(await this.guarded(() => this.d.writes.patch(hub.metadata.namespace!, r.claim, r.patch)))) {
        requeueAfterMs = CHANGED_MEANWHILE_MS;
      }
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /** Where the hub's bound volumes are (read-only), with hdh_volume_violations kept current. */
  audit(hub: HealthDataHub, policy: SovereigntyPolicy, nodes: ReadonlyMap<string, NodeFacts>): VolumeAudit {
    // Looked up by name in the cache (volumes are cluster-scoped: keyed by name), not copied.
    const volumes = { get: (name: string) => this.d.volumes.get(name) };
    const audit = auditVolumes({ hub, policy: policy.spec, claims: this.claimsOf(hub), volumes, nodes });
    this.d.metrics.volumeViolations.set(
      { namespace: hub.metadata.namespace!, hub: hub.metadata.name! },
      audit.violations.length,
    );
    return audit;
  }

  forget(namespace: string, hub: string): void {
    this.d.metrics.volumeViolations.remove({ namespace, hub });
  }

  /** Runs a test-guarded write; false when the API server refused it because the claim changed. */
  private async guarded(write: () => Promise<void>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (e) {
      // 422: a `test` operation failed; 404: the claim is gone. Both: the cache was behind.
      if (statusCode(e) === 422 || statusCode(e) === 404) return false;
      throw e;
    }
  }
}

export type { StorageClassVerdict };
