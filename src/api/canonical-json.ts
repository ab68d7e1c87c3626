// Canonical JSON (RFC 8785, the JSON Canonicalization Scheme): the one byte sequence a value has,
// so that a digest or a signature over a report does not depend on who printed it. Object keys
// are sorted by UTF-16 code units, nothing is indented, strings and numbers are written as
// ECMAScript's JSON.stringify writes them (which is what RFC 8785 specifies).
import { createHash } from 'node:crypto';
import { compareText } from './order.js';

export const CANONICALIZATION = 'RFC8785';

/**
 * The canonical JSON of a value made of plain objects, arrays, strings, finite numbers, booleans
 * and null. Properties whose value is undefined are left out, as JSON.stringify does; anything
 * else (undefined in an array, NaN, Infinity, bigint, functions, Dates and other class instances)
 * is refused rather than silently written some other way.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${path} is ${value}: JSON has no non-finite numbers`);
      // ECMAScript's Number to String, as RFC 8785 requires (-0 is written 0).
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new Error(`${path} is a ${typeof value}, which JSON cannot represent`);
  }
  if (Array.isArray(value)) {
    return `[${value
      .map((item, i) => {
        if (item === undefined) throw new Error(`${path}[${i}] is undefined, which JSON cannot represent`);
        return write(item, `${path}[${i}]`);
      })
      .join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new Error(`${path} is not a plain object (${describe(value)}); convert it to JSON values first`);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    // UTF-16 code unit order, as RFC 8785 sorts keys.
    .sort(compareText);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${write(record[k], `${path}.${k}`)}`).join(',')}}`;
}

function describe(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' ? name : 'object';
}

/** SHA-256 of the UTF-8 bytes of `text`, in lower-case hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
