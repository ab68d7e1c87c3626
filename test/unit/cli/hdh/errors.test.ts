// Failed calls of both clients, in the shapes they really reject with, become one line naming the
// server, the verb and the resource.
import {
  explainApiError,
  forbiddenAction,
  NotFoundError,
  transportFailure,
  UserError,
} from '../../../../src/cli/hdh/errors.js';

const server = 'https://k8s.example.eu:6443';

/** What kubernetes-fluent-client rejects with when the server answered (src/fetch.ts). */
function fluent(status: number, data: unknown, statusText = '') {
  return { ok: false, status, statusText, data, headers: new Headers() };
}

/** What it rejects with when no answer came: undici's TypeError, the reason as its cause. */
function unreachable(cause: string) {
  const e = new TypeError('fetch failed', { cause: new Error(cause) });
  return { ok: false, status: 400, statusText: 'fetch failed', data: undefined, headers: new Headers(), e };
}

const status = (code: number, message: string, details?: object) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message,
  reason: code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : 'Unknown',
  code,
  ...(details ? { details } : {}),
});

describe('explainApiError', () => {
  it('tells an unreachable server by its URL and the reason, not as the 400 the client reports', () => {
    const e = explainApiError(
      unreachable('connect ECONNREFUSED 127.0.0.1:6443'),
      { verb: 'list', resource: 'nodes' },
      server,
    );
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toBe(`no cluster reachable at ${server}: connect ECONNREFUSED 127.0.0.1:6443`);
  });

  it('names the verb, resource and namespace of a 403, from the server message', () => {
    const message =
      'pods is forbidden: User "system:serviceaccount:team-a:auditor" cannot list resource "pods" in API group "" in the namespace "team-a"';
    const e = explainApiError(
      fluent(403, status(403, message)),
      { verb: 'list', resource: 'pods', namespace: 'team-a' },
      server,
    );
    expect(e.message).toBe(`forbidden: cannot list pods in namespace team-a (403: ${message})`);
  });

  it('names the group of a custom resource refused, and a cluster-scoped refusal without namespace', () => {
    const message =
      'sovereigntypolicies.hdh.sovereign.eu is forbidden: User "u" cannot list resource "sovereigntypolicies" in API group "hdh.sovereign.eu" at the cluster scope';
    const e = explainApiError(fluent(403, status(403, message)), { verb: 'list', resource: 'x' }, server);
    expect(e.message).toMatch(/^forbidden: cannot list sovereigntypolicies\.hdh\.sovereign\.eu \(403: /);
  });

  it('falls back to the call when a 403 names nothing (client-node shape too)', () => {
    const e = explainApiError(
      { code: 403, body: JSON.stringify({ message: 'nope' }) },
      { verb: 'patch', resource: 'healthdatahubs.hdh.sovereign.eu', namespace: 'research', name: 'oncology' },
      server,
    );
    expect(e.message).toBe(
      'forbidden: cannot patch healthdatahubs.hdh.sovereign.eu in namespace research (403: nope)',
    );
  });

  it('says the CRDs are not installed when the resource is not served (JSON Status or plain text)', () => {
    for (const data of [
      status(404, 'the server could not find the requested resource'),
      '404 page not found',
    ]) {
      const e = explainApiError(
        fluent(404, data, 'Not Found'),
        { verb: 'list', resource: 'healthdatahubs.hdh.sovereign.eu' },
        server,
      );
      expect(e.message).toBe(
        `the CRDs are not installed: the API server at ${server} does not serve healthdatahubs.hdh.sovereign.eu (install them from the crds/ folder or the Helm chart)`,
      );
    }
  });

  it('says which hub is missing, and where, when the resource is served', () => {
    const data = status(404, 'healthdatahubs.hdh.sovereign.eu "oncology" not found', {
      name: 'oncology',
      group: 'hdh.sovereign.eu',
      kind: 'healthdatahubs',
    });
    const e = explainApiError(
      fluent(404, data),
      { verb: 'get', resource: 'healthdatahubs.hdh.sovereign.eu', namespace: 'research', name: 'oncology' },
      server,
    );
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e.message).toBe('healthdatahub oncology not found in namespace research');
  });

  it('tells refused credentials', () => {
    const e = explainApiError(
      fluent(401, status(401, 'Unauthorized')),
      { verb: 'list', resource: 'nodes' },
      server,
    );
    expect(e.message).toBe(`unauthorized at ${server}: the kubeconfig's credentials were refused`);
  });

  it('tells any other status with the server message, never the body', () => {
    const e = explainApiError(
      fluent(429, status(429, 'storage is (re)initializing')),
      { verb: 'list', resource: 'pods' },
      server,
    );
    expect(e.message).toBe('cannot list pods: 429: storage is (re)initializing');
  });
});

describe('transportFailure', () => {
  it('is the cause of a failed fetch, and nothing for an answer', () => {
    expect(transportFailure(unreachable('self-signed certificate'))).toBe('self-signed certificate');
    expect(transportFailure(fluent(500, status(500, 'boom')))).toBeUndefined();
    // A body that could not be parsed came with the server's status.
    expect(
      transportFailure({ ...fluent(200, undefined), e: new SyntaxError('Unexpected token') }),
    ).toBeUndefined();
    expect(transportFailure({ code: 403, body: '{}' })).toBeUndefined();
  });
});

describe('forbiddenAction', () => {
  it('reads the verb, the resource with its group and the namespace', () => {
    expect(
      forbiddenAction(
        'User "u" cannot get resource "configmaps" in API group "" in the namespace "hdh-system"',
      ),
    ).toEqual({ verb: 'get', resource: 'configmaps', namespace: 'hdh-system' });
    expect(
      forbiddenAction('User "u" cannot list resource "deployments" in API group "apps" at the cluster scope'),
    ).toEqual({
      verb: 'list',
      resource: 'deployments.apps',
    });
    expect(forbiddenAction('nope')).toBeUndefined();
  });
});
