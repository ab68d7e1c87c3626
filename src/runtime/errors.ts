/** The HTTP status of a Kubernetes API error, whichever client threw it. */
export function statusCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { code?: unknown; statusCode?: unknown; status?: unknown };
  for (const v of [o.code, o.statusCode, o.status]) if (typeof v === 'number') return v;
  return undefined;
}

/** For `.catch()` of a delete or read: a 404 (already gone) is success; any other error is rethrown. */
export function ignoreNotFound(e: unknown): void {
  if (statusCode(e) !== 404) throw e;
}

/**
 * A short, safe description of an error: the API status message when there is one, never the
 * raw response body (which can hold Secret data).
 */
export function describeError(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'body' in e) {
    const body = (e as { body?: unknown }).body;
    let parsed: unknown = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
    }
    const msg = (parsed as { message?: unknown } | undefined)?.message;
    const code = statusCode(e);
    if (typeof msg === 'string') return code ? `${code}: ${msg}` : msg;
    if (code) return `HTTP ${code}`;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * The API server's refusals of what was sent, which sending it again cannot change: 400 (not
 * decodable), 403 (not allowed, or over a quota), 413 (too large), 422 (invalid). Conflicts,
 * throttling, server errors and a missing namespace are not among them: a retry may succeed.
 */
export const REFUSAL_CODES: readonly number[] = [400, 403, 413, 422];

/** The longest server message carried into a refusal (its causes can repeat long values). */
const REFUSAL_MESSAGE_MAX = 2048;

/** An object write the API server refused (REFUSAL_CODES), naming the object it refused. */
export class WriteRefused extends Error {
  override readonly name = 'WriteRefused';
  constructor(
    readonly kind: string,
    readonly objectName: string,
    readonly namespace: string | undefined,
    /** The HTTP status (also read by statusCode). */
    readonly code: number,
    /** The server's message, shortened; never the response body. */
    readonly serverMessage: string,
  ) {
    super(`${code}: ${serverMessage}`);
  }

  /** `StatefulSet ns/name`. */
  get subject(): string {
    return `${this.kind} ${this.namespace ? `${this.namespace}/` : ''}${this.objectName}`;
  }
}

/** `e` as a WriteRefused for `obj` when it is a refusal; otherwise `e` unchanged. */
export function asWriteRefused(
  e: unknown,
  obj: { kind?: string; metadata?: { name?: string; namespace?: string } },
): unknown {
  const code = statusCode(e);
  if (code === undefined || !REFUSAL_CODES.includes(code) || e instanceof WriteRefused) return e;
  const described = describeError(e);
  const message = described.startsWith(`${code}: `) ? described.slice(`${code}: `.length) : described;
  return new WriteRefused(
    obj.kind ?? 'object',
    obj.metadata?.name ?? '',
    obj.metadata?.namespace,
    code,
    message.length > REFUSAL_MESSAGE_MAX ? `${message.slice(0, REFUSAL_MESSAGE_MAX)}…` : message,
  );
}
