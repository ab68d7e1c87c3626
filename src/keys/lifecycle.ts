// The per-hub key lifecycle: observe (provider, `<hub>-keys` Secret, hub) -> plan (plan.ts) ->
// do one step -> observe again, until the plan is to do nothing, to wait or to block. The parts
// live in lifecycle/: observe.ts, steps/ (one module per step), secret-store.ts (the conditional
// Secret writes), ownership.ts and report.ts (condition, status and Event text).
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
import { Reason, type HealthDataHub } from '../api/index.js';
import type { KeyCustody } from './custody.js';
import { dekSecretName } from './dek.js';
import { keyIdentity } from './identity.js';
import { observe, type ObserveContext } from './lifecycle/observe.js';
import { OwnerRecords } from './lifecycle/ownership.js';
import { result } from './lifecycle/report.js';
import { SecretStore } from './lifecycle/secret-store.js';
import type { StepContext } from './lifecycle/steps/context.js';
import { execute } from './lifecycle/steps/execute.js';
import type {
  KeyEvent,
  KeyLifecycleOptions,
  KeyLifecycleResult,
  Observed,
  ReconcileKeysOptions,
} from './lifecycle/types.js';
import { hubKeyFacts, planKeys, type HubKeyFacts, type KeyPlan } from './plan.js';
import { providerFor } from './providers.js';
import type { KeyProvider } from './provider.js';

export type {
  KeyEvent,
  KeyLifecycleOptions,
  KeyLifecycleResult,
  ReconcileKeysOptions,
  SecretsApi,
} from './lifecycle/types.js';

// initialize/rotate/retain/shred each take one step, and a conflict one more observation; a hub
// needing more than this is being changed by someone else at the same time.
const MAX_STEPS = 8;

export class KeyLifecycle {
  private readonly clock: () => Date;
  private readonly store: SecretStore;
  private readonly owners: OwnerRecords;

  constructor(private readonly o: KeyLifecycleOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.store = new SecretStore(o.secrets);
    this.owners = new OwnerRecords(this.store, o.operatorNamespace ?? o.providers?.operatorNamespace, o.log);
  }

  /** Builds the hub's provider from its spec (see providerFor), reconciles, and releases it. */
  async reconcileHub(hub: HealthDataHub, options: ReconcileKeysOptions = {}): Promise<KeyLifecycleResult> {
    if (!this.o.providers) throw new Error('KeyLifecycle needs options.providers to build providers');
    options.signal?.throwIfAborted();
    const provider = await providerFor(hub, this.o.providers);
    try {
      return await this.reconcile(hub, provider, options);
    } finally {
      await provider.close?.();
    }
  }

  /**
   * Brings the hub's keys to where its spec and metadata ask, one safe step at a time. Once
   * options.signal is aborted, no further step is taken: the reconcile rejects with its reason.
   */
  async reconcile(
    hub: HealthDataHub,
    provider: KeyProvider,
    options: ReconcileKeysOptions = {},
  ): Promise<KeyLifecycleResult> {
    const { signal } = options;
    let current = hub;
    let facts = hubKeyFacts(current);
    const own = keyIdentity(facts.ref);
    const events: KeyEvent[] = [];
    const seeing: ObserveContext = { store: this.store, owners: this.owners, clock: this.clock };
    const acting: StepContext = {
      store: this.store,
      provider,
      clock: this.clock,
      metrics: this.o.metrics,
      log: this.o.log,
      events,
    };
    let lastPlan: KeyPlan | undefined;
    let fresh = !this.o.readHub;
    for (let step = 0; step < MAX_STEPS; step++) {
      // A leader that lost its lease, or a process shutting down, takes no further step.
      signal?.throwIfAborted();
      const seen = await observe(seeing, facts, own, provider, options.dataEvidence);
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
      const report = (p: KeyPlan, custody: KeyCustody | undefined) =>
        result(this.o, current, facts, seen.observation, p, events, seen.identity, { custody });
      const readCustody = () => this.custody(provider, facts, seen);
      if (plan.action === 'none') {
        const custody = await readCustody();
        // Observing and reading custody took provider round trips: nothing is written once
        // aborted, neither the owner record here nor, as the reconcile rejects, the status.
        signal?.throwIfAborted();
        await this.owners.record(facts, seen, provider);
        return report(plan, custody);
      }
      if (plan.action === 'block' || plan.action === 'wait' || plan.action === 'released') {
        return report(plan, await readCustody());
      }
      if (plan.action === 'initialize' && !fresh) {
        // Creation is the one step that rests on the absence of evidence: confirm on a fresh read.
        fresh = true;
        current = await this.reread(facts);
        facts = hubKeyFacts(current);
        continue;
      }
      signal?.throwIfAborted();
      const outcome = await execute(acting, plan, seen);
      if (outcome.kind === 'progress' && (plan.action === 'initialize' || plan.action === 'adopt')) {
        // The hub now has keys it made or adopted: the KEK they name becomes its record (status).
        facts = { ...facts, reportedKeyRef: undefined };
      }
      if (outcome.kind === 'unavailable') {
        return report({ action: 'wait', message: outcome.message }, await readCustody());
      }
      if (outcome.kind === 'blocked') {
        return report(
          { action: 'block', reason: Reason.KeyInvalid, message: outcome.message },
          await readCustody(),
        );
      }
    }
    throw new Error(
      `keys of hub ${facts.ref.namespace}/${facts.ref.name} did not settle after ${MAX_STEPS} steps (last: ${lastPlan?.action}); is something else changing Secret ${dekSecretName(facts.ref.name)}?`,
    );
  }

  /**
   * The KEK's custody as the provider reports it now, once a key object of the hub exists (usable
   * or refused: an exportable key is refused for use, and its custody says why). Undefined when
   * not read: no key, a key whose owner is not the hub, a deletion, or a provider that did not
   * answer; the last reading is then kept, and KeysReady never depends on it.
   */
  private async custody(
    provider: KeyProvider,
    facts: HubKeyFacts,
    seen: Observed,
  ): Promise<KeyCustody | undefined> {
    const kek = seen.observation.kek;
    const exists = kek.state === 'present' || (kek.state === 'invalid' && !kek.notOwned);
    if (facts.deleting || !exists || !provider.custody) return undefined;
    try {
      return await provider.custody(seen.identity);
    } catch (e) {
      this.o.log?.debug('key custody not read; the last reading is kept', {
        hub: `${facts.ref.namespace}/${facts.ref.name}`,
        error: e instanceof Error ? e.message : String(e),
      });
      return undefined;
    }
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
}
