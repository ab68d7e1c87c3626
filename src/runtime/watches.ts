// Declarative wiring, as controller-runtime's Watches with EnqueueRequestsFromMapFunc: a controller
// says which events of which cache wake which of its keys, as data with pure functions that unit
// tests can run on tables of events.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerEvent, InformerHandler } from './informer.js';

/** Where events come from: an informer, or the fake cluster of the unit tests. */
export interface EventSource<T> {
  on(handler: InformerHandler<T>): void;
}

export interface Watch<T extends KubernetesObject = KubernetesObject> {
  /** What the watch is for: named in tests and in logs. */
  name: string;
  source: EventSource<T>;
  /** Whether the event can matter at all (default: every event but resyncs). */
  predicate?: (event: InformerEvent, obj: T, old?: T) => boolean;
  /** The keys the event wakes; on an update both the old and the new object are given. */
  map: (event: InformerEvent, obj: T, old?: T) => readonly string[];
  /**
   * Wakes the keys this long after the event instead of at once, for a status that counts
   * objects: a burst of creations is then counted in one reconcile, not one per object.
   */
  delayMs?: number;
}

/** A watch of any kind, so that a controller lists its watches of several kinds together. */
export type AnyWatch = Watch<KubernetesObject>;

export function watch<T extends KubernetesObject>(w: Watch<T>): AnyWatch {
  return w as unknown as AnyWatch;
}

/** Resyncs re-deliver every cached object; most watches leave them to the periodic audits. */
export const notResync = (event: InformerEvent): boolean => event !== 'resync';

/** The keys one event wakes through one watch (what `connect` enqueues). */
export function keysFor<T extends KubernetesObject>(
  w: Watch<T>,
  event: InformerEvent,
  obj: T,
  old?: T,
): readonly string[] {
  const pass = w.predicate ? w.predicate(event, obj, old) : notResync(event);
  return pass ? w.map(event, obj, old) : [];
}

/** Registers each watch on its source, enqueueing the keys it maps each event to. */
export function connect(
  enqueue: (key: string, afterMs?: number) => void,
  watches: readonly AnyWatch[],
): void {
  for (const w of watches) {
    w.source.on((event, obj, old) => {
      for (const key of keysFor(w, event, obj, old)) enqueue(key, w.delayMs);
    });
  }
}
