// The read side every reconciler sees: an informer's cache, or an in-memory one in unit tests.
import type { KubernetesObject } from '@kubernetes/client-node';

/** An index function: the values under which an object is found (none: not indexed). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** Reads of one resource's cache. */
export interface Cache<T extends KubernetesObject = KubernetesObject> {
  /** By key: `namespace/name`, or `name` for cluster-scoped objects. */
  get(key: string): T | undefined;
  list(filter?: (o: T) => boolean): T[];
  /** The objects an index function put under `value`, as client-go's ByIndex. */
  byIndex(index: string, value: string): T[];
}

export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : (obj.metadata?.name ?? '');
}

/** Built-in index: objects by namespace. */
export const BY_NAMESPACE = 'namespace';

/**
 * A keyed store with indexes kept up to date on every change: what an informer holds, and what
 * the unit tests' fake cluster holds.
 */
export class IndexedStore<T extends KubernetesObject> implements Cache<T> {
  private readonly objects = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index → value → keys */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndex(BY_NAMESPACE, (o) => (o.metadata?.namespace ? [o.metadata.namespace] : []));
    for (const [name, fn] of Object.entries(indexers)) this.addIndex(name, fn);
  }

  /** Adds an index; objects already stored are indexed at once. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name)) throw new Error(`index ${name} already exists`);
    this.indexers.set(name, fn);
    this.indexes.set(name, new Map());
    for (const [key, obj] of this.objects) this.indexOne(name, fn, key, obj);
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(filter?: (o: T) => boolean): T[] {
    const all = [...this.objects.values()];
    return filter ? all.filter(filter) : all;
  }

  byIndex(index: string, value: string): T[] {
    const byValue = this.indexes.get(index);
    if (!byValue) throw new Error(`no index ${index}`);
    return [...(byValue.get(value) ?? [])].flatMap((k) => this.objects.get(k) ?? []);
  }

  /** Values of an index that hold at least one object. */
  indexValues(index: string): string[] {
    return [...(this.indexes.get(index)?.keys() ?? [])];
  }

  keys(): string[] {
    return [...this.objects.keys()];
  }

  /** Stores `obj`; returns the object it replaced. */
  put(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.objects.get(key);
    if (old) this.unindex(key, old);
    this.objects.set(key, obj);
    for (const [name, fn] of this.indexers) this.indexOne(name, fn, key, obj);
    return old;
  }

  /** Removes the object under `key`; returns it. */
  remove(key: string): T | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.objects.delete(key);
    return old;
  }

  private indexOne(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
    const byValue = this.indexes.get(name)!;
    for (const value of fn(obj)) {
      let keys = byValue.get(value);
      if (!keys) byValue.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const byValue = this.indexes.get(name)!;
      for (const value of fn(obj)) {
        const keys = byValue.get(value);
        keys?.delete(key);
        if (keys?.size === 0) byValue.delete(value);
      }
    }
  }
}
