// When each object of a resource first met a condition, from a watch: latencies measured this way
// do not depend on a poll interval, and nothing but one timestamp per object is kept, so a watch
// over ten thousand objects costs little memory.
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';

export class FirstSeen<T extends KubernetesObject> {
  /** UID → Date.now() when the condition was first seen to hold. */
  readonly at = new Map<string, number>();
  private stopped = false;
  private abort: AbortController | undefined;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly path: string,
    private readonly holds: (obj: T) => boolean,
  ) {}

  /** Starts watching `path` (a collection); resolves once the watch is open. */
  static async watch<T extends KubernetesObject>(
    kc: KubeConfig,
    path: string,
    holds: (obj: T) => boolean,
  ): Promise<FirstSeen<T>> {
    const w = new FirstSeen<T>(kc, path, holds);
    let opened: () => void = () => undefined;
    const open = new Promise<void>((r) => (opened = r));
    void w.loop(opened);
    await open;
    return w;
  }

  private async loop(opened: () => void): Promise<void> {
    const watch = new Watch(this.kc);
    let resourceVersion: string | undefined;
    while (!this.stopped) {
      await new Promise<void>((ended) => {
        void watch
          .watch(
            this.path,
            { allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) },
            (type: string, obj: T) => {
              // An expired resource version: watch again from now (existing objects come as ADDED).
              if (type === 'ERROR') return void (resourceVersion = undefined);
              resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
              const uid = obj.metadata?.uid;
              if (type !== 'BOOKMARK' && type !== 'DELETED' && uid && !this.at.has(uid) && this.holds(obj)) {
                this.at.set(uid, Date.now());
              }
            },
            () => ended(),
          )
          .then(
            (ac) => {
              this.abort = ac;
              opened();
            },
            () => ended(),
          );
      });
      if (!this.stopped) await sleep(200);
    }
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}

/** The value at rank `p` (0–1, nearest rank) of a sample; 0 for an empty one. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
