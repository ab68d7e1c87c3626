// Writes the durable history (src/api/history.ts): one ConfigMap per namespace holding hubs, in
// the operator's own namespace. Entries of a namespace are queued and appended in order, several
// at a time, by one writer per namespace: created when absent, replaced with the resourceVersion
// read (a conflict is read again and retried a few times), not written at all when every entry
// was on record already. A ConfigMap that cannot be read as a history is never replaced: nothing
// is recorded there (said once) until someone repairs or removes it. The action recorded never
// fails because of its record: a record that cannot be written is logged and dropped, and the
// caller learns it (record resolves false).
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import {
  appendHistory,
  historyConfigMapName,
  readStoredHistory,
  renderHistoryConfigMap,
  type HistoryEntry,
  type HistorySink,
} from '../api/history.js';
import { describeError, statusCode } from '../runtime/errors.js';
import type { Logger } from '../runtime/logging.js';

/** The ConfigMap requests the recorder makes (CoreV1Api; narrowed for the unit tests' fake). */
export type HistoryConfigMapApi = Pick<
  CoreV1Api,
  'readNamespacedConfigMap' | 'createNamespacedConfigMap' | 'replaceNamespacedConfigMap'
>;

export interface HistoryRecorderOptions {
  api: HistoryConfigMapApi;
  /** Where the history ConfigMaps live. */
  operatorNamespace: string;
  log: Logger;
  /** Writes tried per batch when another writer got there first (409). Default 5. */
  attempts?: number;
}

interface Queue {
  pending: { entries: readonly HistoryEntry[]; done: (written: boolean) => void }[];
}

/** The ConfigMap is there but is not a history this version can read: it is left as it is. */
class UnreadableHistory extends Error {}

export class HistoryRecorder implements HistorySink {
  private readonly queues = new Map<string, Queue>();
  /** Namespaces whose unreadable ConfigMap was already warned about. */
  private readonly warned = new Set<string>();

  constructor(private readonly o: HistoryRecorderOptions) {}

  record(namespace: string, entries: readonly HistoryEntry[]): Promise<boolean> {
    if (entries.length === 0) return Promise.resolve(true);
    return new Promise((done) => {
      const running = this.queues.get(namespace);
      if (running) {
        running.pending.push({ entries, done });
        return;
      }
      const queue: Queue = { pending: [{ entries, done }] };
      this.queues.set(namespace, queue);
      void this.drain(namespace, queue);
    });
  }

  /** Appends what is queued for `namespace`, batch after batch, until nothing is left. */
  private async drain(namespace: string, queue: Queue): Promise<void> {
    while (queue.pending.length > 0) {
      const batch = queue.pending.splice(0);
      const entries = batch.flatMap((b) => b.entries);
      let written = true;
      try {
        await this.append(namespace, entries);
        this.warned.delete(namespace);
      } catch (e) {
        written = false;
        this.failed(namespace, entries, e);
      }
      for (const b of batch) b.done(written);
    }
    // Nothing awaited since the loop's last check: no entry can be queued in between.
    this.queues.delete(namespace);
  }

  private failed(namespace: string, entries: readonly HistoryEntry[], e: unknown): void {
    const meta = {
      namespace,
      configMap: `${this.o.operatorNamespace}/${historyConfigMapName(namespace)}`,
      entries: entries.map((x) => x.type).join(','),
      error: describeError(e),
    };
    if (!(e instanceof UnreadableHistory)) {
      this.o.log.warn('history entries not recorded', meta);
    } else if (this.warned.has(namespace)) {
      this.o.log.debug('history entries not recorded', meta);
    } else {
      this.warned.add(namespace);
      this.o.log.warn(
        'history ConfigMap cannot be read; it is left as it is and nothing is recorded in it until it is repaired or removed',
        meta,
      );
    }
  }

  private async append(namespace: string, added: readonly HistoryEntry[]): Promise<void> {
    const name = historyConfigMapName(namespace);
    const attempts = this.o.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(name);
      const stored = readStoredHistory(current);
      if ('unparsable' in stored) throw new UnreadableHistory(`it cannot be read: ${stored.unparsable}`);
      const entries = appendHistory(stored.entries, added);
      // Everything was on record already (evidence derived again after a restart).
      if (current && sameElements(entries, stored.entries)) return;
      const body = renderHistoryConfigMap(namespace, this.o.operatorNamespace, entries);
      try {
        if (!current) {
          await this.o.api.createNamespacedConfigMap({ namespace: this.o.operatorNamespace, body });
        } else {
          body.metadata!.resourceVersion = current.metadata?.resourceVersion;
          await this.o.api.replaceNamespacedConfigMap({ name, namespace: this.o.operatorNamespace, body });
        }
        return;
      } catch (e) {
        // 409: created or changed by another writer since it was read; read it again.
        if (statusCode(e) !== 409 || attempt >= attempts) throw e;
      }
    }
  }

  private async read(name: string): Promise<V1ConfigMap | undefined> {
    try {
      return await this.o.api.readNamespacedConfigMap({ name, namespace: this.o.operatorNamespace });
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }
}

function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
