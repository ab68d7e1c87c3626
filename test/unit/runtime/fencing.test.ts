import { CoreV1Api, KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { leaderElectionTimings } from '../../../src/cli/run.js';
import { ApiClients, FencedError } from '../../../src/runtime/client.js';
import { LeaderElector, leaderElectionTimingProblem } from '../../../src/runtime/leader-election.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { microTime } from '../../../src/runtime/time.js';

const quiet = createLogger('error', 'json');

interface Seen {
  method: string;
  path: string;
  userAgent?: string;
}

/**
 * A minimal API server on loopback: serves one Lease (GET/PUT, with resourceVersion checks) and
 * answers every other request with an empty object; records what reaches it.
 */
async function fakeApiServer(): Promise<{ kc: KubeConfig; seen: Seen[]; lease: V1Lease; close: () => void }> {
  const seen: Seen[] = [];
  const lease: V1Lease = { metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' }, spec: {} };
  const body = (req: IncomingMessage) =>
    new Promise<string>((r) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => r(b));
    });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      seen.push({ method: req.method ?? '', path, userAgent: req.headers['user-agent'] });
      const text = await body(req);
      res.setHeader('Content-Type', 'application/json');
      if (path.endsWith('/leases/l') && req.method === 'PUT') {
        const sent = JSON.parse(text) as V1Lease;
        if (sent.metadata?.resourceVersion !== lease.metadata!.resourceVersion) {
          res.statusCode = 409;
          res.end(JSON.stringify({ kind: 'Status', code: 409, message: 'conflict' }));
          return;
        }
        lease.spec = sent.spec;
        lease.metadata!.resourceVersion = String(Number(lease.metadata!.resourceVersion) + 1);
      }
      res.end(JSON.stringify(path.endsWith('/leases/l') ? lease : { kind: 'Namespace', metadata: {} }));
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true, // plain HTTP on loopback
      },
    ],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { kc, seen, lease, close: () => server.close() };
}

