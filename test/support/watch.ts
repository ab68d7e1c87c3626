import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Seen<T> {
  /** Date.now() when the event reached the test. */
  at: number;
  type: string;
  obj: T;
}

export interface Recording<T> {
  events: Seen<T>[];
  /** The first event at or after `since` for which `match` holds; waits for it up to `timeoutMs`. */
  first: (since: number, match: (obj: T, type: string) => boolean, timeoutMs?: number) => Promise<Seen<T>>;
  stop: () => void;
}

/**
 * Records every event of a watch with the time it arrived: latencies measured this way do not
 * depend on a poll interval. Reconnects when the server ends the watch.
 */
export async function recordWatch<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  query: Record<string, string> = {},
): Promise<Recording<T>> {
  const events: Seen<T>[] = [];
  const watch = new Watch(kc);
  let stopped = false;
  let abort: AbortController | undefined;
  let resourceVersion: string | undefined;
  let connected: () => void = () => undefined;
  const firstConnect = new Promise<void>((r) => (connected = r));
  const connect = async (): Promise<void> => {
    while (!stopped) {
      const ended = new Promise<void>((resolve) => {
        void watch
          .watch(
            path,
            { ...query, allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) },
            (type: string, obj: T) => {
              resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
              if (type !== 'BOOKMARK') events.push({ at: Date.now(), type, obj });
            },
            () => resolve(),
          )
          .then(
            (ac) => {
              abort = ac;
              connected();
            },
            () => resolve(),
          );
      });
      await ended;
      if (!stopped) await sleep(100);
    }
  };
  void connect();
  await firstConnect;
  return {
    events,
    first: async (since, match, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = events.find((e) => e.at >= since && match(e.obj, e.type));
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no matching event on ${path} within ${timeoutMs} ms`);
        await sleep(10);
      }
    },
    stop: () => {
      stopped = true;
      abort?.abort();
    },
  };
}

/** The median and 95th percentile (nearest rank) of a sample. */
export function percentiles(values: readonly number[]): { median: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, p95: rank(0.95) };
}
