// JSON patches (RFC 6902) for claims. Every patch starts with `test` operations on what it was
// computed from, so a claim that changed meanwhile (another writer, a recreated claim with the
// same name) makes the API server refuse it (422) instead of the patch acting on stale facts.
export type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** A map key (a label such as `hdh.sovereign.eu/hub`) as a JSON-pointer segment. */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The JSON-pointer path of a label or annotation. */
export function metadataPath(field: 'labels' | 'annotations', key: string): string {
  return `/metadata/${field}/${pointerSegment(key)}`;
}
