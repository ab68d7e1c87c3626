import { createHash } from 'node:crypto';

/**
 * `prefix + name` when it fits in `max` characters; otherwise the name is cut and a hash of the
 * whole name appended, so long names stay distinct and valid (alphanumeric at both ends).
 */
export function boundedName(prefix: string, name: string, max: number): string {
  if (prefix.length + name.length <= max) return prefix + name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  const room = Math.max(0, max - prefix.length - hash.length - 1);
  const head = name.slice(0, room).replace(/[^A-Za-z0-9]+$/, '');
  return `${prefix}${head}${head ? '-' : ''}${hash}`;
}
