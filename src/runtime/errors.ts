/** The HTTP status of a Kubernetes API error, whichever client threw it. */
export function statusCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { code?: unknown; statusCode?: unknown; status?: unknown };
  for (const v of [o.code, o.statusCode, o.status]) if (typeof v === 'number') return v;
  return undefined;
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
