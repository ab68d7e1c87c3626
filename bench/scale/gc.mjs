// A full garbage collection in the operator process, through its inspector, so that the heap it
// reports afterwards is what it retains (its caches), not what it has yet to collect. The process
// starts with --inspect-port (on loopback, inactive); SIGUSR1 opens the inspector only for this.
import { until } from './pool.mjs';

export async function collectGarbage(pid, inspectPort) {
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
  try {
    await new Promise((resolve) => {
      ws.onmessage = (m) => {
        if (JSON.parse(m.data).id === 1) resolve();
      };
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    });
  } finally {
    ws.close();
  }
}
