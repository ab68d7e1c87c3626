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
import type { OperatorMetrics } from './metrics.js';

/** Counts every API request by method and status code (`rest_client_requests_total`). */
class CountingHttpLibrary implements HttpLibrary {
  private readonly inner = new IsomorphicFetchHttpLibrary();

  constructor(private readonly metrics: OperatorMetrics) {}

  send(request: RequestContext): Observable<ResponseContext> {
    const method = String(request.getHttpMethod());
    const counted = this.inner
      .send(request)
      .toPromise()
      .then(
        (resp) => {
          this.metrics.restRequests.inc({ code: String(resp.httpStatusCode), method });
          return resp;
        },
        (err: unknown) => {
          this.metrics.restRequests.inc({ code: '<error>', method });
          throw err;
        },
      );
    return new Observable(counted);
  }
}

/**
 * Builds API clients like `KubeConfig.makeApiClient`, but instrumented: every request the
 * operator makes through them shows up in `rest_client_requests_total`.
 */
export class ApiClients {
  private readonly config: Configuration;

  constructor(
    readonly kc: KubeConfig,
    metrics?: OperatorMetrics,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      ...(metrics ? { httpApi: new CountingHttpLibrary(metrics) } : {}),
    });
  }

  make<T>(apiClientType: new (config: Configuration) => T): T {
    return new apiClientType(this.config);
  }
}
