import { isDeepStrictEqual } from 'node:util';

/**
 * True when a status write would change nothing. Both sides go through JSON so that undefined
 * fields and key order do not force a write.
 */
export function statusUnchanged(current: unknown, desired: unknown): boolean {
  const norm = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  return isDeepStrictEqual(norm(current), norm(desired));
}

/**
 * What a controller last wrote to each object's status, until its cache has caught up with that
 * write. A reconcile that runs before the watch has delivered the controller's own write would
 * otherwise compare the desired status with the one that write replaced, find them equal and skip
 * a write that is needed: the object would keep showing the replaced status until something else
 * woke the controller (a pod evicted with backoff, seconds later).
 */
export class WrittenStatus<T> {
  private readonly written = new Map<string, { resourceVersion: bigint; value: T; at: number }>();
  private swept = 0;

  /** `now` is the clock of the entries' age (tests); an entry a cache never caught up with goes after this long. */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly keepMs = 10 * 60_000,
  ) {}

  /** The part as it is on the server: `cached`, or what was written over it since. */
  current(obj: { metadata?: { uid?: string; resourceVersion?: string } }, cached: T): T {
    const uid = obj.metadata?.uid;
    const entry = uid === undefined ? undefined : this.written.get(uid);
    if (!entry) return cached;
    const seen = version(obj.metadata?.resourceVersion);
    if (seen !== undefined && seen < entry.resourceVersion) return entry.value;
    this.written.delete(uid!);
    return cached;
  }

  /** Records a write that answered with `resourceVersion`. */
  remember(
    obj: { metadata?: { uid?: string; resourceVersion?: string } },
    resourceVersion: string | undefined,
    value: T,
  ): void {
    const uid = obj.metadata?.uid;
    const v = version(resourceVersion);
    // Without a comparable version the cache is trusted, as before.
    if (uid === undefined || v === undefined) return;
    const at = this.now();
    // An object deleted before its cache showed the write leaves its entry behind: such entries go
    // once they are older than any cache lag, swept at most once per keepMs (writes come in bursts).
    if (at - this.swept > this.keepMs) {
      for (const [k, e] of this.written) if (at - e.at > this.keepMs) this.written.delete(k);
      this.swept = at;
    }
    this.written.set(uid, { resourceVersion: v, value, at });
  }

  get size(): number {
    return this.written.size;
  }
}

/**
 * A resourceVersion as a number. The API server documents them as opaque; every etcd-backed one
 * gives the store's revision, which only grows. Anything else is not compared.
 */
function version(resourceVersion: string | undefined): bigint | undefined {
  return resourceVersion && /^[0-9]{1,20}$/.test(resourceVersion) ? BigInt(resourceVersion) : undefined;
}
