import { Watch, type KubernetesObject, type V1ManagedFieldsEntry } from '@kubernetes/client-node';
import type { ApiClients } from './client.js';
import { backoffDelay } from './backoff.js';
import { describeError, statusCode } from './errors.js';
import { apiVersionOf, collectionPath, listAll, type ResourceRef } from './list.js';
import type { Logger } from './logging.js';
import { IndexedStore, objectKey, type Cache, type IndexFunc } from './cache.js';

export type { ResourceRef } from './list.js';
export { objectKey } from './cache.js';

export type InformerEvent = 'add' | 'update' | 'delete' | 'resync';
export type InformerHandler<T> = (event: InformerEvent, obj: T, old?: T) => void;

export interface InformerOptions<T extends KubernetesObject = KubernetesObject> {
  /** Server-side watch timeout; randomised in [t, 2t) like client-go to spread relists. */
  watchTimeoutSeconds?: number;
  /** Every cached object is handed to the handlers again this often (0: never). */
  resyncPeriodMs?: number;
  /** A watch that has been failing this long makes the informer unhealthy. */
  unhealthyAfterMs?: number;
  /**
   * A watch request not answered (no response headers) within this is given up and asked again at
   * once (default 10 s). The client library sets no such limit: a connection to a server that
   * does not answer (SYNs dropped, a frozen process) would wait for the kernel's own timeout,
   * about two minutes, and once the server is back for the next SYN retransmission, up to a
   * minute more.
   */
  connectTimeoutMs?: number;
  maxBackoffMs?: number;
  /**
   * The resource may not be served (an API only newer servers have): a 404 counts as an empty,
   * synced cache, checked again at the maximum backoff, and does not make the informer unhealthy.
   */
  optional?: boolean;
  /**
   * Reduces each object before it is cached and handed to handlers, as controller-runtime's cache
   * transforms do: a cache of a large resource keeps only what its readers use. The result must
   * keep metadata.name, namespace and resourceVersion.
   */
  transform?: (obj: T) => T;
  /**
   * Which entries of metadata.managedFields the cache keeps (default: all). Other managers'
   * entries are most of the size of many objects (a node's, a volume's) and read by no one.
   */
  managedFields?: (entry: V1ManagedFieldsEntry) => boolean;
  /** Objects per list request (default LIST_PAGE_SIZE); every page is read, whatever the size. */
  pageSize?: number;
  /** Indexes of the cache (Cache.byIndex), kept up to date before handlers see an event. */
  indexers?: Record<string, IndexFunc<T>>;
}

class GoneError extends Error {}
/** A watch request given up on unanswered (connectTimeoutMs). */
class NotAnsweredError extends Error {}

/**
 * List-then-watch cache of one resource. Unlike the client library's informer it never stops:
 * 410 Gone relists, any other failure reconnects with jittered backoff, a silent watch is cut by
 * a staleness timer, and `health()` reports a watch that cannot recover.
 * Handlers must only enqueue; an exception from one is logged and does not lose the event.
 */
export class Informer<T extends KubernetesObject = KubernetesObject> implements Cache<T> {
  private readonly cache: IndexedStore<T>;
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly watcher: Watch;
  private resourceVersion = '';
  private stopped = true;
  private hasSynced = false;
  private failingSince: number | undefined;
  private lastError = '';
  private abort: AbortController | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private syncWaiters: (() => void)[] = [];
  private wakeBackoff: (() => void) | undefined;
  private listCount = 0;
  private pageCount = 0;
  private attempt = 0;

  constructor(
    private readonly clients: ApiClients,
    readonly ref: ResourceRef,
    private readonly log: Logger,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.watcher = new Watch(clients.kc);
    this.cache = new IndexedStore<T>(opts.indexers);
  }

