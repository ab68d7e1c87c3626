// `rotate HUB` and `adopt-keys HUB --from-uid UID`: the annotations the keys controller acts on,
// set on the hub that was read, with what was done and how to watch it.
import {
  ANNOTATION_ADOPT_KEYS,
  ANNOTATION_ROTATE_KEY,
  getCondition,
  type HealthDataHub,
} from '../../api/index.js';
import { UserError } from './errors.js';
import { connect } from './kubeconfig.js';
import { Reader } from './reads.js';
import { checkHubName, checkScope, checkUid, type CommonOptions } from './scope.js';
import type { Terminal } from './terminal.js';
import { oneLine } from './terminal.js';
import { annotateHub } from './writes.js';

/** The hub named on the command line, read from its namespace (-n, else the context's). */
export async function readNamedHub(name: string, opts: CommonOptions) {
  checkHubName(name);
  checkScope(opts);
  if (opts.allNamespaces)
    throw new UserError('a hub is named within one namespace: give -n NAMESPACE, not -A');
  const connection = connect(opts);
  const namespace = opts.namespace || connection.namespace;
  const hub = await new Reader(connection).hub(namespace, name);
  return { connection, namespace, hub };
}

/** A hub being deleted takes no new key work. */
function refuseDeleting(hub: HealthDataHub, what: string): void {
  if (hub.metadata.deletionTimestamp) {
    throw new UserError(
      `healthdatahub ${hub.metadata.namespace}/${hub.metadata.name} is being deleted (since ${hub.metadata.deletionTimestamp}): no ${what}`,
    );
  }
}

/** A value the rotate-key annotation never had: the time, to the millisecond. */
export function rotationValue(now: Date, previous: string | undefined): string {
  const value = now.toISOString();
  return value === previous ? new Date(now.getTime() + 1).toISOString() : value;
}

/** What rotate prints: what it did, and how to see the new version arrive. */
export function rotateMessage(hub: HealthDataHub, value: string): string {
  const { namespace, name } = hub.metadata;
  const enc = hub.status?.encryption;
  const now =
    enc?.activeVersion !== undefined ? `version ${enc.activeVersion} is active` : 'no version is active yet';
  const lines = [
    `healthdatahub ${namespace}/${name}: ${ANNOTATION_ROTATE_KEY} set to ${value}`,
    `${now}; the operator adds one key version and makes it active (older versions keep decrypting).`,
  ];
  if (hub.spec.suspend) lines.push('The hub is suspended: the rotation waits until spec.suspend is false.');
  lines.push(
    'Watch it:',
    `  kubectl -n ${namespace} get healthdatahub ${name} -o jsonpath='{.status.encryption.activeVersion}{"\\n"}' -w`,
    `  kubectl hdh status ${name} -n ${namespace}`,
  );
  return `${lines.join('\n')}\n`;
}

export async function rotateCommand(name: string, opts: CommonOptions, term: Terminal): Promise<void> {
  const { connection, hub } = await readNamedHub(name, opts);
  refuseDeleting(hub, 'rotation');
  const value = rotationValue(new Date(), hub.metadata.annotations?.[ANNOTATION_ROTATE_KEY]);
  await annotateHub(connection, hub, { [ANNOTATION_ROTATE_KEY]: value });
  term.out(rotateMessage(hub, value));
}

export interface AdoptOptions extends CommonOptions {
  fromUid: string;
}

/** What adopt-keys prints, with the hub's current KeysReady and how to wait for the adoption. */
export function adoptMessage(hub: HealthDataHub, fromUid: string): string {
  const { namespace, name } = hub.metadata;
  const keys = getCondition(hub.status?.conditions, 'KeysReady');
  const lines = [
    `healthdatahub ${namespace}/${name}: ${ANNOTATION_ADOPT_KEYS} set to ${fromUid}`,
    'The operator adopts the keys kept from that earlier hub only if its <hub>-keys Secret names that UID,',
    'the provider settings lead to the same key-encryption key and the active version unwraps under it.',
  ];
  if (keys) lines.push(oneLine(`KeysReady was ${keys.status} (${keys.reason}): ${keys.message ?? ''}`));
  lines.push(
    'Wait for it:',
    `  kubectl -n ${namespace} wait healthdatahub/${name} --for=condition=KeysReady --timeout=2m`,
  );
  return `${lines.join('\n')}\n`;
}

export async function adoptKeysCommand(name: string, opts: AdoptOptions, term: Terminal): Promise<void> {
  checkUid('--from-uid', opts.fromUid);
  const { connection, hub } = await readNamedHub(name, opts);
  refuseDeleting(hub, 'adoption');
  if (opts.fromUid === hub.metadata.uid) {
    throw new UserError(
      `--from-uid ${opts.fromUid} is the UID of this hub itself; give the UID of the earlier hub whose keys were kept ` +
        `(the hdh.sovereign.eu/retained-from label of the ${name}-keys Secret)`,
    );
  }
  await annotateHub(connection, hub, { [ANNOTATION_ADOPT_KEYS]: opts.fromUid });
  term.out(adoptMessage(hub, opts.fromUid));
}
