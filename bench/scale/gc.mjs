// The operator process's inspector, for a full garbage collection (so that the heap it reports
// afterwards is what it retains, not what it has yet to collect) and a heap snapshot. The process
// starts with --inspect-port (on loopback, inactive); SIGUSR1 opens the inspector only for this.
import { createWriteStream } from 'node:fs';
import { until } from './pool.mjs';

/** Runs `use(send)` on a session of the process's inspector; `onEvent` sees its notifications. */
async function withInspector(pid, inspectPort, use, onEvent = () => {}) {
  process.kill(pid, 'SIGUSR1');
  const targets = await until(
    'the operator inspector',
    async () => (await globalThis.fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json(),
    10_000,
    100,
  );
  const ws = new globalThis.WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('cannot connect to the operator inspector'));
  });
  const pending = new Map();
  let next = 1;
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
    else onEvent(msg);
  };
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    return await use(send);
  } finally {
    ws.close();
  }
}

export function collectGarbage(pid, inspectPort) {
  return withInspector(pid, inspectPort, (send) => send('HeapProfiler.collectGarbage'));
}

/** Writes a heap snapshot of the process (after a full collection) to `file`. */
export async function heapSnapshot(pid, inspectPort, file) {
  const out = createWriteStream(file);
  await withInspector(
    pid,
    inspectPort,
    async (send) => {
      await send('HeapProfiler.enable');
      await send('HeapProfiler.collectGarbage');
      await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    },
    (msg) => {
      if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') out.write(msg.params.chunk);
    },
  );
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
}
