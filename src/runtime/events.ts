import { EventsV1Api, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { ApiClients } from './client.js';
import { describeError } from './errors.js';
import { microTime } from './time.js';
import type { Logger } from './logging.js';

export type EventType = 'Normal' | 'Warning';

/** What reconcilers record Events through: the recorder, or the unit tests' fake cluster. */
export interface EventSink {
  record(
    regarding: KubernetesObject,
    type: EventType,
    reason: string,
    note: string,
    action?: string,
  ): Promise<void>;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  firstSeen: number;
  lastWritten: number;
}

const SERIES_WINDOW_MS = 10 * 60_000;
const SERIES_WRITE_INTERVAL_MS = 30_000;

/**
 * Records events.k8s.io/v1 Events. Repeats of the same (object, type, reason, note) within ten
 * minutes become one Event with a growing `series.count`, written at most every 30 s, so a hot
 * loop cannot flood etcd. Notes must never contain secret values.
 */
export class EventRecorder implements EventSink {
  private readonly api: EventsV1Api;
  private readonly series = new Map<string, Series>();

  constructor(
    clients: ApiClients,
    private readonly controller: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {
    this.api = clients.make(EventsV1Api);
  }

  async record(
    regarding: KubernetesObject,
    type: EventType,
    reason: string,
    note: string,
    action = reason,
  ): Promise<void> {
    const md = regarding.metadata ?? {};
    const namespace = md.namespace ?? 'default';
    const key = `${md.uid}|${type}|${reason}|${note}`;
    const now = Date.now();
    const s = this.series.get(key);
    try {
      if (s && now - s.firstSeen < SERIES_WINDOW_MS) {
        s.count++;
        if (now - s.lastWritten < SERIES_WRITE_INTERVAL_MS) return;
        s.lastWritten = now;
        await this.api.patchNamespacedEvent(
          {
            name: s.name,
            namespace: s.namespace,
            body: { series: { count: s.count, lastObservedTime: microTime(new Date(now)) } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      }
      const suffix = createHash('sha256').update(`${key}|${now}`).digest('hex').slice(0, 10);
      const name = `${md.name}.${suffix}`;
      await this.api.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          eventTime: microTime(new Date(now)) as never,
          reportingController: this.controller,
          reportingInstance: this.instance,
          action,
          reason,
          note: note.slice(0, 1024),
          type,
          regarding: {
            apiVersion: regarding.apiVersion,
            kind: regarding.kind,
            name: md.name,
            namespace: md.namespace,
            uid: md.uid,
            resourceVersion: md.resourceVersion,
          },
        },
      });
      this.series.set(key, { name, namespace, count: 1, firstSeen: now, lastWritten: now });
      this.prune(now);
    } catch (e) {
      // Events are best effort: a failure is logged, never fails a reconcile.
      this.log.warn('could not record event', { reason, error: describeError(e) });
    }
  }

  private prune(now: number): void {
    for (const [k, v] of this.series) if (now - v.firstSeen >= SERIES_WINDOW_MS) this.series.delete(k);
  }
}
