import { setTimeout } from 'node:timers';

// Bounded concurrency over a list, and a small async queue: what both the hub creator and the
// bare client use, so that their concurrency means the same thing.

/** Runs `fn` over `items`, at most `limit` at a time; resolves when every call has. */
export async function inPool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++];
        await fn(item);
      }
    }),
  );
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function until(what, fn, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Rejects after `ms` (without keeping the process alive): a bound on a wait that may hang. */
export function timeoutAfter(ms, what) {
  return new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms).unref(),
  );
}
