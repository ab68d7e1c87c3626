/**
 * A metav1.MicroTime string (exactly six fractional digits). The client library serialises
 * `Date` values with millisecond precision, which the API server rejects for MicroTime fields
 * (Lease renewTime, Event eventTime); a string is passed through unchanged.
 */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Reads a MicroTime/Time field whether the client returned a string or a Date. */
export function timeMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') return Date.parse(value);
  return 0;
}
