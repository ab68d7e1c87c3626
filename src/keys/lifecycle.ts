// The per-hub key lifecycle: observe (provider, `<hub>-keys` Secret, hub) -> plan (plan.ts) ->
// do one step -> observe again, until the plan is to do nothing, to wait or to block.
//
// Crash safety comes from the order of steps and from each write being conditional:
//  - KEK first, then the Secret with version 1; a KEK found without a Secret (and with no sign the
//    hub ever had keys) is resumed with, never duplicated. KeyExistsError from create after a lost
//    response is confirmed with find.
//  - The Secret is created with `create` (a 409 means someone else wrote it: observe again) and
//    changed only by a replace carrying the resourceVersion read, after assertOnlyAdds.
//  - A new version, the active pointer and the rotate-key value it honours change in one Secret
//    update: there is no state in which a version is active but not stored, or stored twice.
//  - A wrapped DEK is unwrapped and compared before it is written: no unusable version is stored.
//  - Crypto-shred destroys the KEK before the wrapped keys, so a crash in between leaves keys
//    that nothing can unwrap, and the next pass finishes the job.
//  - A KEK rotation (Transit) comes before the rewrap it calls for; the rewrapped values are
//    proven to unwrap to the same DEKs and stored in the same update as the new version, so a
//    crash in between leaves the old values (still valid) and the next pass rewraps again
//    without rotating the KEK twice.
//  - Adoption rewrites only the owner of the keys, in one conditional update, after the active
//    version was proven to unwrap under the KEK the keys name.
//
// Ownership: the KEK's identity is always computed from the hub's own namespace and name (as the
// API server has them) and a UID; the `<hub>-keys` Secret, which tenants can write, only chooses
// which UID and naming scheme, among the identities of this namespace and name. A current-scheme
// identity is owned by construction; a legacy one of another UID needs the operator's record
// (builtin: the KEK Secret's labels; PKCS#11, Transit: owner-record.ts). Until ownership is
// verified the provider is not even asked about the KEK.
import { timingSafeEqual } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import {
  ANNOTATION_ADOPT_KEYS,
  ConditionStatus,
  ConditionType,
  FIELD_MANAGER,
  LABEL_RETAINED_FROM,
  Reason,
  formatTime,
  getCondition,
  type ConditionUpdate,
  type HealthDataHub,
  type HubEncryptionStatus,
} from '../api/index.js';
import { statusCode } from '../runtime/errors.js';
import type { Logger } from '../runtime/logging.js';
import {
  DekSetError,
  ForeignDekSetError,
  activeDek,
  addDekVersion,
  adoptDekSet,
  assertOnlyAdds,
  dekSecretName,
  generateDek,
  newDekSet,
  parseDekSecret,
  renderDekSecret,
  storedKekUid,
  type DekSet,
  type DekVersion,
} from './dek.js';
import {
  LABEL_HUB_UID,
  identityNamedBy,
  keyIdentity,
  legacyKeyIdentity,
  uidInKeyRef,
  type KeyIdentity,
} from './identity.js';
import type { KeyMetrics } from './metrics.js';
import {
  KeyReason,
  hubKeyFacts,
  planKeys,
  shredConfirmed,
  type ActiveCheck,
  type HubKeyFacts,
  type KekObservation,
  type KekOwnership,
  type KeyObservation,
  type KeyPlan,
  type KeysObservation,
} from './plan.js';
import { isOwnerRecord, ownerRecordName, renderOwnerRecord } from './owner-record.js';
import { providerFor, type ProviderDeps } from './providers.js';
import {
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  KeyOwnerError,
  ProviderUnavailableError,
  UnwrapError,
  type KeyProvider,
} from './provider.js';

/** The Secret operations the lifecycle uses (CoreV1Api; narrowed so tests can inject failures). */
export type SecretsApi = Pick<
  CoreV1Api,
  'readNamespacedSecret' | 'createNamespacedSecret' | 'replaceNamespacedSecret' | 'deleteNamespacedSecret'
>;

export interface KeyLifecycleOptions {
  secrets: SecretsApi;
  /** For reconcileHub: how providers are built from hub specs. */
  providers?: ProviderDeps | undefined;
  /** hdh_key_rotations_total is counted here (provider operations by the provider wrapper). */
  metrics?: KeyMetrics | undefined;
  log?: Logger | undefined;
  /**
   * Reads the hub from the API server. Before keys are ever created, the lifecycle reads the hub
   * afresh: a cached copy may not show yet the status that reported versions (the evidence that
   * keys existed), and creation must not rest on a stale view. Without it, the hub passed in is
   * trusted.
   */
  readHub?: ((namespace: string, name: string) => Promise<HealthDataHub | undefined>) | undefined;
  clock?: () => Date;
  /** Retry after the provider was unavailable. Default 30 s. */
  unavailableRetryMs?: number;
  /** Look again at a blocked hub (a person may restore a key the operator cannot watch). 60 s. */
  blockedRecheckMs?: number;
  /** Longest requeue for the next interval rotation (resyncs cover the rest). Default 6 h. */
  maxRequeueMs?: number;
  /**
   * The operator's namespace, where owner records of legacy keys live (owner-record.ts); default
   * providers.operatorNamespace. Without either, legacy keys of earlier hubs are never adopted.
   */
  operatorNamespace?: string | undefined;
}