  get name(): string {
    return `${this.ref.plural}${this.ref.group ? '.' + this.ref.group : ''}`;
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(filter?: (o: T) => boolean): T[] {
    return this.cache.list(filter);
  }

  byIndex(index: string, value: string): T[] {
    return this.cache.byIndex(index, value);
  }

  /** Values of an index that hold at least one object (e.g. the nodes with pods). */
  indexValues(index: string): string[] {
    return this.cache.indexValues(index);
  }

  /** How many full lists were made (the first, plus one per 410 Gone or failed reconnect). */
  get lists(): number {
    return this.listCount;
  }

  /** How many list requests (pages) those lists took. */
  get listPages(): number {
    return this.pageCount;
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /** Healthy while the watch works, or has been failing for less than `unhealthyAfterMs`. */
  health(): { ok: boolean; reason?: string } {
    const limit = this.opts.unhealthyAfterMs ?? 60_000;
    if (this.failingSince !== undefined && Date.now() - this.failingSince > limit) {
      return {
        ok: false,
        reason: `watch of ${this.name} failing since ${new Date(this.failingSince).toISOString()}: ${this.lastError}`,
      };
    }
    return { ok: true };
  }

  async waitForSync(): Promise<void> {
    if (this.hasSynced) return;
    await new Promise<void>((r) => this.syncWaiters.push(r));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.loop();
    const period = this.opts.resyncPeriodMs ?? 0;
    if (period > 0) {
      this.resyncTimer = setInterval(() => {
        for (const o of this.cache.list()) this.emit('resync', o);
      }, period);
      this.resyncTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.abort?.abort();
    this.wakeBackoff?.();
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj, old);
      } catch (e) {
        this.log.error('informer handler failed', { resource: this.name, error: describeError(e) });
      }
    }
  }

