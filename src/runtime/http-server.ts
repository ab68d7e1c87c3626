import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Check {
  name: string;
  check: () => { ok: boolean; reason?: string };
}

/**
 * Parses `host:port`, or `:port` for every interface (what a pod needs for kubelet probes);
 * `0` disables the endpoint (controller-runtime's conventions).
 */
export function parseBindAddress(addr: string): { host: string | undefined; port: number } | undefined {
  if (addr === '0') return undefined;
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : undefined;
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid bind address "${addr}"`);
  return { host, port };
}

/** Serves /healthz, /readyz (each check listed, like kube-apiserver's `?verbose`) and /metrics. */
export function startHttpServer(opts: {
  bind: string;
  liveness: Check[];
  readiness: Check[];
  registry?: Registry;
}): Promise<Server | undefined> {
  const where = parseBindAddress(opts.bind);
  if (!where) return Promise.resolve(undefined);
  const probe = (checks: Check[]) => {
    const results = checks.map((c) => ({ name: c.name, ...c.check() }));
    const ok = results.every((r) => r.ok);
    const body = results
      .map((r) => `[${r.ok ? '+' : '-'}]${r.name} ${r.ok ? 'ok' : 'failed: ' + r.reason}`)
      .join('\n');
    return { status: ok ? 200 : 503, body: `${body}\n${ok ? 'ok' : 'not ok'}\n` };
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    void (async () => {
      if (path === '/healthz' || path === '/readyz') {
        const r = probe(path === '/healthz' ? opts.liveness : opts.readiness);
        res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.body);
      } else if (path === '/metrics' && opts.registry) {
        res.writeHead(200, { 'content-type': opts.registry.contentType }).end(await opts.registry.metrics());
      } else {
        res.writeHead(404).end('not found\n');
      }
    })().catch(() => res.writeHead(500).end());
  });
  return new Promise((resolveServer, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => resolveServer(server));
  });
}
