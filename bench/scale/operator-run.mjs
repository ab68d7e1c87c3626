// The operator's run: N hubs created with the operator running, time to all Ready, requests and
// reconciles during convergence, writes at rest, and a restart with nothing changed.
import { join } from 'node:path';
import { byVerbAndResource, requestsOf, writesOf } from './audit.mjs';
import { createHub } from './fixtures.mjs';
import { summarizeHeapSnapshot } from './heap.mjs';
import { imageEnv } from './image.mjs';
import { startOperator } from './operator.mjs';
import { setInterval, clearInterval } from 'node:timers';
import { inPool, sleep, timeoutAfter } from './pool.mjs';
import { watchReady } from './readiness.mjs';

/** After the last Ready, before the rest period: the last status writes come back through the watch. */
const SETTLE_MS = 5000;

export async function runOperator({ cluster, run, opts, packageRoot, log }) {
  const logFile = join(opts.outDir, 'operator.log');
  const common = {
    packageRoot,
    kubeconfig: cluster.kubeconfig,
    namespace: run.namespace,
    concurrency: opts.concurrency,
    logFile,
    // With the image's environment; --node-flags replaces its NODE_OPTIONS.
    env: { ...imageEnv(packageRoot), ...(opts.nodeFlags !== undefined ? { NODE_OPTIONS: '' } : {}) },
    nodeFlags: opts.nodeFlags !== undefined ? opts.nodeFlags.split(/\s+/).filter(Boolean) : [],
  };
  // Profiled, if asked, during convergence only (the profile is written when the process exits).
  let op = await startOperator({ ...common, cpuProfDir: opts.cpuProf });
  await op.readyAfterMs();
  await sleep(2000);
  const idle = await op.scrape();
  const idleGc = await op.scrapeAfterGc();

  const ready = watchReady(cluster.kc, run.namespace, run.hubNames.length);
  await ready.started;
  const before = await op.scrape();
  const firstCreate = Date.now();
  log(`operator run: creating ${run.hubNames.length} hubs`);
  await inPool(run.hubNames, opts.concurrency, (name) => createHub(cluster.kc, run, name));
  // The resident memory's peak while converging, sampled every 2 s: what a memory limit must allow.
  let peakRssBytes = before.rssBytes;
  let ticks = 0;
  const progress = setInterval(() => {
    op.scrape()
      .then((m) => (peakRssBytes = Math.max(peakRssBytes, m.rssBytes)))
      .catch(() => undefined);
    if (++ticks % 5 === 0) log(`  ${ready.count()}/${run.hubNames.length} Ready`);
  }, 2000);
  const lastReady = await Promise.race([
    ready.all,
    timeoutAfter(opts.convergenceTimeoutMs, 'all hubs Ready'),
  ]).finally(() => clearInterval(progress));
  ready.stop();
  const convergedAt = Date.now();
  const converged = await op.scrape();
  const convergenceRequests = await requestsOf(cluster.auditLog, op.pid, firstCreate, convergedAt + 1);

  await sleep(SETTLE_MS);
  log(
    `operator run: all Ready after ${((lastReady - firstCreate) / 1000).toFixed(1)} s; at rest for ${opts.rest} s`,
  );
  if (opts.cpuProf) {
    // The profile covers start and convergence; the process at rest and after the restart runs unprofiled.
    await op.stop();
    op = await startOperator(common);
    await op.readyAfterMs();
    await sleep(SETTLE_MS);
  }
  const restStart = await op.scrape();
  const restFrom = Date.now();
  await sleep(opts.rest * 1000);
  const restEnd = await op.scrape();
  const restGc = await op.scrapeAfterGc();
  let heapAtRest;
  if (opts.heapSnapshot) {
    const file = join(opts.outDir, 'operator-at-rest.heapsnapshot');
    await op.heapSnapshot(file);
    heapAtRest = { file, ...summarizeHeapSnapshot(file) };
  }
  const restWrites = writesOf(await requestsOf(cluster.auditLog, op.pid, restFrom, Date.now()));

  log('operator run: restarting the operator');
  await op.stop();
  const restart = await measureRestart(common, cluster, opts, log);

  return {
    hubs: run.hubNames.length,
    convergenceMs: lastReady - firstCreate,
    requests: byVerbAndResource(convergenceRequests),
    requestsTotal: convergenceRequests.length,
    writesTotal: writesOf(convergenceRequests).length,
    reconciles: diff(converged.reconciles, before.reconciles),
    rest: {
      seconds: opts.rest,
      writes: restEnd.writes - restStart.writes,
      writesAudited: byVerbAndResource(restWrites),
    },
    // As the process holds it, and right after a full collection (what it retains).
    memory: {
      peakWhileConvergingRssBytes: peakRssBytes,
      idle: memory(idle, idleGc),
      rest: memory(restEnd, restGc),
      bytesPerHub: Math.round((restGc.rssBytes - idleGc.rssBytes) / run.hubNames.length),
      heapBytesPerHub: Math.round((restGc.heapUsedBytes - idleGc.heapUsedBytes) / run.hubNames.length),
      ...(heapAtRest ? { heapAtRest } : {}),
    },
    restart,
    _convergedAt: convergedAt,
  };
}

/**
 * A new process over the same objects: time to /readyz, time to the first second without a
 * request or queued work, and every write it makes within the restart window.
 */
async function measureRestart(common, cluster, opts, log) {
  const op = await startOperator(common);
  const readyzMs = await op.readyAfterMs();
  let previous = await op.scrape();
  let previousAt = Date.now();
  let quietMs;
  const windowEnd = op.startedAt + opts.restartWindow * 1000;
  while (Date.now() < windowEnd) {
    await sleep(250);
    const now = await op.scrape();
    const at = Date.now();
    const still = now.requests === previous.requests && now.queued === 0 && now.busy === 0;
    if (!still) {
      previous = now;
      previousAt = at;
    } else if (quietMs === undefined && at - previousAt >= 1000) {
      quietMs = previousAt - op.startedAt;
    }
  }
  const end = await op.scrape();
  const requests = await requestsOf(cluster.auditLog, op.pid, op.startedAt, Date.now());
  const writes = writesOf(requests);
  await op.stop();
  log(`restart: ${end.writes} writes, /readyz after ${readyzMs} ms, quiet after ${quietMs} ms`);
  return {
    windowSeconds: opts.restartWindow,
    writes: end.writes,
    writesByMethod: end.writesByMethod,
    writesAudited: byVerbAndResource(writes),
    writeSamples: writes
      .slice(0, 20)
      .map((w) => `${w.verb} ${w.resource} ${w.namespace ?? ''}/${w.name ?? ''}`),
    readyzMs,
    firstQuietSecondMs: quietMs ?? null,
    reconciles: end.reconciles,
  };
}

const memory = (asIs, afterGc) => ({
  rssBytes: asIs.rssBytes,
  heapUsedBytes: asIs.heapUsedBytes,
  afterGc: {
    rssBytes: afterGc.rssBytes,
    heapUsedBytes: afterGc.heapUsedBytes,
    // What the heap holds from the system (used, free and young generation) and memory outside
    // it that V8 accounts for (buffers): with the RSS, where the process's memory is.
    heapTotalBytes: afterGc.heapTotalBytes,
    externalBytes: afterGc.externalBytes,
  },
});

function diff(after, before) {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}
