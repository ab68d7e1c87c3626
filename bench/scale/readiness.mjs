// When every hub of a namespace is Ready: a watch of the hubs (no polling of N objects), which
// notes the moment each hub's Ready condition turns True. A watch that ends is started again
// from the last resourceVersion seen.
import { setTimeout } from 'node:timers';
import { Watch } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB } from '../../dist/src/api/index.js';

export function watchReady(kc, namespace, expected) {
  const readyAt = new Map();
  let resolveAll;
  const all = new Promise((r) => (resolveAll = r));
  let resourceVersion;
  let stopped = false;
  let controller;
  const path = `/apis/${HEALTH_DATA_HUB.group}/${HEALTH_DATA_HUB.version}/namespaces/${namespace}/${HEALTH_DATA_HUB.plural}`;
  const start = async () => {
    controller = await new Watch(kc).watch(
      path,
      { allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) },
      (_phase, hub) => {
        resourceVersion = hub?.metadata?.resourceVersion ?? resourceVersion;
        const name = hub?.metadata?.name;
        if (!name || readyAt.has(name)) return;
        const ready = hub.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') return;
        readyAt.set(name, Date.now());
        if (readyAt.size >= expected) resolveAll(Math.max(...readyAt.values()));
      },
      () => {
        if (!stopped) setTimeout(() => void start().catch(() => setTimeout(start, 1000)), 200);
      },
    );
  };
  const started = start();
  return {
    started,
    /** Resolves with the time (ms since the epoch) the last hub became Ready. */
    all,
    count: () => readyAt.size,
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
