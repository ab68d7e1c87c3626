import type { KubernetesObject } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { unchangedOnServer } from './unchanged-on-server.js';

/**
 * Remembers what was last applied per object, so an unchanged desired object costs no request
 * (an operator at rest makes no writes). Forget an entry when the live object may have drifted.
 * A process that has just started remembers nothing: it compares with the live object instead
 * (unchangedOnServer), so a restart with nothing changed makes no write either.
 */
export class AppliedCache {
  private readonly applied = new Map<string, { hash: string; live?: AppliedVersion }>();

  /** `fieldManager`: the manager the objects are applied as, whose ownership the live check reads. */
  constructor(private readonly fieldManager?: string) {}

  static hash(obj: unknown): string {
    return createHash('sha256').update(JSON.stringify(obj)).digest('hex');
  }

  /**
   * True when `desired` differs from what was last applied under `key` and, when the live object
   * is given (as cached by a watch), an apply would change it. One that would not is remembered
   * as applied, with no request.
   */
  needsApply(key: string, desired: unknown, live?: KubernetesObject): boolean {
    if (this.applied.get(key)?.hash === AppliedCache.hash(desired)) return false;
    if (!live || !this.fieldManager) return true;
    if (!unchangedOnServer(desired as KubernetesObject, live, this.fieldManager)) return true;
    this.remember(key, desired, live.metadata);
    return false;
  }

  /** Records `desired` as applied; `live` is the metadata the apply answered with. */
  remember(key: string, desired: unknown, live?: AppliedVersion): void {
    this.applied.set(key, {
      hash: AppliedCache.hash(desired),
      ...(live ? { live: { generation: live.generation, resourceVersion: live.resourceVersion } } : {}),
    });
  }

  /**
   * Drops the entry when the live object is gone or was changed by someone else: a new
   * generation, or for kinds without one (RBAC objects, service accounts) a new resourceVersion.
   */
  observe(key: string, live: AppliedVersion | undefined): boolean {
    const entry = this.applied.get(key);
    if (!entry) return false;
    const was = entry.live;
    const changed =
      was?.generation !== undefined
        ? live?.generation !== undefined && live.generation !== was.generation
        : was?.resourceVersion !== undefined && live?.resourceVersion !== was.resourceVersion;
    if (!live || changed) {
      this.applied.delete(key);
      return true;
    }
    return false;
  }

  forget(key: string): void {
    this.applied.delete(key);
  }
}

/** What identifies the version of a live object that was applied. */
export interface AppliedVersion {
  generation?: number | undefined;
  resourceVersion?: string | undefined;
}