/** Blocks the whole thread, as a GC pause or SIGSTOP would: no timer or I/O runs meanwhile. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('the write fence of ApiClients', () => {
  let api: Awaited<ReturnType<typeof fakeApiServer>>;
  beforeEach(async () => (api = await fakeApiServer()));
  afterEach(() => api.close());

  it('refuses every non-read request before it is sent, and lets reads through', async () => {
    let why: string | undefined = 'not the leader';
    const clients = new ApiClients(api.kc, undefined, {
      userAgent: 'hdh-operator/test (a_1)',
      fence: () => why,
    });
    const core = clients.make(CoreV1Api);

    await expect(core.createNamespace({ body: { metadata: { name: 'x' } } })).rejects.toThrow(FencedError);
    await expect(core.deleteNamespace({ name: 'x' })).rejects.toThrow(
      /DELETE \/api\/v1\/namespaces\/x not sent: not the leader/,
    );
    await expect(core.patchNamespace({ name: 'x', body: {} })).rejects.toThrow(FencedError);
    await expect(core.replaceNamespace({ name: 'x', body: { metadata: { name: 'x' } } })).rejects.toThrow(
      FencedError,
    );
    expect(api.seen).toEqual([]); // nothing reached the server

    await core.readNamespace({ name: 'x' });
    await core.listNamespace();
    expect(api.seen.map((s) => s.method)).toEqual(['GET', 'GET']);

    why = undefined;
    await core.createNamespace({ body: { metadata: { name: 'x' } } });
    expect(api.seen.map((s) => s.method)).toEqual(['GET', 'GET', 'POST']);
    expect(new Set(api.seen.map((s) => s.userAgent))).toEqual(new Set(['hdh-operator/test (a_1)']));
  });

  it('is bypassed only by unfenced(), which keeps the user agent', async () => {
    const clients = new ApiClients(api.kc, undefined, { userAgent: 'ua', fence: () => 'no' });
    await clients
      .unfenced()
      .make(CoreV1Api)
      .createNamespace({ body: { metadata: { name: 'x' } } });
    expect(api.seen).toEqual([{ method: 'POST', path: '/api/v1/namespaces', userAgent: 'ua' }]);
  });
});

describe('LeaderElector', () => {
  let api: Awaited<ReturnType<typeof fakeApiServer>>;
  beforeEach(async () => (api = await fakeApiServer()));
  afterEach(() => api.close());

  const elector = (kc: KubeConfig, identity = 'me') =>
    new LeaderElector(
      new ApiClients(kc),
      {
        name: 'l',
        namespace: 'ns',
        identity,
        leaseDurationMs: 2000,
        renewDeadlineMs: 1000,
        retryPeriodMs: 100,
      },
      quiet,
    );

  it('after a pause longer than the renew deadline, fences writes at once, before any lease read', async () => {
    const e = elector(api.kc);
    let lost = 0;
    expect(e.check()).toMatch(/does not hold the leader lease ns\/l/);
    expect(await e.acquire(() => lost++)).toBe(true);
    expect(api.lease.spec?.holderIdentity).toBe('me');
    expect(e.check()).toBeUndefined();
    // Renewals keep it leading well past the renew deadline.
    await new Promise((r) => setTimeout(r, 1500));
    expect(e.check()).toBeUndefined();
    expect(lost).toBe(0);

    freeze(1200);
    const requestsBefore = api.seen.length;
    // The first thing to run after the pause is a write's fence check: refused, no request needed.
    expect(e.isLeader).toBe(false);
    expect(e.check()).toMatch(/does not hold the leader lease/);
    expect(lost).toBe(1);
    expect(api.seen.length).toBe(requestsBefore);
    await new Promise((r) => setTimeout(r, 300));
    expect(lost).toBe(1); // once
    expect(e.check()).toBeDefined(); // and for good
    await e.release();
  });

  it('loses leadership at the next renew once another holder has the lease', async () => {
    const a = elector(api.kc, 'a');
    let lostA = 0;
    await a.acquire(() => lostA++);
    // Another holder takes the lease (as after an expiry): seen at the next renew.
    api.lease.spec = { ...api.lease.spec, holderIdentity: 'b', renewTime: microTime(new Date()) as never };
    api.lease.metadata!.resourceVersion = '100';
    const t0 = Date.now();
    while (lostA === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(lostA).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(a.check()).toBeDefined();
    await a.release();
    expect(api.lease.spec?.holderIdentity).toBe('b'); // not released: it was not ours
  });
});

describe('leader election timings', () => {
  it('need renew deadline < lease duration and retry period < renew deadline / 1.2', () => {
    expect(leaderElectionTimingProblem(15_000, 10_000, 2_000)).toBeUndefined();
    expect(leaderElectionTimingProblem(15_000, 15_000, 2_000)).toMatch(
      /renew deadline .* shorter than the lease/,
    );
    expect(leaderElectionTimingProblem(15_000, 10_000, 9_000)).toMatch(/retry period/);
    expect(leaderElectionTimingProblem(1_500, 1_000, 100)).toMatch(/whole number of seconds/);
  });

  it('are read from the --leader-elect-* flags, naming the flag at fault', () => {
    const base = {
      metricsBindAddress: '0',
      healthProbeBindAddress: '0',
      logLevel: 'info',
      logFormat: 'json' as const,
      concurrency: 1,
    };
    expect(leaderElectionTimings(base)).toEqual({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(
      leaderElectionTimings({
        ...base,
        leaderElectLeaseDuration: '4s',
        leaderElectRenewDeadline: '3s',
        leaderElectRetryPeriod: '500ms',
      }),
    ).toEqual({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 });
    expect(() => leaderElectionTimings({ ...base, leaderElectRenewDeadline: 'soon' })).toThrow(
      /--leader-elect-renew-deadline/,
    );
    expect(() => leaderElectionTimings({ ...base, leaderElectRenewDeadline: '20s' })).toThrow(
      /shorter than the lease/,
    );
  });
});
