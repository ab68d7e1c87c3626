// One keep-alive HTTPS agent for every request of a process. The client library builds a new
// https.Agent from the kubeconfig for each request, so each request opened a TLS connection of
// its own: a handshake, a new TLS context and a client-certificate check on the API server, every
// time (the first hot spot of a profile at a thousand hubs). The kubeconfig still applies its
// credentials to each request (tokens that rotate go on as headers); only the agent is shared,
// and built anew when the TLS options it was made from change (certificates read from files).
import type { ClientRequestArgs } from 'node:http';
import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { RequestContext, SecurityAuthentication } from '@kubernetes/client-node';

/** The options of the library's agent that decide whom a connection may be reused for. */
const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

type TlsOptions = Pick<AgentOptions, (typeof TLS_OPTIONS)[number]>;

export class KeepAliveAuthentication implements SecurityAuthentication {
  private current: { options: TlsOptions; agent: Agent } | undefined;

  constructor(private readonly inner: SecurityAuthentication) {}

  getName(): string {
    return this.inner.getName();
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.inner.applySecurityAuthentication(context);
    const made = context.getAgent();
    // Only the library's plain agent: a proxy's agent (a subclass) is left as it is.
    if (!made || made.constructor !== Agent) return;
    context.setAgent(this.agentFor((made as Agent).options));
  }

  private agentFor(options: AgentOptions): Agent {
    const tls: TlsOptions = {};
    for (const k of TLS_OPTIONS) if (options[k] !== undefined) Object.assign(tls, { [k]: options[k] });
    if (!this.current || !sameTls(this.current.options, tls)) {
      if (this.current) retire(this.current.agent);
      this.current = { options: tls, agent: new KeptAliveAgent({ ...tls, keepAlive: true }) };
    }
    return this.current.agent;
  }
}

type Created = (err: Error | null, stream: Duplex) => void;

/**
 * Node's agent hands its connection factory a callback that holds the request the connection is
 * made for, and the factory's TLS-session listener keeps it for as long as the socket lives: with
 * keep-alive, each socket would keep its first request and that request's response body (the
 * first page of a list of a thousand objects, say) for good. The callback given here lets go of
 * the agent's once the socket has served that request; a socket made at once never needs it (the
 * agent takes it from the return value), a socket through a proxy tunnel calls it before then.
 */
class KeptAliveAgent extends Agent {
  override createConnection(options: ClientRequestArgs, created?: Created): Duplex | null | undefined {
    let pending = created;
    const socket = super.createConnection(options, (err, stream) => pending?.(err, stream));
    socket?.once('free', () => (pending = undefined));
    return socket;
  }
}

/** Requests under way finish on their sockets, which then close; idle ones close now. */
function retire(agent: Agent): void {
  agent.maxFreeSockets = 0;
  for (const sockets of Object.values(agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
}

function sameTls(a: TlsOptions, b: TlsOptions): boolean {
  return TLS_OPTIONS.every((k) => sameValue(a[k], b[k]));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}