export interface KeyEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface KeyLifecycleResult {
  /** The last plan: none, block, wait or released. */
  action: KeyPlan['action'];
  /** True when the hub's keys are usable: the datastore may start. */
  ready: boolean;
  /** Deletion only: the keys need nothing more, the finalizer may go (as far as keys go). */
  released: boolean;
  /** status.encryption; identities and counts only, never key material. */
  encryption: HubEncryptionStatus | undefined;
  /**
   * The UID in the identity of the KEK that wraps the hub's keys: the hub's own, or for adopted
   * keys the earlier hub's. Undefined while the hub has no readable key set.
   */
  kekUid: string | undefined;
  /**
   * The identity of the KEK that wraps the hub's keys, once they are ready (and so its ownership
   * verified): the one the datastore's pods may be granted. Undefined otherwise.
   */
  kek: KeyIdentity | undefined;
  /** The KeysReady condition. */
  condition: ConditionUpdate;
  /** Events for the hub, in order. Notes hold names and numbers, never key material. */
  events: KeyEvent[];
  requeueAfterMs: number | undefined;
}

/** Options of one reconcile. */
export interface ReconcileKeysOptions {
  /** Evidence that the hub holds data (e.g. "PersistentVolumeClaim data-oncology-0 exists"). */
  dataEvidence?: string | undefined;
}

// initialize/rotate/retain/shred each take one step, and a conflict one more observation; a hub
// needing more than this is being changed by someone else at the same time.
const MAX_STEPS = 8;

type StepOutcome =
  | { kind: 'progress' }
  | { kind: 'unavailable'; message: string }
  /** A stored key turned out unusable while the step ran: a person must act. */
  | { kind: 'blocked'; message: string };

interface Observed {
  observation: KeyObservation;
  secret: V1Secret | undefined;
  /** The identity of the KEK observed: the one wrapping the stored keys, else the hub's own. */
  identity: KeyIdentity;
}

const VERIFIED: KekOwnership = { state: 'verified' };

export class KeyLifecycle {
  private readonly clock: () => Date;
  /** Owner records this process wrote or found: each is written once. */
  private readonly recorded = new Set<string>();

  constructor(private readonly o: KeyLifecycleOptions) {
    this.clock = o.clock ?? (() => new Date());
  }

  /** Builds the hub's provider from its spec (see providerFor), reconciles, and releases it. */
  async reconcileHub(hub: HealthDataHub, options: ReconcileKeysOptions = {}): Promise<KeyLifecycleResult> {
    if (!this.o.providers) throw new Error('KeyLifecycle needs options.providers to build providers');
    const provider = await providerFor(hub, this.o.providers);
    try {
      return await this.reconcile(hub, provider, options);
    } finally {
      await provider.close?.();
    }
  }

