// The API server's audit log (JSON lines, Metadata level): the requests one operator process
// sent, told apart by the identity its User-Agent carries (`hdh-operator/<version> (<host>_<pid>)`).
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** The requests of the process `pid` (this host) received in [from, to) ms, oldest first. */
export async function requestsOf(auditLog, pid, from = 0, to = Infinity) {
  const mark = `(${hostname()}_${pid})`;
  const dir = dirname(auditLog);
  const stem = basename(auditLog, '.log');
  // The current file and the rotated one (`audit-<time>.log`) the API server may have made.
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(stem) && f.endsWith('.log'))
    .map((f) => join(dir, f))
    .filter(existsSync);
  const out = [];
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.includes(mark)) continue;
      const e = JSON.parse(line);
      if (!e.userAgent?.includes(mark)) continue;
      const at = Date.parse(e.requestReceivedTimestamp);
      if (at < from || at >= to) continue;
      out.push({
        at,
        verb: e.verb,
        resource: resourceOf(e.objectRef),
        name: e.objectRef?.name,
        namespace: e.objectRef?.namespace,
        code: e.responseStatus?.code,
      });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

function resourceOf(ref) {
  // No object: discovery and other non-resource paths.
  if (!ref) return '(non-resource)';
  const r = ref.resource ?? '?';
  return ref.subresource ? `${r}/${ref.subresource}` : r;
}

/** Counts by "verb resource", most frequent first. */
export function byVerbAndResource(requests) {
  const counts = new Map();
  for (const r of requests)
    counts.set(`${r.verb} ${r.resource}`, (counts.get(`${r.verb} ${r.resource}`) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
}

export const writesOf = (requests) => requests.filter((r) => WRITE_VERBS.has(r.verb));
