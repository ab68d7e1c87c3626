// Reads the Prometheus text the operator serves: sums of a family's series, filtered by labels.

/** Series of `name` as { labels, value }. */
export function series(text, name) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[k] = v;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the series of `name` whose labels pass `filter` (values or predicates). */
export function sum(text, name, filter = {}) {
  return series(text, name)
    .filter((s) =>
      Object.entries(filter).every(([k, want]) =>
        typeof want === 'function' ? want(s.labels[k] ?? '') : s.labels[k] === want,
      ),
    )
    .reduce((a, s) => a + s.value, 0);
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the bench reads off one scrape. */
export function snapshot(text) {
  return {
    requests: sum(text, 'rest_client_requests_total'),
    writes: sum(text, 'rest_client_requests_total', { method: (m) => !READS.has(m) }),
    writesByMethod: Object.fromEntries(
      series(text, 'rest_client_requests_total')
        .filter((s) => !READS.has(s.labels.method))
        .reduce((m, s) => m.set(s.labels.method, (m.get(s.labels.method) ?? 0) + s.value), new Map()),
    ),
    reconciles: Object.fromEntries(
      series(text, 'controller_runtime_reconcile_total').reduce(
        (m, s) => m.set(s.labels.controller, (m.get(s.labels.controller) ?? 0) + s.value),
        new Map(),
      ),
    ),
    queued: sum(text, 'workqueue_depth'),
    busy: sum(text, 'controller_runtime_active_workers'),
    rssBytes: sum(text, 'process_resident_memory_bytes'),
    heapUsedBytes: sum(text, 'nodejs_heap_size_used_bytes'),
    heapTotalBytes: sum(text, 'nodejs_heap_size_total_bytes'),
    externalBytes: sum(text, 'nodejs_external_memory_bytes'),
  };
}
