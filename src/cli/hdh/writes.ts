// The plugin's only writes: annotations of one hub, and (destroy --delete) the hub's deletion.
// They go through @kubernetes/client-node, not the fluent client: its Patch sends JSON Patch only
// (adding one annotation would replace the whole map when the hub has none yet) and its Apply
// has a fixed field manager. A merge patch carrying the hub's UID changes only the annotations
// given, under the field manager `kubectl-hdh`, and only on the hub that was read: metadata.uid
// is immutable, so a hub deleted and recreated meanwhile refuses the patch (422). A write that
// must meet the hub exactly as it was shown (destroy) carries its resourceVersion too: any change
// since, to the spec or anything else, is refused (409), and so is a deletion after such a change
// (preconditions on the UID and the resourceVersion).
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, type HealthDataHub } from '../../api/index.js';
import { ConflictError, explainApiError, failedStatus, serverMessage, UserError } from './errors.js';
import type { Connection } from './kubeconfig.js';
import { HUB_RESOURCE } from './reads.js';

export const PLUGIN_FIELD_MANAGER = 'kubectl-hdh';

/**
 * The body of the annotation patch: the annotations, the UID they are meant for and, when given,
 * the resourceVersion the hub must still be at.
 */
export function annotationPatch(
  uid: string,
  annotations: Record<string, string>,
  resourceVersion?: string,
): object {
  return { metadata: { uid, ...(resourceVersion !== undefined ? { resourceVersion } : {}), annotations } };
}

/** The hub read is gone and another of the same name took its place: nothing was done to it. */
export function replaced(hub: HealthDataHub): UserError {
  const { namespace, name, uid } = hub.metadata;
  return new UserError(
    `healthdatahub ${namespace}/${name} was replaced since it was read (it is no longer uid ${uid}): nothing was changed`,
  );
}

/** The hub changed since it was read: the write was refused, nothing was changed by it. */
function changed(hub: HealthDataHub, what: string): ConflictError {
  const { namespace, name, resourceVersion } = hub.metadata;
  return new ConflictError(
    `healthdatahub ${namespace}/${name} changed since it was read (resourceVersion ${resourceVersion}): ${what}`,
  );
}

export interface AnnotateOptions {
  /** Refuse the patch unless the hub is still at the resourceVersion it was read at. */
  unchangedSinceRead?: boolean;
}

export async function annotateHub(
  connection: Connection,
  hub: HealthDataHub,
  annotations: Record<string, string>,
  options: AnnotateOptions = {},
): Promise<HealthDataHub> {
  const { namespace, name, uid, resourceVersion } = hub.metadata;
  const api = connection.kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    return (await api.patchNamespacedCustomObject(
      {
        group: HEALTH_DATA_HUB.group,
        version: HEALTH_DATA_HUB.version,
        plural: HEALTH_DATA_HUB.plural,
        namespace: namespace!,
        name: name!,
        body: annotationPatch(uid!, annotations, options.unchangedSinceRead ? resourceVersion! : undefined),
        fieldManager: PLUGIN_FIELD_MANAGER,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as HealthDataHub;
  } catch (e) {
    const status = failedStatus(e);
    if (status === 422 && serverMessage(e).includes('metadata.uid')) throw replaced(hub);
    if (status === 409) throw changed(hub, 'nothing was changed');
    throw explainApiError(e, { verb: 'patch', resource: HUB_RESOURCE, namespace, name }, connection.server);
  }
}

/**
 * Deletes the hub as it was read (preconditions on its UID and resourceVersion), leaving its
 * finalizer to do the rest.
 */
export async function deleteHub(connection: Connection, hub: HealthDataHub): Promise<void> {
  const { namespace, name, uid, resourceVersion } = hub.metadata;
  const api = connection.kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    await api.deleteNamespacedCustomObject({
      group: HEALTH_DATA_HUB.group,
      version: HEALTH_DATA_HUB.version,
      plural: HEALTH_DATA_HUB.plural,
      namespace: namespace!,
      name: name!,
      body: { preconditions: { uid: uid!, resourceVersion: resourceVersion! } },
    });
  } catch (e) {
    if (failedStatus(e) === 409) {
      // "the UID in the precondition (…) does not match the UID in record" (the early check), or
      // "Precondition failed: UID in precondition: …" (storage's): another hub of the name.
      if (/\bUID in (the )?precondition\b/.test(serverMessage(e))) throw replaced(hub);
      throw changed(hub, 'it was not deleted');
    }
    throw explainApiError(e, { verb: 'delete', resource: HUB_RESOURCE, namespace, name }, connection.server);
  }
}
