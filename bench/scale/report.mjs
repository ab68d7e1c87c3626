// The results as JSON (everything measured) and as Markdown (the figures a reader compares).
import { cpus, totalmem } from 'node:os';

export function machine(kubernetesVersion) {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model?.trim(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kubernetes: kubernetesVersion,
  };
}

/** What --check holds the run to; empty when it passes. */
export function checkFailures(results, tolerance) {
  const failures = [];
  if (!(results.ratio <= tolerance)) {
    failures.push(`convergence ratio ${results.ratio.toFixed(2)} exceeds the tolerance ${tolerance}`);
  }
  if (results.operator.rest.writes > 0) {
    failures.push(
      `${results.operator.rest.writes} write(s) during ${results.operator.rest.seconds} s at rest`,
    );
  }
  if (results.operator.restart.writes > 0) {
    failures.push(`${results.operator.restart.writes} write(s) after a restart with nothing changed`);
  }
  return failures;
}

const s = (ms) => (ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const perHub = (n, hubs) => (n / hubs).toFixed(n / hubs < 10 ? 2 : 1);

export function markdown(r) {
  const o = r.operator;
  const hubs = o.hubs;
  const reconciles = Object.entries(o.reconciles)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${perHub(n, hubs)}`)
    .join(', ');
  const lines = [
    `### ${hubs} hubs, concurrency ${r.options.concurrency}`,
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node.js ${r.machine.node}, ` +
      `Kubernetes ${r.machine.kubernetes} (local control plane, simulated nodes). Wall time ${s(r.wallMs)}. ` +
      `Operator's environment (the image's): ${Object.entries(r.options.operatorEnv)
        .map(([k, v]) => `\`${k}=${v}\``)
        .join(', ')}.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| operator: first create → all Ready | ${s(o.convergenceMs)} |`,
    `| bare client, same objects and concurrency | ${s(r.bare.convergenceMs)} |`,
    `| ratio | ${r.ratio.toFixed(2)}× |`,
    `| API requests per hub during convergence | ${perHub(o.requestsTotal, hubs)} (writes ${perHub(o.writesTotal, hubs)}) |`,
    `| reconciles per hub | ${reconciles} |`,
    `| writes during ${o.rest.seconds} s at rest | ${o.rest.writes} |`,
    `| restart with nothing changed: writes in ${o.restart.windowSeconds} s | ${o.restart.writes} |`,
    `| restart: time to /readyz | ${s(o.restart.readyzMs)} |`,
    `| restart: time to the first quiet second | ${s(o.restart.firstQuietSecondMs)} |`,
    `| RSS, highest while converging (sampled every 2 s) | ${mb(o.memory.peakWhileConvergingRssBytes)} |`,
    `| RSS idle → at rest | ${mb(o.memory.idle.rssBytes)} → ${mb(o.memory.rest.rssBytes)} |`,
    `| heap used idle → at rest | ${mb(o.memory.idle.heapUsedBytes)} → ${mb(o.memory.rest.heapUsedBytes)} |`,
    `| after a full GC: RSS idle → at rest | ${mb(o.memory.idle.afterGc.rssBytes)} → ${mb(o.memory.rest.afterGc.rssBytes)} |`,
    `| after a full GC: heap idle → at rest | ${mb(o.memory.idle.afterGc.heapUsedBytes)} → ${mb(o.memory.rest.afterGc.heapUsedBytes)} |`,
    `| after a full GC: heap held, external idle → at rest | ${mb(o.memory.idle.afterGc.heapTotalBytes)}, ${mb(o.memory.idle.afterGc.externalBytes)} → ${mb(o.memory.rest.afterGc.heapTotalBytes)}, ${mb(o.memory.rest.afterGc.externalBytes)} |`,
    `| per hub after a full GC (RSS, heap) | ${kb(o.memory.bytesPerHub)}, ${kb(o.memory.heapBytesPerHub)} |`,
    '',
    'Requests per hub during convergence, by verb and resource:',
    '',
    '| verb resource | per hub |',
    '|---|---|',
    ...Object.entries(o.requests).map(([k, n]) => `| ${k} | ${perHub(n, hubs)} |`),
  ];
  const heap = o.memory.heapAtRest;
  if (heap) {
    lines.push(
      '',
      `The heap at rest (${mb(heap.totalBytes)} after a full GC), by kind of object (self size):`,
      '',
      '| kind | objects | size | share |',
      '|---|---|---|---|',
      ...heap.top.map((k) => `| ${k.kind} | ${k.count} | ${kb(k.bytes)} | ${(k.share * 100).toFixed(1)} % |`),
    );
  }
  if (r.check) {
    lines.push(
      '',
      r.check.failures.length
        ? `Check FAILED: ${r.check.failures.join('; ')}.`
        : `Check passed (ratio ≤ ${r.check.tolerance}, no write at rest or on restart).`,
    );
  }
  return `${lines.join('\n')}\n`;
}
