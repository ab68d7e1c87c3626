// A watch request the server does not answer (a frozen API server, SYNs dropped) is given up after
// the connect timeout and asked again at once, however long that lasts (the backoff does not grow),
// instead of waiting minutes for the kernel; and should an abandoned request be answered later,
// nothing it delivers reaches the cache and its connection is closed.
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClients } from '../../../src/runtime/client.js';
import { Informer } from '../../../src/runtime/informer.js';
import { createLogger } from '../../../src/runtime/logging.js';

const PATH = '/api/v1/namespaces/team-a/configmaps';
const cm = (name: string, rv: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'team-a', resourceVersion: rv },
});

/** The watch requests the fake leaves unanswered, as a frozen server would. */
const UNANSWERED = 6;

/** Lists nothing; holds the first watch requests unanswered; answers the next ones. */
class SilentFirstWatches {
  readonly watchesAt: number[] = [];
  readonly held: { res: ServerResponse; closed: boolean }[] = [];
  private readonly server: Server = createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** Answers the first held request at last, with an event that must not reach the cache. */
  release(): void {
    const res = this.held[0]!.res;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`${JSON.stringify({ type: 'ADDED', object: cm('stale', '2') })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== PATH) return void res.writeHead(404).end();
    if (url.searchParams.get('watch') !== 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          kind: 'ConfigMapList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '1' },
          items: [],
        }),
      );
    }
    this.watchesAt.push(Date.now());
    if (this.held.length < UNANSWERED) {
      const held = { res, closed: false };
      res.on('close', () => (held.closed = true));
      this.held.push(held);
      return; // no headers: the client waits
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`${JSON.stringify({ type: 'ADDED', object: cm('fresh', '3') })}\n`);
  }
}

describe('a watch request nobody answers', () => {
  let fake: SilentFirstWatches;
  let inf: Informer | undefined;

  beforeEach(() => {
    fake = new SilentFirstWatches();
  });
  afterEach(async () => {
    inf?.stop();
    await fake.stop();
  });

  it('is given up after the connect timeout, and what it delivers later is ignored', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: await fake.start(), skipTLSVerify: true }],
      users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    inf = new Informer(
      new ApiClients(kc),
      { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: 'team-a' },
      createLogger('error', 'json'),
      // The default backoff (200 ms doubling to 30 s): it must not grow with unanswered requests.
      { connectTimeoutMs: 300 },
    );
    inf.start();
    await inf.waitForSync();
    const deadline = Date.now() + 10_000;
    while (!inf.get('team-a/fresh') && Date.now() < deadline) await sleep(20);

    expect(inf.get('team-a/fresh')).toBeDefined();
    expect(fake.watchesAt).toHaveLength(UNANSWERED + 1);
    const gaps = fake.watchesAt.slice(1).map((t, i) => t - fake.watchesAt[i]!);
    // Each one waited its timeout, then was asked again within a first backoff step (≤ 200 ms),
    // where a growing backoff would have waited 6.4 s before the last.
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(280);
      expect(gap).toBeLessThan(900);
    }
    expect(inf.health().ok).toBe(true);

    fake.release();
    const closedBy = Date.now() + 2000;
    while (!fake.held[0]!.closed && Date.now() < closedBy) await sleep(20);
    expect(fake.held[0]!.closed).toBe(true);
    expect(inf.get('team-a/stale')).toBeUndefined();
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(['fresh']);
  });
});
