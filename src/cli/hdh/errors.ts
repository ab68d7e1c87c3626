// What a failed API call means to the person at the terminal. Two clients fail in two shapes:
// kubernetes-fluent-client rejects with its response as a plain object ({ok: false, status,
// statusText, data}, and `e` when the request never got an answer, status then 400 or a parsed
// errno), @kubernetes/client-node with an ApiException ({code, body}). Both become a UserError
// naming the server, the verb and the resource, never a stack trace or a raw response body.
import { statusCode } from '../../runtime/errors.js';

/** An error the user can act on: printed as it is, without a stack, and the command exits 1. */
export class UserError extends Error {}

/** A named object that does not exist (its resource type is served). */
export class NotFoundError extends UserError {}

/** A write refused because the object changed since it was read (409, a resourceVersion). */
export class ConflictError extends UserError {}

/** The call that failed, as the user would name it to kubectl. */
export interface ApiCall {
  verb: string;
  /** `pods`, `healthdatahubs.hdh.sovereign.eu`. */
  resource: string;
  namespace?: string;
  name?: string;
}

/** Whether the fluent client rejected with a response object rather than an Error. */
function isFluentFailure(
  e: unknown,
): e is { ok: false; status?: unknown; statusText?: unknown; data?: unknown; e?: unknown } {
  return typeof e === 'object' && e !== null && !(e instanceof Error) && (e as { ok?: unknown }).ok === false;
}

/**
 * Why no answer came, when none did: the cause of the fluent client's failed fetch (`connect
 * ECONNREFUSED 127.0.0.1:6443`, a certificate refused), or a client-node error with no status.
 * Undefined when the server answered.
 */
export function transportFailure(e: unknown): string | undefined {
  if (isFluentFailure(e)) {
    const inner = e.e;
    // undici's network failures are a TypeError "fetch failed" with the reason as its cause; any
    // other error (a body that could not be parsed) came with the server's status.
    if (!(inner instanceof Error)) return undefined;
    const cause = (inner as { cause?: unknown }).cause;
    if (cause instanceof Error) return cause.message;
    return inner.message === 'fetch failed' ? inner.message : undefined;
  }
  if (statusCode(e) !== undefined) return undefined;
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
  }
  return undefined;
}

/** The API server's Status of a failed call, from either client's shape. */
function statusObject(
  e: unknown,
): { message?: string; reason?: string; details?: { name?: string } } | undefined {
  const raw = isFluentFailure(e)
    ? e.data
    : typeof e === 'object' && e !== null
      ? (e as { body?: unknown }).body
      : undefined;
  let parsed: unknown = raw;
  if (typeof raw === 'string') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  return typeof parsed === 'object' && parsed !== null
    ? (parsed as ReturnType<typeof statusObject>)
    : undefined;
}

/** The server's message for a failed call (its Status message, else the HTTP status text). */
export function serverMessage(e: unknown): string {
  const message = statusObject(e)?.message;
  if (typeof message === 'string' && message) return message;
  if (isFluentFailure(e) && typeof e.statusText === 'string' && e.statusText) return e.statusText;
  if (e instanceof Error) return e.message;
  return 'no message';
}

/** The HTTP status of a failed call, when the server answered. */
export function failedStatus(e: unknown): number | undefined {
  if (transportFailure(e) !== undefined) return undefined;
  return statusCode(e);
}

/**
 * The verb and resource a 403 names (`User "x" cannot list resource "pods" in API group "" in
 * the namespace "y"`), which is what RBAC would have to grant; undefined when it names none.
 */
export function forbiddenAction(
  message: string,
): { verb: string; resource: string; namespace?: string } | undefined {
  const m = /cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?/.exec(
    message,
  );
  if (!m) return undefined;
  const [, verb, resource, group, namespace] = m;
  return {
    verb: verb!,
    resource: group ? `${resource}.${group}` : resource!,
    ...(namespace ? { namespace } : {}),
  };
}

/** Whether a 404 says the resource type is not served (no CRD), rather than that an object is missing. */
export function resourceNotServed(e: unknown): boolean {
  const status = statusObject(e);
  return !status?.details?.name;
}

const where = (namespace: string | undefined) => (namespace ? ` in namespace ${namespace}` : '');

/** What a failed call means, as a UserError. `server` is the API server's URL, for the message. */
export function explainApiError(e: unknown, call: ApiCall, server: string): UserError {
  if (e instanceof UserError) return e;
  const transport = transportFailure(e);
  if (transport !== undefined) return new UserError(`no cluster reachable at ${server}: ${transport}`);
  const code = statusCode(e);
  const message = serverMessage(e);
  if (code === 401) {
    return new UserError(`unauthorized at ${server}: the kubeconfig's credentials were refused`);
  }
  if (code === 403) {
    const named = forbiddenAction(message);
    const verb = named?.verb ?? call.verb;
    const resource = named?.resource ?? call.resource;
    const namespace = named ? named.namespace : call.namespace;
    return new UserError(`forbidden: cannot ${verb} ${resource}${where(namespace)} (403: ${message})`);
  }
  if (code === 404 && resourceNotServed(e) && call.resource.includes('.hdh.sovereign.eu')) {
    return new UserError(
      `the CRDs are not installed: the API server at ${server} does not serve ${call.resource} ` +
        `(install them from the crds/ folder or the Helm chart)`,
    );
  }
  if (code === 404 && call.name) {
    const kind = call.resource.split('.')[0]!.replace(/ies$/, 'y').replace(/s$/, '');
    return new NotFoundError(`${kind} ${call.name} not found${where(call.namespace)}`);
  }
  const target = call.name ? `${call.resource} ${call.name}` : call.resource;
  if (code !== undefined) {
    return new UserError(`cannot ${call.verb} ${target}${where(call.namespace)}: ${code}: ${message}`);
  }
  return new UserError(`cannot ${call.verb} ${target}${where(call.namespace)}: ${message}`);
}

/** A one-line description of any error, for the last resort: no stack, no response body. */
export function describeFailure(e: unknown): string {
  if (e instanceof UserError) return e.message;
  if (isFluentFailure(e)) return `${String(e.status)}: ${serverMessage(e)}`;
  if (e instanceof Error) return e.message;
  return String(e);
}
