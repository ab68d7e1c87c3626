import { createHash } from 'node:crypto';

/**
 * Remembers what was last applied per object, so an unchanged desired object costs no request
 * (an operator at rest makes no writes). Forget an entry when the live object may have drifted.
 */
export class AppliedCache {
  private readonly applied = new Map<string, { hash: string; generation?: number }>();

  static hash(obj: unknown): string {
    return createHash('sha256').update(JSON.stringify(obj)).digest('hex');
  }

  /** True when `desired` differs from what was last applied under `key`. */
  needsApply(key: string, desired: unknown): boolean {
    return this.applied.get(key)?.hash !== AppliedCache.hash(desired);
  }

  remember(key: string, desired: unknown, generation?: number): void {
    this.applied.set(key, { hash: AppliedCache.hash(desired), generation });
  }

  /** Drops the entry when the live object is gone or changed by someone else (a new generation). */
  observe(key: string, live: { generation?: number } | undefined): boolean {
    const entry = this.applied.get(key);
    if (!entry) return false;
    if (!live || (live.generation !== undefined && live.generation !== entry.generation)) {
      this.applied.delete(key);
      return true;
    }
    return false;
  }

  forget(key: string): void {
    this.applied.delete(key);
  }
}
