// Whether a server-side apply would change nothing: the check that lets a process that has just
// started (an empty AppliedCache) skip the objects an earlier process applied, instead of sending
// one no-op PATCH per object, which the API server still counts, authorizes and audits as a write.
//
// An apply of `desired` by field manager M changes the object when a field it sets has another
// value, when M does not own a field it sets yet (the apply would take it), or when M owns a field
// it no longer sets (the apply would remove it). So the object is unchanged when the live object's
// Apply entry of M (metadata.managedFields) owns exactly the fields of `desired`, and every one of
// them holds the desired value. Ownership is read from fieldsV1 without the schema: a node with
// no children is a field owned whole (a scalar, an atomic list or struct); `k:`, `v:` and `i:`
// children are the items of a keyed, set or indexed list. Anything this reading does not
// recognise answers false: the cost of a wrong "changed" is one write, of a wrong "unchanged" a
// drift left in place.
import type { KubernetesObject, V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Fields = Record<string, unknown>;

/** True when applying `desired` as `fieldManager` would leave `live` as it is. */
export function unchangedOnServer(
  desired: KubernetesObject,
  live: KubernetesObject | undefined,
  fieldManager: string,
): boolean {
  if (!live?.metadata || live.metadata.deletionTimestamp) return false;
  const entry = appliedEntry(live.metadata.managedFields, fieldManager);
  if (!entry?.fieldsV1 || typeof entry.fieldsV1 !== 'object') return false;
  if (entry.apiVersion && desired.apiVersion && entry.apiVersion !== desired.apiVersion) return false;
  const want = withoutIdentity(JSON.parse(JSON.stringify(desired)) as { [key: string]: Json });
  return owns(entry.fieldsV1 as Fields, want) && holds(want, live as unknown as Json);
}

/** The entry of `manager`'s server-side applies to the object itself (not a subresource). */
export function appliedEntry(
  entries: readonly V1ManagedFieldsEntry[] | undefined,
  manager: string,
): V1ManagedFieldsEntry | undefined {
  return entries?.find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource);
}

/** apiVersion, kind, metadata.name and namespace identify the object; fieldsV1 never lists them. */
function withoutIdentity(obj: { [key: string]: Json }): { [key: string]: Json } {
  const { apiVersion: _v, kind: _k, metadata, ...rest } = obj;
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) return rest;
  const { name: _n, namespace: _ns, ...meta } = metadata;
  return Object.keys(meta).length > 0 ? { ...rest, metadata: meta } : rest;
}

const childrenOf = (fields: Fields) => Object.keys(fields).filter((k) => k !== '.');

/** Whether `fields` (a fieldsV1 node) is exactly the set of fields `value` sets. */
function owns(fields: unknown, value: Json): boolean {
  if (!fields || typeof fields !== 'object' || Array.isArray(fields)) return false;
  const f = fields as Fields;
  const children = childrenOf(f);
  // Owned whole: a scalar, or a list or struct the schema makes atomic.
  if (children.length === 0) return true;
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return ownsItems(f, children, value);
  const keys = Object.keys(value);
  if (children.length !== keys.length) return false;
  return keys.every((k) => owns(f[`f:${k}`], value[k]!));
}

/** Each item of `items` is named by exactly one child (`k:`, `v:` or `i:`), and owned there. */
function ownsItems(fields: Fields, children: string[], items: Json[]): boolean {
  if (children.length !== items.length) return false;
  const matched = new Set<number>();
  for (const child of children) {
    const i = itemOf(child, items);
    if (i === undefined || matched.has(i)) return false;
    matched.add(i);
    if (child.startsWith('k:') && !owns(fields[child], items[i]!)) return false;
  }
  return true;
}

/** The index of the one item `child` names; undefined when none or several do. */
function itemOf(child: string, items: Json[]): number | undefined {
  const kind = child.slice(0, 2);
  const arg = child.slice(2);
  if (kind === 'i:') {
    const i = Number(arg);
    return Number.isInteger(i) && i >= 0 && i < items.length ? i : undefined;
  }
  if (kind !== 'k:' && kind !== 'v:') return undefined;
  let parsed: Json;
  try {
    parsed = JSON.parse(arg) as Json;
  } catch {
    return undefined;
  }
  const matches = items
    .map((item, i) => ({ item, i }))
    .filter(({ item }) => (kind === 'v:' ? isDeepStrictEqual(item, parsed) : keyMatches(parsed, item)));
  return matches.length === 1 ? matches[0]!.i : undefined;
}

/**
 * A keyed item matches when every key field it sets has the key's value; a key field it leaves
 * out is one the server defaulted (a port's protocol), which the key then records.
 */
function keyMatches(key: Json, item: Json): boolean {
  if (!key || typeof key !== 'object' || Array.isArray(key)) return false;
  if (!item || typeof item !== 'object' || Array.isArray(item)) return false;
  return Object.entries(key).every(([k, v]) => !(k in item) || isDeepStrictEqual(item[k], v));
}

/**
 * Whether `live` holds every value `desired` sets: objects may have more fields (defaults, other
 * managers'), lists must have the same items in the same order.
 */
function holds(desired: Json, live: Json | undefined): boolean {
  if (desired === null || typeof desired !== 'object') return desired === live;
  if (live === null || live === undefined || typeof live !== 'object') return false;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) && live.length === desired.length && desired.every((d, i) => holds(d, live[i]))
    );
  }
  if (Array.isArray(live)) return false;
  return Object.entries(desired).every(([k, v]) => holds(v, live[k]));
}
