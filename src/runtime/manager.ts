import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Server } from 'node:http';
import { ApiClients } from './client.js';
import { Controller, type Reconciler } from './controller.js';
import { startHttpServer } from './http-server.js';
import { Informer, type InformerOptions, type ResourceRef } from './informer.js';
import { LeaderElector, type LeaderElectionOptions } from './leader-election.js';
import type { Logger } from './logging.js';
import type { OperatorMetrics } from './metrics.js';

export interface ManagerOptions {
  metricsBindAddress?: string;
  healthProbeBindAddress?: string;
  leaderElection?: LeaderElectionOptions;
  concurrency?: number;
  informerDefaults?: Omit<InformerOptions, 'transform'>;
  /** Sent with every API request (audit logs tell replicas apart by it). */
  userAgent?: string;
}

/**
 * Owns the shared machinery of one operator process: informers, controllers, leader election
 * and the HTTP endpoints. Knows nothing of the domain.
 */
export class Manager {
  private readonly informers: Informer[] = [];
  private readonly controllers: Controller[] = [];
  private readonly servers: Server[] = [];
  private elector: LeaderElector | undefined;
  private stopping = false;
  /** Instrumented API clients shared by everything this manager runs. */
  readonly clients: ApiClients;

  constructor(
    readonly kc: KubeConfig,
    readonly log: Logger,
    readonly metrics: OperatorMetrics,
    private readonly opts: ManagerOptions = {},
  ) {
    // With leader election, every write passes the elector's fence: refused unless leading.
    const fence = opts.leaderElection
      ? () => (this.elector ? this.elector.check() : 'leadership not acquired yet')
      : undefined;
    this.clients = new ApiClients(kc, metrics, { userAgent: opts.userAgent, fence });
  }

  informer<T extends KubernetesObject>(ref: ResourceRef, opts: InformerOptions<T> = {}): Informer<T> {
    const inf = new Informer<T>(this.clients, ref, this.log, { ...this.opts.informerDefaults, ...opts });
    this.informers.push(inf as unknown as Informer);
    return inf;
  }

  controller(name: string, reconciler: Reconciler): Controller {
    const c = new Controller(reconciler, {
      name,
      concurrency: this.opts.concurrency,
      metrics: this.metrics,
      log: this.log,
    });
    this.controllers.push(c);
    return c;
  }

  /** Ready once every cache has synced; unready while any watch is broken. */
  readiness(): { ok: boolean; reason?: string } {
    for (const i of this.informers) {
      if (!i.synced) return { ok: false, reason: `cache of ${i.name} not synced` };
      const h = i.health();
      if (!h.ok) return h;
    }
    return { ok: true };
  }

  /**
   * Serves probes, syncs caches, waits for leadership (when enabled), then starts the workers.
   * `onFatal` is called when leadership is lost; by then no queue hands out work any more and
   * every write is refused, so reconciles still running end at their next write.
   */
  async start(onFatal: (reason: string) => void): Promise<void> {
    for (const [bind, withMetrics] of [
      [this.opts.healthProbeBindAddress, false],
      [this.opts.metricsBindAddress, true],
    ] as const) {
      if (!bind) continue;
      const s = await startHttpServer({
        bind,
        liveness: [{ name: 'ping', check: () => ({ ok: true }) }],
        readiness: [{ name: 'informers', check: () => this.readiness() }],
        registry: withMetrics ? this.metrics.registry : undefined,
      });
      if (s) {
        this.servers.push(s);
        const a = s.address();
        this.log.info(`serving ${withMetrics ? '/metrics' : '/healthz and /readyz'}`, {
          address: typeof a === 'object' && a ? `${a.address}:${a.port}` : bind,
        });
      }
    }
    for (const i of this.informers) i.start();
    await Promise.all(this.informers.map((i) => i.waitForSync()));
    if (this.stopping) return;
    this.log.info('caches synced', { informers: this.informers.map((i) => i.name) });
    if (this.opts.leaderElection) {
      this.elector = new LeaderElector(
        this.clients.unfenced(),
        this.opts.leaderElection,
        this.log,
        this.metrics,
      );
      const won = await this.elector.acquire(() => {
        for (const c of this.controllers) c.cancel('leader election lost');
        onFatal('leader election lost');
      });
      if (!won) return;
    }
    for (const c of this.controllers) c.start();
  }

  /** Addresses the HTTP servers listen on (useful when bound to port 0). */
  addresses(): string[] {
    return this.servers.map((s) => {
      const a = s.address();
      return typeof a === 'object' && a ? `${a.address}:${a.port}` : String(a);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.controllers.map((c) => c.stop()));
    for (const i of this.informers) i.stop();
    await this.elector?.release();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }
}