  private async loop(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) await this.relist();
        needList = false;
        await this.watchOnce();
      } catch (e) {
        if (this.stopped) break;
        if (e instanceof GoneError) {
          this.log.info('watch expired (410 Gone), relisting', { resource: this.name });
          needList = true;
          continue;
        }
        this.failingSince ??= Date.now();
        this.lastError = describeError(e);
        if (statusCode(e) === 404 && this.opts.optional) {
          this.markSynced();
          this.failingSince = undefined;
          await this.sleep(this.opts.maxBackoffMs ?? 30_000);
          needList = true;
          continue;
        }
        if (statusCode(e) === 404) {
          this.lastError += ` (is the ${this.name} resource installed? for the operator's own kinds: kubectl apply -k config/crd)`;
        }
        needList = needList || statusCode(e) !== undefined;
        // A request nobody answered has waited its timeout already and cost the server nothing:
        // asked again at once (the backoff does not grow), a server coming back is found within
        // connectTimeoutMs rather than after a backoff grown through the whole outage.
        const delay = backoffDelay(
          e instanceof NotAnsweredError ? 0 : this.attempt++,
          200,
          this.opts.maxBackoffMs ?? 30_000,
        );
        this.log.warn('watch failed, reconnecting', {
          resource: this.name,
          error: this.lastError,
          retryInMs: delay,
        });
        await this.sleep(delay);
      }
    }
  }

  private markSynced(): void {
    if (this.hasSynced) return;
    this.hasSynced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** A backoff pause that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.wakeBackoff = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  /**
   * The object as cached: apiVersion and kind set, the managedFields entries kept, then reduced
   * by the transform, if any.
   */
  private complete(obj: T): T {
    let full = { apiVersion: apiVersionOf(this.ref), kind: this.ref.kind, ...obj } as T;
    const keep = this.opts.managedFields;
    if (keep && full.metadata?.managedFields) {
      const { managedFields, ...metadata } = full.metadata;
      const kept = managedFields.filter(keep);
      full = { ...full, metadata: kept.length > 0 ? { ...metadata, managedFields: kept } : metadata };
    }
    return this.opts.transform ? this.opts.transform(full) : full;
  }

  private async relist(): Promise<void> {
    const list = await listAll<T>(this.clients, this.ref, this.opts.pageSize);
    // List items carry no apiVersion/kind; restore them so the cache holds whole objects.
    const items = list.items.map((item) => this.complete(item));
    this.pageCount += list.pages;

    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.cache.put(item);
      if (!old) this.emit('add', item);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion)
        this.emit('update', item, old);
    }
    for (const key of this.cache.keys()) {
      if (!seen.has(key)) this.emit('delete', this.cache.remove(key)!);
    }
    this.resourceVersion = list.resourceVersion;
    this.listCount++;
    this.failingSince = undefined;
    this.markSynced();
  }

  /** One watch request; resolves when the server ends it, rejects on error or 410. */
  private watchOnce(): Promise<void> {
    const base = this.opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(base + Math.random() * base);
    const connectMs = this.opts.connectTimeoutMs ?? 10_000;
    return new Promise<void>((resolveWatch, rejectWatch) => {
      let settled = false;
      let stale: NodeJS.Timeout | undefined;
      let connecting: NodeJS.Timeout | undefined;
      let controller: AbortController | undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        if (stale) clearTimeout(stale);
        if (connecting) clearTimeout(connecting);
        if (err) rejectWatch(err);
        else resolveWatch();
      };
      const connected = () => {
        if (connecting) clearTimeout(connecting);
        connecting = undefined;
      };
      // The server ends the watch after timeoutSeconds; silence well past that means a hung
      // connection, which the client library would otherwise wait on forever.
      const armStale = () => {
        if (stale) clearTimeout(stale);
        stale = setTimeout(
          () => {
            finish(new Error(`watch silent for more than ${timeoutSeconds + 30}s`));
            controller?.abort();
          },
          (timeoutSeconds + 30) * 1000,
        );
        stale.unref();
      };
      armStale();
      // The request cannot be aborted before the library hands out its controller, once answered:
      // given up here, it is aborted then (below), and nothing it delivers is used.
      connecting = setTimeout(
        () => finish(new NotAnsweredError(`watch request not answered within ${connectMs / 1000}s`)),
        connectMs,
      );
      connecting.unref();
      this.watcher
        .watch(
          collectionPath(this.ref),
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.ref.labelSelector,
            fieldSelector: this.ref.fieldSelector,
          },
          (type: string, obj: T & { code?: number }) => {
            // A request given up on: a newer watch feeds the cache now, from where this one was.
            if (settled) return;
            connected();
            armStale();
            try {
              this.onEvent(type, obj);
            } catch (e) {
              // Settle with this error before aborting: the abort would otherwise surface first
              // as a generic "aborted" error and hide a 410 that requires a relist.
              finish(e);
              controller?.abort();
            }
          },
          (err: unknown) => finish(err ?? undefined),
        )
        .then((ac) => {
          // Failed at once (settled with its error), or answered after it was given up on.
          if (settled) return void ac.abort();
          connected();
          controller = ac;
          this.abort = ac;
          if (this.stopped) ac.abort();
          // The library settles synchronously on a failed request, so still open means connected.
          this.failingSince = undefined;
          this.attempt = 0;
        })
        .catch(finish);
    });
  }

  private onEvent(type: string, obj: T & { code?: number }): void {
    const rv = obj.metadata?.resourceVersion;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const full = this.complete(obj);
        const old = this.cache.put(full);
        if (old) this.emit('update', full, old);
        else this.emit('add', full);
        break;
      }
      case 'DELETED': {
        const old = this.cache.remove(objectKey(obj)) ?? obj;
        this.emit('delete', old);
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR':
        if (obj.code === 410) throw new GoneError('resource version too old');
        throw Object.assign(new Error(`watch error: ${(obj as { message?: string }).message ?? 'unknown'}`), {
          code: obj.code,
        });
      default:
        return;
    }
    if (rv) this.resourceVersion = rv;
  }
}
