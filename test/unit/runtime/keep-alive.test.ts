// Every request goes out through one keep-alive agent, whatever agent the kubeconfig builds for
// it, until the TLS options change; a proxy's agent is left alone.
import { HttpMethod, RequestContext, type SecurityAuthentication } from '@kubernetes/client-node';
import { Agent } from 'node:https';
import { KeepAliveAuthentication } from '../../../src/runtime/keep-alive.js';

class ProxyAgent extends Agent {}

/** Like the kubeconfig: a new agent per request, from the options of the moment. */
function kubeconfigLike(
  options: () => ConstructorParameters<typeof Agent>[0],
  make = (o: object) => new Agent(o),
) {
  return {
    getName: () => 'kubeconfig',
    applySecurityAuthentication: (ctx: RequestContext) => {
      ctx.setHeaderParam('Authorization', 'Bearer t');
      ctx.setAgent(make(options() ?? {}));
    },
  } satisfies SecurityAuthentication;
}

const request = () => new RequestContext('https://127.0.0.1:6443/api/v1/pods', HttpMethod.GET);

describe('KeepAliveAuthentication', () => {
  it('shares one keep-alive agent while the TLS options stay the same, and keeps the credentials', async () => {
    let cert = Buffer.from('cert-1');
    const auth = new KeepAliveAuthentication(
      kubeconfigLike(() => ({ ca: Buffer.from('ca'), cert, key: 'k' })),
    );
    const [a, b] = [request(), request()];
    await auth.applySecurityAuthentication(a);
    await auth.applySecurityAuthentication(b);
    expect(a.getAgent()).toBe(b.getAgent());
    expect((a.getAgent() as Agent & { keepAlive?: boolean }).keepAlive).toBe(true);
    expect(a.getHeaders().Authorization).toBe('Bearer t');

    cert = Buffer.from('cert-2'); // rotated
    const c = request();
    await auth.applySecurityAuthentication(c);
    expect(c.getAgent()).not.toBe(a.getAgent());
    expect((c.getAgent() as Agent).options.cert).toEqual(Buffer.from('cert-2'));
  });

  it("leaves a proxy's agent as the kubeconfig made it", async () => {
    const auth = new KeepAliveAuthentication(
      kubeconfigLike(
        () => ({}),
        (o) => new ProxyAgent(o),
      ),
    );
    const a = request();
    await auth.applySecurityAuthentication(a);
    expect(a.getAgent()).toBeInstanceOf(ProxyAgent);
  });
});
