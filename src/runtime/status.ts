import { isDeepStrictEqual } from 'node:util';

/**
 * True when a status write would change nothing. Both sides go through JSON so that undefined
 * fields and key order do not force a write.
 */
export function statusUnchanged(current: unknown, desired: unknown): boolean {
  const norm = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  return isDeepStrictEqual(norm(current), norm(desired));
}
