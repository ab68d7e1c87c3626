// A hub's data-encryption keys (DEKs), as stored in the Secret `<hub>-keys` of the hub's
// namespace: every version ever made, each wrapped by the hub's KEK, and which one is active.
// Pure functions only; the reconciler reads and writes the Secret.
//
// Rotation only adds: a new version is appended and made active, and no existing version is
// ever changed or dropped, so data written under any version stays readable. The set is one
// Secret, written with optimistic concurrency, so versions and the active pointer change together.
import { createHash, randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { ANNOTATION_ADOPT_KEYS, LABEL_HUB, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/index.js';
import { LABEL_HUB_UID, identityNamedBy, isUid, type HubRef, type KeyIdentity } from './identity.js';
import type { ProviderName } from './provider.js';

export const DEK_BYTES = 32;
/** Secret type of DEK sets, so they are not mistaken for ordinary Secrets. */
export const DEK_SECRET_TYPE = 'hdh.sovereign.eu/wrapped-keys';

export interface DekVersion {
  version: number;
  /** The DEK wrapped by the KEK, in the provider's versioned format. */
  wrapped: string;
  /** When the version was made (RFC 3339). */
  createdAt: string;
}

export interface DekSet {
  /** The hub the keys belong to: a recreated hub (new UID) never uses them silently. */
  hubUid: string;
  /**
   * Adopted keys only: the UID in the identity of the KEK that wraps them, that of the hub which
   * first had them. Adoption moves the keys to a new hub but leaves them wrapped by (and bound to)
   * their KEK, which is never copied or re-made.
   */
  kekUid?: string;
  provider: ProviderName;
  /** The KEK that wraps every version (status.encryption.keyRef). */
  kekRef: string;
  activeVersion: number;
  /** Ascending and contiguous from 1: a gap means a lost version. */
  versions: readonly DekVersion[];
  /**
   * The last value of the rotate-key annotation already honoured (see rotationToken). Written in
   * the same update as the version it caused, so a crash can never honour a value twice.
   */
  honouredRotation?: string;
}

/** A wrong, damaged or incomplete DEK Secret. It is reported, never repaired by guessing. */
export class DekSetError extends Error {
  override name = 'DekSetError';
}

/** The DEK Secret belongs to another hub of the same name (one deleted earlier, keys retained). */
export class ForeignDekSetError extends DekSetError {
  override name = 'ForeignDekSetError';
  constructor(
    readonly secretName: string,
    /** The keys, as stored: what an explicit adoption would take over. */
    readonly set: DekSet,
  ) {
    super(
      `Secret ${secretName} holds the keys of an earlier hub (uid ${set.hubUid}); they are not reused ` +
        `silently: adopt them with the annotation ${ANNOTATION_ADOPT_KEYS}=${set.hubUid}, or move the Secret away ` +
        'to start with new keys',
    );
  }
}

/**
 * The identity of the KEK that wraps `set`: the hub's own, or for adopted keys the identity of
 * the hub that first had them, in the scheme its kek-ref names (current or legacy). `hub` names
 * the namespace and name (the hub's own, never read from the Secret). Undefined when kek-ref names
 * no key of that namespace and name: such keys are never used.
 */
export function kekIdentityOf(set: DekSet, hub: Pick<HubRef, 'namespace' | 'name'>): KeyIdentity | undefined {
  return identityNamedBy(set.kekRef, {
    namespace: hub.namespace,
    name: hub.name,
    uid: set.kekUid ?? set.hubUid,
  });
}

/**
 * The keys of an earlier hub of the same name, taken over by `hub`: same versions, same KEK,
 * now owned by the new hub. The input is left untouched.
 */
export function adoptDekSet(set: DekSet, hub: HubRef): DekSet {
  if (set.hubUid === hub.uid) throw new DekSetError('the keys already belong to this hub');
  return { ...set, hubUid: hub.uid, kekUid: set.kekUid ?? set.hubUid };
}

/** A fresh 256-bit DEK from the system's cryptographic random source. */
export function generateDek(): Buffer {
  return randomBytes(DEK_BYTES);
}

/**
 * How a rotate-key annotation value is recorded: as is when short, else by its SHA-256, so any
 * value fits the Secret and compares exactly. Not secret: it is the user's own annotation.
 */
export function rotationToken(annotationValue: string): string {
  return annotationValue.length <= 128
    ? annotationValue
    : `sha256:${createHash('sha256').update(annotationValue).digest('hex')}`;
}

/**
 * A short fingerprint of a plaintext DEK, for tests that check a version never changes. Never put
 * it in status, Events, logs or metrics: it would let anyone confirm a guessed key.
 */
export function dekFingerprint(plaintext: Buffer): string {
  return createHash('sha256').update(plaintext).digest('hex').slice(0, 16);
}

export function newDekSet(args: {
  hub: HubRef;
  provider: ProviderName;
  kekRef: string;
  wrapped: string;
  now: Date;
}): DekSet {
  return {
    hubUid: args.hub.uid,
    provider: args.provider,
    kekRef: args.kekRef,
    activeVersion: 1,
    versions: [{ version: 1, wrapped: args.wrapped, createdAt: args.now.toISOString() }],
  };
}

/** Rotation: appends the next version and makes it active. The input is left untouched. */
export function addDekVersion(set: DekSet, wrapped: string, now: Date): DekSet {
  const version = latestVersion(set) + 1;
  return {
    ...set,
    activeVersion: version,
    versions: [...set.versions, { version, wrapped, createdAt: now.toISOString() }],
  };
}

export function latestVersion(set: DekSet): number {
  return set.versions.at(-1)?.version ?? 0;
}

export function activeDek(set: DekSet): DekVersion {
  const v = set.versions.find((d) => d.version === set.activeVersion);
  if (!v) throw new DekSetError(`active version ${set.activeVersion} is not in the key set`);
  return v;
}

/**
 * Refuses a write that would change or drop an existing version, or switch KEK or hub: the
 * last check before replacing a stored set with `next`. Versions in `rewrapped` may carry a new
 * wrapped value: the caller re-encrypted them under a newer KEK version and proved that they
 * unwrap to the same DEK.
 */
export function assertOnlyAdds(
  previous: DekSet,
  next: DekSet,
  rewrapped: ReadonlySet<number> = new Set(),
): void {
  if (
    next.hubUid !== previous.hubUid ||
    next.kekUid !== previous.kekUid ||
    next.kekRef !== previous.kekRef ||
    next.provider !== previous.provider
  ) {
    throw new DekSetError('a key set may not change hub, provider or key-encryption key');
  }
  for (const old of previous.versions) {
    const now = next.versions.find((d) => d.version === old.version);
    if (
      !now ||
      (now.wrapped !== old.wrapped && !rewrapped.has(old.version)) ||
      now.createdAt !== old.createdAt
    ) {
      throw new DekSetError(
        `key version ${old.version} would be changed or dropped; rotation only adds versions`,
      );
    }
  }
  if (next.activeVersion < previous.activeVersion) {
    throw new DekSetError('the active key version may not go back');
  }
  validate(next);
}

export function dekSecretName(hubName: string): string {
  return `${hubName}-keys`;
}

const DATA = {
  hubUid: 'hub-uid',
  kekUid: 'kek-uid',
  provider: 'provider',
  kekRef: 'kek-ref',
  active: 'active-version',
  dek: (v: number) => `dek-v${v}`,
  created: (v: number) => `dek-v${v}-created`,
  honoured: 'rotate-key-honoured',
};
const DEK_KEY = /^dek-v(\d+)(-created)?$/;
const PROVIDERS: readonly string[] = ['builtin', 'pkcs11', 'transit'] satisfies ProviderName[];

/** The Secret `<hub>-keys` holding a DEK set. Only wrapped keys: nothing here decrypts alone. */
export function renderDekSecret(hub: HubRef, set: DekSet): V1Secret {
  validate(set);
  const data: Record<string, string> = {
    [DATA.hubUid]: set.hubUid,
    [DATA.provider]: set.provider,
    [DATA.kekRef]: set.kekRef,
    [DATA.active]: String(set.activeVersion),
  };
  if (set.kekUid !== undefined) data[DATA.kekUid] = set.kekUid;
  if (set.honouredRotation !== undefined) data[DATA.honoured] = set.honouredRotation;
  for (const d of set.versions) {
    data[DATA.dek(d.version)] = d.wrapped;
    data[DATA.created(d.version)] = d.createdAt;
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: dekSecretName(hub.name),
      namespace: hub.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_HUB]: hub.name, [LABEL_HUB_UID]: hub.uid },
      // No ownerReference to the hub: garbage collection would delete the keys with the hub,
      // and keys go only through a confirmed crypto-shred.
    },
    type: DEK_SECRET_TYPE,
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
    ),
  };
}

