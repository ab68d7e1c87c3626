// Readiness probes of the local control plane, and the polling that waits for them.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterState } from './cluster-types.js';

/** Polls `check` until it returns true; on timeout the error names what failed and the log to read. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, log?: string) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  const reason = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`timed out waiting for ${what}${reason}${log ? ` (see ${log})` : ''}`);
}

function httpsGet(
  url: string,
  tls: { ca: string; cert: string; key: string },
): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(url, { ...tls, timeout: 5000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', rej);
    req.end();
  });
}

export async function httpGet(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

export async function apiserverReady(state: ClusterState): Promise<boolean> {
  const pki = (name: string) => readFileSync(join(state.dir, 'pki', name), 'utf8');
  try {
    const r = await httpsGet(`${state.server}/readyz`, {
      ca: pki('serving-ca.crt'),
      cert: pki('admin.crt'),
      key: pki('admin.key'),
    });
    return r.status === 200;
  } catch {
    return false;
  }
}
