// The identity of a hub's key-encryption key (KEK) at its provider. It includes the hub's UID so
// that a hub deleted and recreated under the same name never finds, uses or destroys the keys of
// its predecessor: only an explicit adoption can bring retained keys to a new hub.
//
// The identity must be injective over (namespace, name, uid): two hubs never share a KEK name.
// `hdh.<namespace>.<name>.<uid>` is: namespaces and hub names are DNS-1123 labels, which never
// contain a dot, so the three parts are read back unambiguously (parseKeyName). The first scheme,
// `hdh-<namespace>-<name>-<uid>`, was not (namespace `ten-a` + hub `x` and namespace `ten` + hub
// `a-x` share a prefix); keys made under it keep their names and are read with legacyKeyIdentity,
// but only under the ownership rules of lifecycle.ts, since the name alone does not say whose
// they are. Legacy names never contain a dot, so the two schemes never name the same key.
import { createHash } from 'node:crypto';
import { API_GROUP } from '../api/index.js';

/** The hub a key belongs to, as read from its metadata. */
export interface HubRef {
  namespace: string;
  name: string;
  uid: string;
}

/** `current`: `hdh.<namespace>.<name>.<uid>`; `legacy`: `hdh-<namespace>-<name>-<uid>`. */
export type KeyScheme = 'current' | 'legacy';

export interface KeyIdentity {
  /**
   * A Secret name for the builtin provider, the CKA_LABEL of the PKCS#11 key object, the Transit
   * key name, and the additional authenticated data of every DEK it wraps. Readable by people.
   */
  readonly name: string;
  /**
   * The PKCS#11 CKA_ID: SHA-256 of the name (current scheme), or the UID's 16 bytes (legacy).
   * Either way it differs for every identity, and the two schemes differ in length.
   */
  readonly id: Buffer;
  /** The hub that owns the key. */
  readonly hub: Readonly<HubRef>;
  readonly scheme: KeyScheme;
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
// namespaces (at most 63) keep identities far below (at most 4 + 63 + 1 + 63 + 1 + 36 = 168).
const MAX_IDENTITY = 253;
const PREFIX = 'hdh';

/** The key identity of a hub, current scheme. Throws when the hub has no UID yet: such a hub never gets a key. */
export function keyIdentity(hub: HubRef): KeyIdentity {
  checkHub(hub);
  const name = `${PREFIX}.${hub.namespace}.${hub.name}.${hub.uid}`;
  return identity(name, createHash('sha256').update(name, 'utf8').digest(), hub, 'current');
}

/**
 * The identity a key of this hub had under the first scheme, `hdh-<namespace>-<name>-<uid>`:
 * only to find keys made before the current scheme. The name is ambiguous at hyphens, so whose key
 * it is must be established otherwise (see lifecycle.ts); never used to create a key.
 */
export function legacyKeyIdentity(hub: HubRef): KeyIdentity {
  checkHub(hub);
  const name = `${PREFIX}-${hub.namespace}-${hub.name}-${hub.uid}`;
  return identity(name, Buffer.from(hub.uid.replaceAll('-', ''), 'hex'), hub, 'legacy');
}

/** The hub a current-scheme key name belongs to, or undefined when it is not one. */
export function parseKeyName(name: string): HubRef | undefined {
  const parts = name.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) return undefined;
  const [, namespace, hubName, uid] = parts as [string, string, string, string];
  const hub = { namespace, name: hubName, uid };
  try {
    checkHub(hub);
  } catch {
    return undefined;
  }
  return hub;
}

/**
 * The identity of `hub`'s namespace and name with `uid` (current scheme first, then legacy)
 * whose name `ref` names as a whole, or undefined when `ref` names neither. `ref` is a provider
 * reference (status.encryption.keyRef, the kek-ref of a key set): `secret/<ns>/<name>`,
 * `pkcs11:…;object=<name>;…` or `<address>/v1/<mount>/keys/<name>`.
 */
export function identityNamedBy(ref: string, hub: HubRef): KeyIdentity | undefined {
  return [keyIdentity(hub), legacyKeyIdentity(hub)].find((id) => refNames(ref, id.name));
}

/** Whether a provider reference names the key `name` (as its last path segment or PKCS#11 object). */
function refNames(ref: string, name: string): boolean {
  return ref.endsWith(`/${name}`) || ref.includes(`;object=${encodeURIComponent(name)};`);
}

/**
 * The UIDs of the keys of hub (namespace, name) that a reference may name, both schemes: for
 * the current scheme the parsed name must be this hub's namespace and name; for the legacy one
 * only the prefix is known (and so ownership must be established otherwise).
 */
export function uidInKeyRef(ref: string, hub: Pick<HubRef, 'namespace' | 'name'>): string | undefined {
  const segment = ref.includes(';object=')
    ? decodeURIComponent(/;object=([^;]*)/.exec(ref)?.[1] ?? '')
    : ref.slice(ref.lastIndexOf('/') + 1);
  const parsed = parseKeyName(segment);
  if (parsed) return parsed.namespace === hub.namespace && parsed.name === hub.name ? parsed.uid : undefined;
  const prefix = `${PREFIX}-${hub.namespace}-${hub.name}-`;
  if (!segment.startsWith(prefix)) return undefined;
  const uid = segment.slice(prefix.length);
  return isUid(uid) ? uid : undefined;
}

/** The hub reference of an object read from the API server (a HealthDataHub). */
export function hubRefOf(obj: { metadata?: { namespace?: string; name?: string; uid?: string } }): HubRef {
  const { namespace, name, uid } = obj.metadata ?? {};
  if (!namespace || !name || !uid) throw new Error('hub metadata lacks namespace, name or uid');
  return { namespace, name, uid };
}

function checkHub(hub: HubRef): void {
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
}

function identity(name: string, id: Buffer, hub: HubRef, scheme: KeyScheme): KeyIdentity {
  if (name.length > MAX_IDENTITY)
    throw new Error(`key identity for hub ${hub.namespace}/${hub.name} is too long`);
  return Object.freeze({
    name,
    id,
    hub: Object.freeze({ namespace: hub.namespace, name: hub.name, uid: hub.uid }),
    scheme,
  });
}
