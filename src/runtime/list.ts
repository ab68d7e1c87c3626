import { ApiException, HttpMethod, type KubernetesObject } from '@kubernetes/client-node';
import type { ApiClients } from './client.js';

/** Which objects an informer tracks, or a list reads. */
export interface ResourceRef {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  /** Restrict to one namespace (namespaced kinds only). */
  namespace?: string;
  labelSelector?: string;
  /** e.g. `metadata.name=x`: what a label, which others may set too, cannot narrow alone. */
  fieldSelector?: string;
}

/**
 * Objects per list page. client-go's pager and kubectl use 500; pages of 1,000 halve the requests
 * of a large relist for at most a few megabytes more per response (the whole list is held in
 * memory anyway). The API server sets no upper bound of its own.
 */
export const LIST_PAGE_SIZE = 1000;

export function apiVersionOf(ref: ResourceRef): string {
  return ref.group ? `${ref.group}/${ref.version}` : ref.version;
}

export function collectionPath(ref: ResourceRef): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  return ref.namespace ? `${base}/namespaces/${ref.namespace}/${ref.plural}` : `${base}/${ref.plural}`;
}

interface ListPage<T> {
  items?: T[] | null;
  metadata?: { continue?: string; resourceVersion?: string };
}

export interface ListResult<T> {
  items: T[];
  /** The list's resourceVersion: a watch from it misses nothing. */
  resourceVersion: string;
  /** Requests made, one per page. */
  pages: number;
}

/**
 * Every object of the resource, page after page until the server returns no continue token.
 * The list is read as JSON through the runtime's request path (credentials, TLS, request
 * metrics) but not through the client library's model serializer: that one knows no list
 * type of a custom resource and reads its metadata as an object's, which drops `continue` and
 * so ends every list of custom resources after its first page. Items keep the shape the server
 * sent, as watch events do, without apiVersion and kind (list items carry neither).
 */
export async function listAll<T extends KubernetesObject>(
  clients: ApiClients,
  ref: ResourceRef,
  pageSize = LIST_PAGE_SIZE,
): Promise<ListResult<T>> {
  const { config } = clients;
  const items: T[] = [];
  let cont: string | undefined;
  let resourceVersion = '';
  let pages = 0;
  do {
    const ctx = config.baseServer.makeRequestContext(collectionPath(ref), HttpMethod.GET);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setQueryParam('limit', String(pageSize));
    if (ref.labelSelector) ctx.setQueryParam('labelSelector', ref.labelSelector);
    if (ref.fieldSelector) ctx.setQueryParam('fieldSelector', ref.fieldSelector);
    if (cont) ctx.setQueryParam('continue', cont);
    await config.authMethods.default?.applySecurityAuthentication(ctx);
    const resp = await config.httpApi.send(ctx).toPromise();
    const text = await resp.body.text();
    if (resp.httpStatusCode < 200 || resp.httpStatusCode > 299) {
      // As the generated clients throw: statusCode() and describeError() read it.
      throw new ApiException(resp.httpStatusCode, 'Unsuccessful HTTP Request', text, resp.headers);
    }
    const page = JSON.parse(text) as ListPage<T>;
    pages++;
    for (const item of page.items ?? []) items.push(item);
    cont = page.metadata?.continue || undefined;
    resourceVersion = page.metadata?.resourceVersion ?? '';
  } while (cont);
  return { items, resourceVersion, pages };
}
