import {
  createConfiguration,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  Observable,
  ServerConfiguration,
  type Configuration,
  type HttpLibrary,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { KeepAliveAuthentication } from './keep-alive.js';
import type { OperatorMetrics } from './metrics.js';

/**
 * A write refused before it was sent, because this process may not write now (it does not hold,
 * or can no longer be sure it holds, the leader lease).
 */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/** Why writes must not go out now, or undefined when they may. Called before every write. */
export type WriteFence = () => string | undefined;

/** Requests that change nothing: lists and watches are GETs too. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface LibraryOptions {
  metrics?: OperatorMetrics;
  userAgent?: string;
  fence?: WriteFence;
}

/**
 * Every request of the runtime's clients passes here: writes are checked against the fence just
 * before they are handed to the HTTP stack, requests are counted (`rest_client_requests_total`)
 * and timed (`rest_client_request_duration_seconds`, by verb and host only), and carry the
 * operator's User-Agent (so audit logs tell replicas apart).
 */
class RuntimeHttpLibrary implements HttpLibrary {
  private readonly inner = new IsomorphicFetchHttpLibrary();

  constructor(private readonly opts: LibraryOptions) {}

  send(request: RequestContext): Observable<ResponseContext> {
    const method = String(request.getHttpMethod());
    const { metrics, userAgent, fence } = this.opts;
    if (!READS.has(method) && fence) {
      const why = fence();
      if (why !== undefined) {
        const path = new URL(request.getUrl()).pathname;
        return new Observable(Promise.reject(new FencedError(`${method} ${path} not sent: ${why}`)));
      }
    }
    if (userAgent) request.setHeaderParam('User-Agent', userAgent);
    // Until the response headers: the generated clients read the body later, outside this layer.
    const done = metrics?.restLatency.startTimer({ verb: method, host: new URL(request.getUrl()).host });
    const sent = this.inner.send(request).toPromise();
    if (!metrics) return new Observable(sent);
    const counted = sent.then(
      (resp) => {
        done?.();
        metrics.restRequests.inc({ code: String(resp.httpStatusCode), method });
        return resp;
      },
      (err: unknown) => {
        done?.();
        metrics.restRequests.inc({ code: '<error>', method });
        throw err;
      },
    );
    return new Observable(counted);
  }
}

export interface ApiClientsOptions {
  userAgent?: string;
  /** Checked before every write request; see `FencedError`. */
  fence?: WriteFence;
}

/**
 * Builds API clients like `KubeConfig.makeApiClient`, but instrumented: every request the
 * operator makes through them shows up in `rest_client_requests_total`, and every write passes
 * the fence (when one is set), so no write path can forget to check leadership.
 */
export class ApiClients {
  /** Server, credentials and the instrumented, fenced HTTP stack every client here shares. */
  readonly config: Configuration;

  constructor(
    readonly kc: KubeConfig,
    private readonly metrics?: OperatorMetrics,
    private readonly opts: ApiClientsOptions = {},
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      // Credentials from the kubeconfig, over connections kept alive and reused.
      authMethods: { default: new KeepAliveAuthentication(kc) },
      httpApi: new RuntimeHttpLibrary({ metrics, ...opts }),
    });
  }

  make<T>(apiClientType: new (config: Configuration) => T): T {
    return new apiClientType(this.config);
  }

  /** The same clients without the fence: only for taking and renewing the lease itself. */
  unfenced(): ApiClients {
    return new ApiClients(this.kc, this.metrics, { userAgent: this.opts.userAgent });
  }
}
