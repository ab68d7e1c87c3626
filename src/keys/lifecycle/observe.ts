// What the lifecycle plans from: the `<hub>-keys` Secret, the KEK it names (and whether the hub
// may use it), the provider's answer about that KEK, and a real unwrap of the active version.
import type { V1Secret } from '@kubernetes/client-node';
import { LABEL_RETAINED_FROM } from '../../api/index.js';
import {
  DekSetError,
  ForeignDekSetError,
  activeDek,
  dekSecretName,
  parseDekSecret,
  storedKekUid,
  type DekSet,
} from '../dek.js';
import {
  LABEL_HUB_UID,
  identityNamedBy,
  keyIdentity,
  legacyKeyIdentity,
  uidInKeyRef,
  type KeyIdentity,
} from '../identity.js';
import {
  shredConfirmed,
  type ActiveCheck,
  type HubKeyFacts,
  type KekObservation,
  type KeysObservation,
} from '../plan.js';
import {
  KeyInvalidError,
  KeyMissingError,
  KeyOwnerError,
  ProviderUnavailableError,
  UnwrapError,
  type KeyProvider,
} from '../provider.js';
import { VERIFIED, type OwnerRecords } from './ownership.js';
import type { SecretStore } from './secret-store.js';
import type { Observed } from './types.js';

export interface ObserveContext {
  store: SecretStore;
  owners: OwnerRecords;
  clock: () => Date;
}

export async function observe(
  ctx: ObserveContext,
  facts: HubKeyFacts,
  own: KeyIdentity,
  provider: KeyProvider,
  dataEvidence: string | undefined,
): Promise<Observed> {
  // API errors propagate: without the Secret nothing can be decided (the controller retries).
  const secret = await ctx.store.read(facts.ref.namespace, dekSecretName(facts.ref.name));
  const keys = classifySecret(secret, facts);
  // The keys to work with: the hub's own, or those of an earlier hub it asks to adopt (never
  // during deletion: a crypto-shred destroys only what the hub itself owns).
  const adopting = !facts.deleting && keys.state === 'foreign' && keys.set.hubUid === facts.adoptFrom;
  const set = keys.state === 'present' || adopting ? keys.set : undefined;
  let identity = own;
  let owner = VERIFIED;
  if (set) {
    // The Secret chooses only the UID and the scheme; namespace and name are the hub's own.
    const uid = set.kekUid ?? set.hubUid;
    const named = identityNamedBy(set.kekRef, { ...facts.ref, uid });
    identity = named ?? keyIdentity({ ...facts.ref, uid });
    owner = named
      ? await ctx.owners.ownership(facts, named, provider)
      : {
          state: 'another-hub',
          message:
            `Secret ${dekSecretName(facts.ref.name)} of namespace ${facts.ref.namespace} names key-encryption ` +
            `key ${set.kekRef}, which is not a key of hub ${facts.ref.namespace}/${facts.ref.name}: keys are ` +
            "only used with the hub's own key-encryption key or, adopted, with that of an earlier hub of the " +
            'same namespace and name; restore the Secret from a backup, or remove it',
        };
  } else if (facts.deleting) {
    identity = recordedIdentity(facts, own, provider);
    owner = await ctx.owners.ownership(facts, identity, provider);
  }
  let kek: KekObservation = { state: 'not-asked' };
  let active: ActiveCheck = { state: 'skipped' };
  let wrappedUnder: Map<number, number> | undefined;
  // Deletion that keeps the keys needs nothing from the provider; a KEK whose owner is not
  // verified is not even asked about.
  if (owner.state === 'verified' && (!facts.deleting || shredConfirmed(facts))) {
    kek = await askKek(provider, identity);
    if (kek.state === 'invalid' && kek.notOwned) owner = { state: 'another-hub', message: kek.message };
    // Live, Ready means proven to unwrap. In a crypto-shred, adopted keys must prove to be
    // wrapped by the earlier hub's KEK before it is destroyed.
    if (kek.state === 'present' && set && (!facts.deleting || set.kekUid !== undefined)) {
      [kek, active] = await checkActive(provider, identity, set, kek);
      if (!facts.deleting) wrappedUnder = kekVersionsOf(provider, set);
    }
  }
  const keyRef = provider.keyRef?.bind(provider);
  const expectedKekRef = set && keyRef ? keyRef(identity) : undefined;
  const ownKekRefs = keyRef ? [keyRef(own), keyRef(legacyKeyIdentity(facts.ref))] : undefined;
  const kekIsRecorded = keyRef ? keyRef(identity) === facts.reportedKeyRef : false;
  return {
    observation: {
      hub: facts,
      kek,
      keys,
      active,
      dataEvidence,
      wrappedUnder,
      expectedKekRef,
      ownKekRefs,
      kekIsRecorded,
      owner,
      now: ctx.clock(),
    },
    secret,
    identity,
  };
}

