// Paginated lists against a fake API server: every page is read, for custom resources as for
// built-in kinds, and the watch starts from the list's resourceVersion.
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClients } from '../../../src/runtime/client.js';
import { describeError, statusCode } from '../../../src/runtime/errors.js';
import { Informer } from '../../../src/runtime/informer.js';
import { LIST_PAGE_SIZE, listAll } from '../../../src/runtime/list.js';
import { createLogger } from '../../../src/runtime/logging.js';

const GROUP = 'hdh.sovereign.eu';
const VERSION = 'v1alpha1';
const HUBS = `/apis/${GROUP}/${VERSION}/healthdatahubs`;
const SERVICES = '/api/v1/namespaces/team-a/services';

interface Seen {
  path: string;
  query: URLSearchParams;
}

/**
 * Serves each collection in pages of its own choosing (as a real server may return fewer objects
 * than the limit), chained by opaque continue tokens; a watch is held open without events.
 */
class FakeApiServer {
  readonly seen: Seen[] = [];
  private readonly server: Server;
  /** Per collection path: the pages, in order. */
  pages = new Map<string, KubernetesObject[][]>();
  /** A status code to answer for the page with this continue token. */
  failContinue: { token: string; code: number; message: string } | undefined;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  lists(path: string): Seen[] {
    return this.seen.filter((s) => s.path === path && s.query.get('watch') !== 'true');
  }

  watches(path: string): Seen[] {
    return this.seen.filter((s) => s.path === path && s.query.get('watch') === 'true');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.seen.push({ path: url.pathname, query: url.searchParams });
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // Discovery, for clients that resolve a kind's plural first.
    if (url.pathname === `/apis/${GROUP}/${VERSION}`) {
      return json(200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: `${GROUP}/${VERSION}`,
        resources: [{ name: 'healthdatahubs', kind: 'HealthDataHub', namespaced: true, verbs: ['list'] }],
      });
    }
    const pages = this.pages.get(url.pathname);
    if (!pages) return json(404, { kind: 'Status', code: 404, message: 'the server could not find it' });
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      return; // held open until the client aborts or the server stops
    }
    const token = url.searchParams.get('continue') ?? '';
    if (this.failContinue && token === this.failContinue.token) {
      const { code, message } = this.failContinue;
      return json(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message });
    }
    const index = token === '' ? 0 : Number(token.replace('page-', ''));
    const last = index === pages.length - 1;
    const [kind, apiVersion] = url.pathname.startsWith('/apis/')
      ? ['HealthDataHubList', `${GROUP}/${VERSION}`]
      : ['ServiceList', 'v1'];
    json(200, {
      kind,
      apiVersion,
      // The list's resourceVersion is the one of its first page; later pages repeat it.
      metadata: { resourceVersion: '4711', ...(last ? {} : { continue: `page-${index + 1}` }) },
      items: pages[index],
    });
  }
}

function objects(prefix: string, count: number): KubernetesObject[] {
  return Array.from({ length: count }, (_, i) => ({
    metadata: { name: `${prefix}-${i}`, namespace: 'team-a', resourceVersion: String(100 + i) },
  }));
}

function chunk<T>(all: T[], sizes: number[]): T[][] {
  let at = 0;
  return sizes.map((n) => all.slice(at, (at += n)));
}

describe('paginated lists', () => {
  const quiet = createLogger('error', 'json');
  let fake: FakeApiServer;
  let clients: ApiClients;

  beforeEach(async () => {
    fake = new FakeApiServer();
    const server = await fake.start();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // Plain HTTP on loopback; the client library allows it only with TLS verification off.
      clusters: [{ name: 'fake', server, skipTLSVerify: true }],
      users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    clients = new ApiClients(kc);
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('an informer of a custom resource reads every page, then watches from the list', async () => {
    const hubs = objects('hub', 7);
    fake.pages.set(HUBS, chunk(hubs, [3, 3, 1]));
    const inf = new Informer(
      clients,
      {
        group: GROUP,
        version: VERSION,
        kind: 'HealthDataHub',
        plural: 'healthdatahubs',
        labelSelector: 'a=b',
      },
      quiet,
    );
    inf.start();
    try {
      await inf.waitForSync();
      expect(
        inf
          .list()
          .map((h) => h.metadata?.name)
          .sort(),
      ).toEqual(hubs.map((h) => h.metadata?.name).sort());
      expect(inf.get('team-a/hub-6')).toMatchObject({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'HealthDataHub',
      });
      const lists = fake.lists(HUBS);
      expect(lists.map((s) => s.query.get('continue'))).toEqual([null, 'page-1', 'page-2']);
      for (const s of lists) {
        expect(s.query.get('limit')).toBe(String(LIST_PAGE_SIZE));
        expect(s.query.get('labelSelector')).toBe('a=b');
      }
      expect(inf.lists).toBe(1);
      expect(inf.listPages).toBe(3);
      // The watch resumes where the list ended: nothing between the pages and the watch is lost.
      for (let i = 0; i < 100 && fake.watches(HUBS).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(fake.watches(HUBS).map((s) => s.query.get('resourceVersion'))).toEqual(['4711']);
    } finally {
      inf.stop();
    }
  });

  it('an informer narrowed by a field selector sends it on its lists and on its watch', async () => {
    fake.pages.set(HUBS, chunk(objects('hub', 3), [2, 1]));
    const inf = new Informer(
      clients,
      {
        group: GROUP,
        version: VERSION,
        kind: 'HealthDataHub',
        plural: 'healthdatahubs',
        labelSelector: 'a=b',
        fieldSelector: 'metadata.name=hub-1',
      },
      quiet,
    );
    inf.start();
    try {
      await inf.waitForSync();
      for (let i = 0; i < 100 && fake.watches(HUBS).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const requests = [...fake.lists(HUBS), ...fake.watches(HUBS)];
      expect(requests).toHaveLength(3);
      for (const s of requests) {
        expect(s.query.get('fieldSelector')).toBe('metadata.name=hub-1');
        expect(s.query.get('labelSelector')).toBe('a=b');
      }
    } finally {
      inf.stop();
    }
  });

  it('reads every page of a built-in kind too, with the page size asked for', async () => {
    const services = objects('svc', 5);
    fake.pages.set(SERVICES, chunk(services, [2, 2, 1]));
    const list = await listAll(
      clients,
      { group: '', version: 'v1', kind: 'Service', plural: 'services', namespace: 'team-a' },
      2,
    );
    expect(list.items.map((s) => s.metadata?.name)).toEqual(services.map((s) => s.metadata?.name));
    expect(list).toMatchObject({ resourceVersion: '4711', pages: 3 });
    expect(fake.lists(SERVICES).map((s) => s.query.get('limit'))).toEqual(['2', '2', '2']);
  });

  it('fails the whole list when a later page is refused (an expired continue token)', async () => {
    fake.pages.set(HUBS, chunk(objects('hub', 4), [2, 2]));
    fake.failContinue = { token: 'page-1', code: 410, message: 'the provided continue parameter is too old' };
    const error = await listAll(clients, {
      group: GROUP,
      version: VERSION,
      kind: 'HealthDataHub',
      plural: 'healthdatahubs',
    }).catch((e: unknown) => e);
    expect(statusCode(error)).toBe(410);
    expect(describeError(error)).toBe('410: the provided continue parameter is too old');
  });

  it('reports a resource the server does not serve as 404', async () => {
    const error = await listAll(clients, {
      group: 'example.com',
      version: 'v1',
      kind: 'Missing',
      plural: 'missings',
    }).catch((e: unknown) => e);
    expect(statusCode(error)).toBe(404);
  });
});
