// The identity of a hub's key-encryption key (KEK) at its provider. It includes the hub's UID so
// that a hub deleted and recreated under the same name never finds, uses or destroys the keys of
// its predecessor: only an explicit adoption can bring retained keys to a new hub.
import { API_GROUP } from '../api/index.js';

/** The hub a key belongs to, as read from its metadata. */
export interface HubRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface KeyIdentity {
  /**
   * `hdh-<namespace>-<name>-<uid>`: a Secret name for the builtin provider, the CKA_LABEL of the
   * PKCS#11 key object, the Transit key name. Readable by people; unique through the UID.
   */
  readonly name: string;
  /** The hub's UID as 16 bytes: the PKCS#11 CKA_ID, so the token links the object to the hub. */
  readonly id: Buffer;
  readonly hub: Readonly<HubRef>;
}

/** Label on key objects kept in the operator's namespace: the hub's namespace. */
export const LABEL_HUB_NAMESPACE = `${API_GROUP}/hub-namespace`;
/** Label on key objects: the UID of the hub the key belongs to. */
export const LABEL_HUB_UID = `${API_GROUP}/hub-uid`;

// The API server always assigns RFC 4122 UUIDs; anything else means the hub was not read from it.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a UID as the API server assigns them. */
export function isUid(value: string): boolean {
  return UUID.test(value);
}
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// A Secret name (DNS subdomain) holds at most 253 characters; hub names (at most 52) and
// namespaces (at most 63) keep identities far below.
const MAX_IDENTITY = 253;

/** The key identity of a hub. Throws when the hub has no UID yet: such a hub never gets a key. */
export function keyIdentity(hub: HubRef): KeyIdentity {
  if (!isUid(hub.uid)) {
    throw new Error(
      `hub ${hub.namespace}/${hub.name} has no valid metadata.uid; keys are only made for stored hubs`,
    );
  }
  for (const [what, value] of [
    ['namespace', hub.namespace],
    ['name', hub.name],
  ] as const) {
    if (value.length > 63 || !DNS_LABEL.test(value)) {
      throw new Error(`hub ${what} ${JSON.stringify(value)} is not a DNS-1123 label`);
    }
  }
  const name = `hdh-${hub.namespace}-${hub.name}-${hub.uid}`;
  if (name.length > MAX_IDENTITY)
    throw new Error(`key identity for hub ${hub.namespace}/${hub.name} is too long`);
  return Object.freeze({
    name,
    id: Buffer.from(hub.uid.replaceAll('-', ''), 'hex'),
    hub: Object.freeze({ namespace: hub.namespace, name: hub.name, uid: hub.uid }),
  });
}

/**
 * The UID in the key identity a KEK reference names for this hub's namespace and name (every
 * provider's reference contains the identity), or undefined when it names none.
 */
export function uidInKeyRef(ref: string, hub: Pick<HubRef, 'namespace' | 'name'>): string | undefined {
  const prefix = `hdh-${hub.namespace}-${hub.name}-`;
  const at = ref.indexOf(prefix);
  if (at < 0) return undefined;
  const uid = ref.slice(at + prefix.length, at + prefix.length + 36);
  return isUid(uid) ? uid : undefined;
}

/** The hub reference of an object read from the API server (a HealthDataHub). */
export function hubRefOf(obj: { metadata?: { namespace?: string; name?: string; uid?: string } }): HubRef {
  const { namespace, name, uid } = obj.metadata ?? {};
  if (!namespace || !name || !uid) throw new Error('hub metadata lacks namespace, name or uid');
  return { namespace, name, uid };
}