function classifySecret(secret: V1Secret | undefined, facts: HubKeyFacts): KeysObservation {
  if (!secret) return { state: 'absent' };
  const retainedFrom = secret.metadata?.labels?.[LABEL_RETAINED_FROM];
  try {
    return { state: 'present', set: parseDekSecret(secret, facts.ref), retainedFrom };
  } catch (e) {
    if (e instanceof ForeignDekSetError) return { state: 'foreign', message: e.message, set: e.set };
    if (e instanceof DekSetError) {
      const ours = secret.metadata?.labels?.[LABEL_HUB_UID] === facts.ref.uid;
      return { state: 'damaged', message: e.message, ours, retainedFrom, kekUid: storedKekUid(secret) };
    }
    throw e;
  }
}

async function askKek(provider: KeyProvider, identity: KeyIdentity): Promise<KekObservation> {
  try {
    const info = await provider.find(identity);
    if (!info) return { state: 'absent' };
    const latest = info.versions?.length ? Math.max(...info.versions) : undefined;
    return { state: 'present', ref: info.ref, latestVersion: latest };
  } catch (e) {
    if (e instanceof ProviderUnavailableError) return { state: 'unavailable', message: e.message };
    if (e instanceof KeyInvalidError) {
      return { state: 'invalid', message: e.message, notOwned: e instanceof KeyOwnerError };
    }
    throw e;
  }
}

/**
 * Deletion without a readable key set: the KEK the hub's record (status.encryption.keyRef) names
 * (its own under either scheme, or an earlier hub's of the same namespace and name, for adopted
 * keys) when this provider gives it exactly that reference; otherwise the hub's own.
 */
function recordedIdentity(facts: HubKeyFacts, own: KeyIdentity, provider: KeyProvider): KeyIdentity {
  const recorded = facts.reportedKeyRef;
  const uid = recorded === undefined ? undefined : uidInKeyRef(recorded, facts.ref);
  if (!uid || !provider.keyRef || recorded === undefined) return own;
  const identity = identityNamedBy(recorded, { ...facts.ref, uid });
  return identity && provider.keyRef(identity) === recorded ? identity : own;
}

/** Providers that version KEKs: the KEK version of each stored DEK version (unreadable ones left out). */
function kekVersionsOf(provider: KeyProvider, set: DekSet): Map<number, number> | undefined {
  if (!provider.kekVersionOf || !provider.rewrap) return undefined;
  const out = new Map<number, number>();
  for (const d of set.versions) {
    try {
      out.set(d.version, provider.kekVersionOf(d.wrapped));
    } catch (e) {
      // Left out: not rewrapped; a rotation stops on it (verifyEveryVersion).
      if (!(e instanceof UnwrapError)) throw e;
    }
  }
  return out;
}

/**
 * Unwraps the active version and forgets the result at once: proof that the KEK the provider has
 * is the one that wrapped the keys (a KEK replaced out of band would otherwise go unnoticed).
 */
async function checkActive(
  provider: KeyProvider,
  identity: KeyIdentity,
  set: DekSet,
  kek: KekObservation,
): Promise<[KekObservation, ActiveCheck]> {
  const active = activeDek(set);
  try {
    (await provider.unwrap(identity, active.wrapped)).fill(0);
    return [kek, { state: 'ok' }];
  } catch (e) {
    if (e instanceof ProviderUnavailableError) return [kek, { state: 'unavailable', message: e.message }];
    if (e instanceof KeyMissingError) return [{ state: 'absent' }, { state: 'skipped' }];
    if (e instanceof KeyInvalidError) {
      return [
        { state: 'invalid', message: e.message, notOwned: e instanceof KeyOwnerError },
        { state: 'skipped' },
      ];
    }
    if (e instanceof UnwrapError) {
      return [
        kek,
        {
          state: 'failed',
          message: `key version ${active.version} does not unwrap under the hub's key-encryption key: ${e.message}; no new key is made over it`,
        },
      ];
    }
    throw e;
  }
}