  /** Brings the hub's keys to where its spec and metadata ask, one safe step at a time. */
  async reconcile(
    hub: HealthDataHub,
    provider: KeyProvider,
    options: ReconcileKeysOptions = {},
  ): Promise<KeyLifecycleResult> {
    let current = hub;
    let facts = hubKeyFacts(current);
    const own = keyIdentity(facts.ref);
    const events: KeyEvent[] = [];
    let lastPlan: KeyPlan | undefined;
    let fresh = !this.o.readHub;
    for (let step = 0; step < MAX_STEPS; step++) {
      const seen = await this.observe(facts, own, provider, options.dataEvidence);
      const plan = planKeys(seen.observation);
      this.o.log?.debug('key plan', {
        hub: `${facts.ref.namespace}/${facts.ref.name}`,
        action: plan.action,
        kek: seen.observation.kek.state,
        keys: seen.observation.keys.state,
        ...(seen.observation.keys.state === 'present'
          ? {
              activeVersion: seen.observation.keys.set.activeVersion,
              versions: seen.observation.keys.set.versions.length,
            }
          : {}),
      });
      lastPlan = plan;
      if (plan.action === 'none') await this.recordOwner(facts, seen, provider);
      if (
        plan.action === 'none' ||
        plan.action === 'block' ||
        plan.action === 'wait' ||
        plan.action === 'released'
      ) {
        return this.result(current, facts, seen.observation, plan, events, seen.identity);
      }
      if (plan.action === 'initialize' && !fresh) {
        // Creation is the one step that rests on the absence of evidence: confirm on a fresh read.
        fresh = true;
        current = await this.reread(facts);
        facts = hubKeyFacts(current);
        continue;
      }
      const outcome = await this.execute(plan, seen, provider, events);
      if (outcome.kind === 'progress' && (plan.action === 'initialize' || plan.action === 'adopt')) {
        // The hub now has keys it made or adopted: the KEK they name becomes its record (status).
        facts = { ...facts, reportedKeyRef: undefined };
      }
      if (outcome.kind === 'unavailable') {
        return this.result(
          current,
          facts,
          seen.observation,
          { action: 'wait', message: outcome.message },
          events,
          seen.identity,
        );
      }
      if (outcome.kind === 'blocked') {
        const blocked: KeyPlan = { action: 'block', reason: KeyReason.KeyInvalid, message: outcome.message };
        return this.result(current, facts, seen.observation, blocked, events, seen.identity);
      }
    }
    throw new Error(
      `keys of hub ${facts.ref.namespace}/${facts.ref.name} did not settle after ${MAX_STEPS} steps (last: ${lastPlan?.action}); is something else changing Secret ${dekSecretName(facts.ref.name)}?`,
    );
  }

  private async reread(facts: HubKeyFacts): Promise<HealthDataHub> {
    const { namespace, name, uid } = facts.ref;
    const current = await this.o.readHub!(namespace, name);
    if (!current || current.metadata.uid !== uid) {
      throw new Error(
        `hub ${namespace}/${name} (uid ${uid}) is gone or was recreated; not creating keys for it`,
      );
    }
    return current;
  }

  // ---- observe ----