/** The kek-uid field of a DEK Secret as stored, read even when the rest of it cannot be. */
export function storedKekUid(secret: V1Secret): string | undefined {
  const raw = secret.data?.[DATA.kekUid];
  return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
}

/** Reads and checks a DEK Secret of `hub`; throws DekSetError (ForeignDekSetError) when unusable. */
export function parseDekSecret(secret: V1Secret, hub: HubRef): DekSet {
  const set = readDekSecret(secret, hub.namespace);
  if (set.hubUid !== hub.uid) throw new ForeignDekSetError(secretPath(secret, hub.namespace), set);
  return set;
}

function secretPath(secret: V1Secret, namespace: string): string {
  return `${secret.metadata?.namespace ?? namespace}/${secret.metadata?.name ?? '?'}`;
}

/** Reads and checks a DEK Secret, whichever hub it belongs to; throws DekSetError when unusable. */
function readDekSecret(secret: V1Secret, namespace: string): DekSet {
  const name = secretPath(secret, namespace);
  if (secret.type !== DEK_SECRET_TYPE) {
    throw new DekSetError(`Secret ${name} is of type ${secret.type ?? 'Opaque'}, not ${DEK_SECRET_TYPE}`);
  }
  const data = new Map(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
  const need = (key: string): string => {
    const v = data.get(key);
    if (!v) throw new DekSetError(`Secret ${name} lacks ${key}`);
    return v;
  };
  const hubUid = need(DATA.hubUid);
  const kekUid = data.get(DATA.kekUid);
  if (kekUid !== undefined && (!isUid(kekUid) || kekUid === hubUid)) {
    throw new DekSetError(`Secret ${name} ${DATA.kekUid} is not the UID of another hub`);
  }

  const provider = need(DATA.provider);
  if (!PROVIDERS.includes(provider))
    throw new DekSetError(`Secret ${name} names unknown provider ${provider}`);
  const numbers = new Set<number>();
  for (const key of data.keys()) {
    const m = DEK_KEY.exec(key);
    if (m?.[1]) numbers.add(Number(m[1]));
  }
  const versions = [...numbers]
    .sort((a, b) => a - b)
    .map((version) => ({
      version,
      wrapped: need(DATA.dek(version)),
      createdAt: need(DATA.created(version)),
    }));
  const set: DekSet = {
    hubUid,
    provider: provider as ProviderName,
    kekRef: need(DATA.kekRef),
    activeVersion: parseVersion(need(DATA.active), `Secret ${name} ${DATA.active}`),
    versions,
  };
  if (kekUid !== undefined) set.kekUid = kekUid;
  const honoured = data.get(DATA.honoured);
  if (honoured) set.honouredRotation = honoured;
  try {
    validate(set);
  } catch (e) {
    throw new DekSetError(`Secret ${name}: ${(e as Error).message}`);
  }
  return set;
}

function parseVersion(s: string, what: string): number {
  if (!/^[1-9]\d{0,8}$/.test(s)) throw new DekSetError(`${what} is not a version number`);
  return Number(s);
}

function validate(set: DekSet): void {
  if (set.versions.length === 0) throw new DekSetError('no key versions');
  set.versions.forEach((d, i) => {
    if (d.version !== i + 1) throw new DekSetError(`key version ${i + 1} is missing`);
    if (!/^[\x21-\x7e]+$/.test(d.wrapped))
      throw new DekSetError(`key version ${d.version} is not a wrapped key`);
    if (Number.isNaN(Date.parse(d.createdAt)))
      throw new DekSetError(`key version ${d.version} has no valid time`);
  });
  if (!set.versions.some((d) => d.version === set.activeVersion)) {
    throw new DekSetError(`active version ${set.activeVersion} is not in the key set`);
  }
}
