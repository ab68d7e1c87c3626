// What the operator's heap holds at rest, from a heap snapshot: self size by kind of object
// (constructor name, or V8's category for strings, code, arrays…), so memory per hub can be
// attributed without a viewer. Self sizes only: what retains what needs a viewer.
import { readFileSync } from 'node:fs';

const TOP = 20;

/** The largest kinds of object in a .heapsnapshot file, with their count and self size. */
export function summarizeHeapSnapshot(file) {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.meta.node_fields;
  const types = snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const byKind = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + typeAt]];
    const size = nodes[i + sizeAt];
    total += size;
    // Objects and closures by constructor; everything else by V8's category.
    const kind = type === 'object' || type === 'closure' ? strings[nodes[i + nameAt]] : `(${type})`;
    const k = byKind.get(kind) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += size;
    byKind.set(kind, k);
  }
  const top = [...byKind]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, TOP)
    .map(([kind, k]) => ({
      kind,
      count: k.count,
      bytes: k.bytes,
      share: Number((k.bytes / total).toFixed(3)),
    }));
  return { totalBytes: total, top };
}