  private async observe(
    facts: HubKeyFacts,
    own: KeyIdentity,
    provider: KeyProvider,
    dataEvidence: string | undefined,
  ): Promise<Observed> {
    // API errors propagate: without the Secret nothing can be decided (the controller retries).
    const secret = await this.readSecret(facts);
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
        ? await this.ownership(facts, named, provider)
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
      owner = await this.ownership(facts, identity, provider);
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
        now: this.clock(),
      },
      secret,
      identity,
    };
  }

  /**
   * Whether `kek` (of this hub's namespace and name) may be used by the hub. Its own UID or the
   * current scheme: yes, the name itself says so. A legacy key of an earlier hub: builtin checks
   * its KEK Secret's labels on every use (KeyOwnerError); PKCS#11 and Transit need an owner record.
   */
  private async ownership(
    facts: HubKeyFacts,
    kek: KeyIdentity,
    provider: KeyProvider,
  ): Promise<KekOwnership> {
    if (kek.hub.uid === facts.ref.uid || kek.scheme === 'current') return VERIFIED;
    if (provider.describe().provider === 'builtin') return VERIFIED;
    const { namespace, name } = facts.ref;
    const ns = this.recordNamespace();
    const record = ownerRecordName(kek.hub);
    const unknown: KekOwnership = {
      state: 'unknown',
      message:
        `key-encryption key ${kek.name} was made under the earlier naming scheme, whose names do not say ` +
        `which namespace and hub they belong to, and no owner record ${ns ?? "(the operator's namespace)"}/${record} ` +
        `says it was hub ${namespace}/${name} (uid ${kek.hub.uid}): a platform administrator must check whose ` +
        'key it is and, only if it was that hub, create the record (docs/keys.md, keys made under the earlier scheme)',
    };
    if (!ns) return unknown;
    try {
      const found = await this.o.secrets.readNamespacedSecret({ name: record, namespace: ns });
      return isOwnerRecord(found) ? VERIFIED : unknown;
    } catch (e) {
      if (statusCode(e) === 404) return unknown;
      throw e;
    }
  }

  /**
   * A hub using its own legacy PKCS#11 or Transit KEK (so known to be its own): records that, so
   * that a later hub of the same namespace and name may adopt the keys. Best effort: a failure
   * only leaves adoption to a platform administrator, and is tried again next time.
   */
  private async recordOwner(facts: HubKeyFacts, seen: Observed, provider: KeyProvider): Promise<void> {
    const kek = seen.identity;
    const keys = seen.observation.keys;
    if (kek.scheme !== 'legacy' || kek.hub.uid !== facts.ref.uid || keys.state !== 'present') return;
    if (provider.describe().provider === 'builtin') return;
    const ns = this.recordNamespace();
    if (!ns) return;
    const body = renderOwnerRecord(kek, ns, keys.set.kekRef);
    const key = `${ns}/${body.metadata!.name!}`;
    if (this.recorded.has(key)) return;
    try {
      await this.o.secrets.createNamespacedSecret({ namespace: ns, body, fieldManager: FIELD_MANAGER });
    } catch (e) {
      if (statusCode(e) !== 409) {
        this.o.log?.warn('cannot record the owner of a legacy key-encryption key', {
          hub: `${facts.ref.namespace}/${facts.ref.name}`,
          record: key,
          error: (e as Error).message,
        });
        return;
      }
    }
    this.recorded.add(key);
  }

  private recordNamespace(): string | undefined {
    return this.o.operatorNamespace ?? this.o.providers?.operatorNamespace;
  }

  private async readSecret(facts: HubKeyFacts): Promise<V1Secret | undefined> {
    try {
      return await this.o.secrets.readNamespacedSecret({
        name: dekSecretName(facts.ref.name),
        namespace: facts.ref.namespace,
      });
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  // ---- act ----

  private async execute(
    plan: KeyPlan,
    seen: Observed,
    provider: KeyProvider,
    events: KeyEvent[],
  ): Promise<StepOutcome> {
    const identity = seen.identity;
    try {
      switch (plan.action) {
        case 'initialize':
          await this.initialize(plan, seen.observation.hub, identity, provider, events);
          break;
        case 'rotate':
          await this.rotate(plan, seen, identity, provider, events);
          break;
        case 'shred':
          await this.shred(plan, seen, identity, provider, events);
          break;
        case 'retain':
          await this.retain(plan, seen, events);
          break;
        case 'rewrap':
          await this.rewrap(seen, identity, provider, events);
          break;
        case 'adopt':
          await this.adopt(plan, seen, events);
          break;
        default:
          throw new Error(`plan ${plan.action} takes no step`);
      }
    } catch (e) {
      if (e instanceof ProviderUnavailableError) return { kind: 'unavailable', message: e.message };
      if (e instanceof DamagedVersionError) {
        return {
          kind: 'blocked',
          message:
            `${e.message}; nothing was changed, and a damaged key is never repaired by guessing: restore ` +
            `Secret ${dekSecretName(identity.hub.name)} from a backup (the datastore's pods need every version to start)`,
        };
      }
      // The KEK vanished or changed under us, or a write lost a race: observe again and re-plan.
      if (e instanceof KeyMissingError || e instanceof KeyInvalidError || e instanceof WriteConflict) {
        this.o.log?.debug('key step superseded, observing again', {
          hub: `${identity.hub.namespace}/${identity.hub.name}`,
          step: plan.action,
          why: e.message,
        });
        return { kind: 'progress' };
      }
      throw e;
    }
    return { kind: 'progress' };
  }

  private async initialize(
    plan: Extract<KeyPlan, { action: 'initialize' }>,
    facts: HubKeyFacts,
    identity: KeyIdentity,
    provider: KeyProvider,
    events: KeyEvent[],
  ): Promise<void> {
    // New keys are only ever the hub's own, under the current (injective) identity.
    if (identity.scheme !== 'current' || identity.hub.uid !== facts.ref.uid) {
      throw new Error(
        `keys of hub ${facts.ref.namespace}/${facts.ref.name} are only made under its own identity`,
      );
    }
    let created = false;
    let kekRef: string;
    if (plan.createKek) {
      try {
        kekRef = (await provider.create(identity)).ref;
        created = true;
      } catch (e) {
        if (!(e instanceof KeyExistsError)) throw e;
        // An earlier create whose answer was lost, most likely: the key that exists is the one.
        const info = await provider.find(identity);
        if (!info) throw new ProviderUnavailableError(`${e.message}, yet find does not see it`, e.provider);
        kekRef = info.ref;
      }
    } else {
      const info = await provider.find(identity);
      if (!info) throw new KeyMissingError(identity.name, facts.provider, provider.describe().reference);
      kekRef = info.ref;
    }
    const wrapped = await this.wrapNewDek(provider, identity);
    const set: DekSet = {
      ...newDekSet({ hub: facts.ref, provider: facts.provider, kekRef, wrapped, now: this.clock() }),
      ...(plan.honour !== undefined ? { honouredRotation: plan.honour } : {}),
    };
    await this.createSecret(renderDekSecret(facts.ref, set));
    this.o.log?.info('hub keys created', {
      hub: `${facts.ref.namespace}/${facts.ref.name}`,
      provider: facts.provider,
      keyRef: kekRef,
      kekCreated: created,
    });
    events.push({
      type: 'Normal',
      reason: 'KeysCreated',
      message: created
        ? `created key-encryption key ${kekRef} and key version 1 (Secret ${dekSecretName(facts.ref.name)})`
        : `created key version 1 (Secret ${dekSecretName(facts.ref.name)}) with the existing key-encryption key ${kekRef}`,
    });
  }

  private async rotate(
    plan: Extract<KeyPlan, { action: 'rotate' }>,
    seen: Observed,
    identity: KeyIdentity,
    provider: KeyProvider,
    events: KeyEvent[],
  ): Promise<void> {
    const { keys, hub, kek } = seen.observation;
    if (keys.state !== 'present' || !seen.secret) throw new Error('rotation without a key set');
    let latest = kek.state === 'present' ? kek.latestVersion : undefined;
    if (plan.rotateKek) {
      // Every version is rewrapped under the new KEK version: check first that each one can be,
      // so that a damaged version stops the rotation before anything changes.
      await verifyEveryVersion(provider, identity, keys.set);
      if (!provider.rotate) throw new Error(`provider ${hub.provider} does not rotate key-encryption keys`);
      const versions = (await provider.rotate(identity)).versions;
      latest = versions?.length ? Math.max(...versions) : undefined;
    }
    const { versions, rewrapped } = await this.rewrapStale(seen.observation, latest, identity, provider);
    const wrapped = await this.wrapNewDek(provider, identity);
    const added = addDekVersion({ ...keys.set, versions }, wrapped, this.clock());
    const next: DekSet = {
      ...added,
      ...(plan.honour !== undefined ? { honouredRotation: plan.honour } : {}),
    };
    assertOnlyAdds(keys.set, next, rewrapped);
    await this.replaceSecret(seen.secret, renderDekSecret(hub.ref, next));
    this.o.metrics?.rotations.inc();
    const v = next.activeVersion;
    this.o.log?.info('hub key rotated', {
      hub: `${hub.ref.namespace}/${hub.ref.name}`,
      activeVersion: v,
      trigger: plan.trigger,
      ...(plan.rotateKek ? { kekVersion: latest } : {}),
      rewrapped: rewrapped.size,
    });
    const kekPart =
      rewrapped.size > 0
        ? `; ${plan.rotateKek ? `key-encryption key rotated to version ${latest}, and ` : ''}` +
          `${versionList([...rewrapped])} rewrapped under its version ${latest}`
        : '';
    events.push({
      type: 'Normal',
      reason: 'KeyRotated',
      message:
        `added key version ${v} and made it active (${plan.trigger === 'annotation' ? 'requested by annotation hdh.sovereign.eu/rotate-key' : 'spec.encryption.rotationInterval elapsed'}); ` +
        `version${v > 2 ? 's' : ''} ${v > 2 ? `1-${v - 1}` : '1'} stay available for decryption${kekPart}`,
    });
  }

  /** Re-encrypts versions wrapped under an older KEK version; stores nothing new. */
  private async rewrap(
    seen: Observed,
    identity: KeyIdentity,
    provider: KeyProvider,
    events: KeyEvent[],
  ): Promise<void> {
    const { keys, hub, kek } = seen.observation;
    if (keys.state !== 'present' || !seen.secret) throw new Error('rewrap without a key set');
    const latest = kek.state === 'present' ? kek.latestVersion : undefined;
    const { versions, rewrapped } = await this.rewrapStale(seen.observation, latest, identity, provider);
    if (rewrapped.size === 0) return;
    const next: DekSet = { ...keys.set, versions };
    assertOnlyAdds(keys.set, next, rewrapped);
    await this.replaceSecret(seen.secret, renderDekSecret(hub.ref, next));
    this.o.log?.info('hub keys rewrapped', {
      hub: `${hub.ref.namespace}/${hub.ref.name}`,
      kekVersion: latest,
      rewrapped: rewrapped.size,
    });
    events.push({
      type: 'Normal',
      reason: KeyReason.KeysRewrapped,
      message:
        `${versionList([...rewrapped])} rewrapped under version ${latest} of key-encryption key ${keys.set.kekRef}, ` +
        'which was rotated at the provider; the keys themselves are unchanged',
    });
  }

  /**
   * The set's versions, those wrapped under a KEK version older than `latest` re-encrypted under
   * it. Each new value is unwrapped and compared with the old one before it may be stored.
   */
  private async rewrapStale(
    o: KeyObservation,
    latest: number | undefined,
    identity: KeyIdentity,
    provider: KeyProvider,
  ): Promise<{ versions: DekVersion[]; rewrapped: Set<number> }> {
    if (o.keys.state !== 'present') throw new Error('rewrap without a key set');
    const set = o.keys.set;
    const rewrapped = new Set<number>();
    const { rewrap } = provider;
    // The KEK version of each stored version, as observed (the wrapped values have not changed).
    const under = o.wrappedUnder;
    if (latest === undefined || !rewrap || !under) return { versions: [...set.versions], rewrapped };
    const versions: DekVersion[] = [];
    for (const d of set.versions) {
      const kekVersion = under.get(d.version);
      // Unreadable values stay as they are (verifyEveryVersion stops a rotation on them).
      if (kekVersion === undefined || kekVersion >= latest) {
        versions.push(d);
        continue;
      }
      let wrapped: string;
      let before: Buffer | undefined;
      let after: Buffer | undefined;
      try {
        wrapped = await rewrap.call(provider, identity, d.wrapped);
        before = await provider.unwrap(identity, d.wrapped);
        after = await provider.unwrap(identity, wrapped);
        if (before.length !== after.length || !timingSafeEqual(before, after)) {
          throw new UnwrapError('it did not rewrap to the same key', provider.describe().provider);
        }
      } catch (e) {
        if (!(e instanceof UnwrapError)) throw e;
        throw new DamagedVersionError(`key version ${d.version} cannot be rewrapped: ${e.message}`);
      } finally {
        before?.fill(0);
        after?.fill(0);
      }
      versions.push({ ...d, wrapped });
      rewrapped.add(d.version);
    }
    return { versions, rewrapped };
  }

  /** Makes the keys of the earlier hub `plan.from` this hub's own, as its annotation asks. */
  private async adopt(
    plan: Extract<KeyPlan, { action: 'adopt' }>,
    seen: Observed,
    events: KeyEvent[],
  ): Promise<void> {
    const { keys, hub } = seen.observation;
    if (keys.state !== 'foreign' || !seen.secret) throw new Error('adoption without keys to adopt');
    const next = adoptDekSet(keys.set, hub.ref);
    // The retained mark named the earlier hub; the keys are in use again.
    await this.replaceSecret(seen.secret, renderDekSecret(hub.ref, next), [LABEL_RETAINED_FROM]);
    this.o.log?.info('hub keys adopted', {
      hub: `${hub.ref.namespace}/${hub.ref.name}`,
      from: plan.from,
      versions: next.versions.length,
    });
    events.push({
      type: 'Normal',
      reason: KeyReason.KeysAdopted,
      message:
        `adopted the keys of the earlier hub uid ${plan.from}, as annotation ${ANNOTATION_ADOPT_KEYS} asks: ` +
        `${next.versions.length} key version(s), version ${next.activeVersion} active, still wrapped by ` +
        `key-encryption key ${next.kekRef}`,
    });
  }

  private async shred(
    plan: Extract<KeyPlan, { action: 'shred' }>,
    seen: Observed,
    identity: KeyIdentity,
    provider: KeyProvider,
    events: KeyEvent[],
  ): Promise<void> {
    const { hub, keys, kek } = seen.observation;
    const parts: string[] = [];
    if (plan.destroyKek) {
      const destroyed = await provider.destroy(identity);
      if (destroyed)
        parts.push(`key-encryption key ${kek.state === 'present' ? kek.ref : identity.name} destroyed`);
    }
    if (plan.deleteKeys && seen.secret) {
      await this.deleteSecret(seen.secret);
      const n = keys.state === 'present' ? keys.set.versions.length : undefined;
      parts.push(
        `Secret ${dekSecretName(hub.ref.name)}${n ? ` (${n} wrapped version${n > 1 ? 's' : ''})` : ''} deleted`,
      );
    }
    if (parts.length === 0) return;
    this.o.log?.info('hub keys crypto-shredded', { hub: `${hub.ref.namespace}/${hub.ref.name}` });
    events.push({
      type: 'Normal',
      reason: KeyReason.KeysDestroyed,
      message: `crypto-shred confirmed by hdh.sovereign.eu/confirm-destroy: ${parts.join('; ')}; data encrypted with these keys can no longer be read`,
    });
  }

  private async retain(
    plan: Extract<KeyPlan, { action: 'retain' }>,
    seen: Observed,
    events: KeyEvent[],
  ): Promise<void> {
    const { hub } = seen.observation;
    if (!seen.secret) return;
    const current = seen.secret;
    await this.replaceSecret(current, {
      ...current,
      metadata: {
        ...current.metadata,
        labels: { ...current.metadata?.labels, [LABEL_RETAINED_FROM]: hub.ref.uid },
      },
    });
    events.push({
      type: plan.note ? 'Warning' : 'Normal',
      reason: KeyReason.KeysRetained,
      message:
        `${plan.note ? `${plan.note}: nothing destroyed; ` : ''}the hub's keys are kept: Secret ${dekSecretName(hub.ref.name)} ` +
        `is labelled ${LABEL_RETAINED_FROM}=${hub.ref.uid} and the key-encryption key stays at the provider; ` +
        'a new hub of the same name does not use them',
    });
  }

  /** A fresh DEK wrapped by the KEK, proven to unwrap to the same bytes before anyone stores it. */
  private async wrapNewDek(provider: KeyProvider, identity: KeyIdentity): Promise<string> {
    const dek = generateDek();
    let back: Buffer | undefined;
    try {
      const wrapped = await provider.wrap(identity, dek);
      back = await provider.unwrap(identity, wrapped);
      if (back.length !== dek.length || !timingSafeEqual(back, dek)) {
        throw new Error(`a key wrapped by ${identity.name} did not unwrap to itself; nothing was stored`);
      }
      return wrapped;
    } finally {
      dek.fill(0);
      back?.fill(0);
    }
  }

  // ---- writes, all conditional ----

  private async createSecret(body: V1Secret): Promise<void> {
    try {
      await this.o.secrets.createNamespacedSecret({
        namespace: body.metadata!.namespace!,
        body,
        fieldManager: FIELD_MANAGER,
      });
    } catch (e) {
      if (statusCode(e) === 409)
        throw new WriteConflict(`Secret ${body.metadata?.name} was created meanwhile`);
      throw e;
    }
  }

  /**
   * Replaces `current` with `next` only if it is still the version read (resourceVersion).
   * Labels others added are kept (backup tools, the retained mark) unless named in dropLabels.
   */
  private async replaceSecret(current: V1Secret, next: V1Secret, dropLabels: string[] = []): Promise<void> {
    const md = current.metadata!;
    const labels = { ...md.labels, ...next.metadata?.labels };
    for (const l of dropLabels) delete labels[l];
    const body: V1Secret = {
      ...current,
      ...next,
      metadata: {
        ...md,
        labels,
        resourceVersion: md.resourceVersion,
      },
      // Unknown data keys are kept; every known one is in `next` (assertOnlyAdds ran before).
      data: { ...current.data, ...next.data },
    };
    try {
      await this.o.secrets.replaceNamespacedSecret({
        name: md.name!,
        namespace: md.namespace!,
        body,
        fieldManager: FIELD_MANAGER,
      });
    } catch (e) {
      const code = statusCode(e);
      if (code === 409 || code === 404) throw new WriteConflict(`Secret ${md.name} changed meanwhile`);
      throw e;
    }
  }

  private async deleteSecret(current: V1Secret): Promise<void> {
    const md = current.metadata!;
    try {
      await this.o.secrets.deleteNamespacedSecret({
        name: md.name!,
        namespace: md.namespace!,
        // Exactly the object observed: never a Secret written in between.
        body: { preconditions: { uid: md.uid, resourceVersion: md.resourceVersion } },
      });
    } catch (e) {
      const code = statusCode(e);
      if (code === 404) return;
      if (code === 409) throw new WriteConflict(`Secret ${md.name} changed meanwhile`);
      throw e;
    }
  }

  // ---- report ----

  private result(
    hub: HealthDataHub,
    facts: HubKeyFacts,
    o: KeyObservation,
    plan: KeyPlan,
    events: KeyEvent[],
    kek: KeyIdentity,
  ): KeyLifecycleResult {
    // Keys naming a KEK the hub may not use are reported by nothing but the condition: their
    // kek-ref never reaches the hub's status (the record a crypto-shred is checked against).
    const owned = (o.owner?.state ?? 'verified') === 'verified';
    const set = o.keys.state === 'present' && owned ? o.keys.set : undefined;
    const condition = keysCondition(facts, plan, set);
    const previous = getCondition(hub.status?.conditions, ConditionType.KeysReady);
    const changed = previous?.status !== condition.status || previous?.reason !== condition.reason;
    // Blocking and recovering are told once, when they begin; actions are told as they happen.
    if (
      changed &&
      condition.status === ConditionStatus.False &&
      (plan.action === 'block' || plan.action === 'wait')
    ) {
      events.push({ type: 'Warning', reason: condition.reason, message: condition.message });
    } else if (
      changed &&
      condition.status === ConditionStatus.True &&
      previous &&
      previous.status !== 'True'
    ) {
      if (!events.some((e) => e.reason === 'KeysCreated')) {
        events.push({ type: 'Normal', reason: condition.reason, message: condition.message });
      }
    }
    if (plan.action === 'block' || plan.action === 'wait') {
      // Loud once, when it begins; the retries that follow are debug detail.
      this.o.log?.[changed ? 'warn' : 'debug']('hub keys not ready', {
        hub: `${facts.ref.namespace}/${facts.ref.name}`,
        reason: condition.reason,
        message: condition.message,
      });
    }
    return {
      action: plan.action,
      ready: plan.action === 'none',
      released: plan.action === 'released',
      encryption: encryptionStatus(hub, facts, set),
      kekUid: set ? (set.kekUid ?? set.hubUid) : undefined,
      kek: plan.action === 'none' ? kek : undefined,
      condition,
      events,
      requeueAfterMs: this.requeue(plan),
    };
  }

  private requeue(plan: KeyPlan): number | undefined {
    switch (plan.action) {
      case 'none':
        return plan.requeueAfterMs === undefined
          ? undefined
          : Math.max(1000, Math.min(plan.requeueAfterMs, this.o.maxRequeueMs ?? 6 * 3_600_000));
      case 'wait':
        return this.o.unavailableRetryMs ?? 30_000;
      case 'block':
        return this.o.blockedRecheckMs ?? 60_000;
      default:
        return undefined;
    }
  }
}

/** A conditional write lost a race: observe again. */
class WriteConflict extends Error {
  override name = 'WriteConflict';
}

/** A stored key version does not unwrap (or rewrap) under its KEK: a person must restore it. */
class DamagedVersionError extends Error {
  override name = 'DamagedVersionError';
}

/** Unwraps every stored version and forgets the results; DamagedVersionError names the first that fails. */
async function verifyEveryVersion(provider: KeyProvider, identity: KeyIdentity, set: DekSet): Promise<void> {
  for (const d of set.versions) {
    try {
      (await provider.unwrap(identity, d.wrapped)).fill(0);
    } catch (e) {
      if (!(e instanceof UnwrapError)) throw e;
      throw new DamagedVersionError(`key version ${d.version} does not unwrap: ${e.message}`);
    }
  }
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

/** "key version 3" or "key versions 1, 2 and 4". */
function versionList(versions: number[]): string {
  const sorted = [...versions].sort((a, b) => a - b);
  if (sorted.length === 1) return `key version ${sorted[0]}`;
  return `key versions ${sorted.slice(0, -1).join(', ')} and ${sorted.at(-1)}`;
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

function keysCondition(facts: HubKeyFacts, plan: KeyPlan, set: DekSet | undefined): ConditionUpdate {
  const cond = (status: ConditionStatus, reason: string, message: string): ConditionUpdate => ({
    type: ConditionType.KeysReady,
    status,
    reason,
    message,
    observedGeneration: facts.generation,
  });
  switch (plan.action) {
    case 'none':
      return cond(
        ConditionStatus.True,
        Reason.KeyAvailable,
        set
          ? `key version ${set.activeVersion} of ${set.versions.length} is active; key-encryption key ${set.kekRef} held by ${set.provider}`
          : 'keys are available',
      );
    case 'block':
      return cond(ConditionStatus.False, plan.reason, plan.message);
    case 'wait':
      return cond(
        ConditionStatus.False,
        Reason.KeyProviderUnavailable,
        `${plan.message}; nothing is created or deleted until the provider answers`,
      );
    case 'released':
      return plan.outcome === 'shredded'
        ? cond(
            ConditionStatus.False,
            KeyReason.KeysDestroyed,
            'the hub is being deleted and its keys were destroyed',
          )
        : cond(
            ConditionStatus.False,
            KeyReason.KeysRetained,
            plan.outcome === 'retained'
              ? `the hub is being deleted; its keys are kept (labelled ${LABEL_RETAINED_FROM}=${facts.ref.uid})${plan.note ? `: ${plan.note}` : ''}`
              : 'the hub is being deleted; it has no keys of its own to keep',
          );
    default:
      return cond(ConditionStatus.Unknown, Reason.Reconciling, `key step ${plan.action} in progress`);
  }
}

/**
 * status.encryption from the key set. Without a readable set, the last reported values are kept:
 * they are the evidence (planKeys) that keys once existed, and must not be erased by a report.
 */
function encryptionStatus(
  hub: HealthDataHub,
  facts: HubKeyFacts,
  set: DekSet | undefined,
): HubEncryptionStatus | undefined {
  // During deletion the record of which KEK the hub used is what a crypto-shred is checked
  // against (plan.ts): it is kept as it was, never rewritten from the Secret.
  if (!set || facts.deleting)
    return { ...hub.status?.encryption, provider: hub.status?.encryption?.provider ?? facts.provider };
  return {
    provider: set.provider,
    // Once recorded, the KEK a hub uses changes only by creating or adopting keys (see reconcile):
    // a Secret edited to name another KEK never rewrites the record that would authorise
    // destroying that KEK.
    keyRef: facts.reportedKeyRef ?? set.kekRef,
    activeVersion: set.activeVersion,
    versions: set.versions.length,
    lastRotationTime: formatTime(new Date(activeDek(set).createdAt)),
  };
}
