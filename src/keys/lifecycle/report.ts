// What the lifecycle tells: the KeysReady condition, status.encryption, the hub's Events and when
// to look again. Texts name keys, versions and Secrets, never key material.
import {
  ANNOTATION_ADOPT_KEYS,
  ConditionStatus,
  ConditionType,
  LABEL_RETAINED_FROM,
  Reason,
  formatTime,
  getCondition,
  type ConditionUpdate,
  type HealthDataHub,
  type HubEncryptionStatus,
} from '../../api/index.js';
import { becameExtractable, type KeyCustody } from '../custody.js';
import { activeDek, dekSecretName, type DekSet } from '../dek.js';
import type { HubRef, KeyIdentity } from '../identity.js';
import { type HubKeyFacts, type KeyObservation, type KeyPlan } from '../plan.js';
import type { KeyEvent, KeyLifecycleOptions, KeyLifecycleResult } from './types.js';

/** The result of a reconcile that ends with `plan` (none, block, wait or released). */
export function result(
  options: KeyLifecycleOptions,
  hub: HealthDataHub,
  facts: HubKeyFacts,
  o: KeyObservation,
  plan: KeyPlan,
  events: KeyEvent[],
  kek: KeyIdentity,
  read: { custody?: KeyCustody | undefined } = {},
): KeyLifecycleResult {
  // Keys naming a KEK the hub may not use are reported by nothing but the condition: their
  // kek-ref never reaches the hub's status (the record a crypto-shred is checked against).
  const owned = (o.owner?.state ?? 'verified') === 'verified';
  const set = o.keys.state === 'present' && owned ? o.keys.set : undefined;
  // Custody not read this time (provider silent, no key): the last reading stands.
  const custody = read.custody ?? hub.status?.encryption?.custody;
  const evidence = releaseEvidence(facts, plan, events);
  if (evidence) events.push(evidence);
  const condition = keysCondition(facts, plan, set, custody);
  const previous = getCondition(hub.status?.conditions, ConditionType.KeysReady);
  if (becameExtractable(hub.status?.encryption?.custody, read.custody)) {
    options.log?.warn('key-encryption key is extractable', {
      hub: `${facts.ref.namespace}/${facts.ref.name}`,
      custody: read.custody?.message,
    });
    events.push({ type: 'Warning', reason: Reason.KeyExtractable, note: read.custody!.message ?? '' });
  }
  const changed = previous?.status !== condition.status || previous?.reason !== condition.reason;
  // Blocking and recovering are told once, when they begin; actions are told as they happen.
  if (
    changed &&
    condition.status === ConditionStatus.False &&
    (plan.action === 'block' || plan.action === 'wait')
  ) {
    events.push({ type: 'Warning', reason: condition.reason, note: condition.message });
  } else if (changed && condition.status === ConditionStatus.True && previous && previous.status !== 'True') {
    if (!events.some((e) => e.reason === Reason.KeysCreated)) {
      events.push({ type: 'Normal', reason: condition.reason, note: condition.message });
    }
  }
  if (plan.action === 'block' || plan.action === 'wait') {
    // Loud once, when it begins; the retries that follow are debug detail.
    options.log?.[changed ? 'warn' : 'debug']('hub keys not ready', {
      hub: `${facts.ref.namespace}/${facts.ref.name}`,
      reason: condition.reason,
      message: condition.message,
    });
  }
  return {
    action: plan.action,
    ready: plan.action === 'none',
    released: plan.action === 'released',
    encryption: withCustody(encryptionStatus(hub, facts, set), custody),
    kekUid: set ? (set.kekUid ?? set.hubUid) : undefined,
    kek: plan.action === 'none' ? kek : undefined,
    condition,
    events,
    requeueAfterMs: requeue(options, plan),
  };
}

function requeue(options: KeyLifecycleOptions, plan: KeyPlan): number | undefined {
  switch (plan.action) {
    case 'none':
      return plan.requeueAfterMs === undefined
        ? undefined
        : Math.max(1000, Math.min(plan.requeueAfterMs, options.maxRequeueMs ?? 6 * 3_600_000));
    case 'wait':
      return options.unavailableRetryMs ?? 30_000;
    case 'block':
      return options.blockedRecheckMs ?? 60_000;
    default:
      return undefined;
  }
}

function keysCondition(
  facts: HubKeyFacts,
  plan: KeyPlan,
  set: DekSet | undefined,
  custody: KeyCustody | undefined,
): ConditionUpdate {
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
        (set
          ? `key version ${set.activeVersion} of ${set.versions.length} is active; key-encryption key ${set.kekRef} held by ${set.provider}`
          : 'keys are available') +
          // Usable, so the datastore keeps running; but the key could have left its provider.
          (custody?.verdict === 'Extractable'
            ? `; but the provider reports the key as extractable (status.encryption.custody): ${custody.message}`
            : ''),
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
            Reason.KeysDestroyed,
            'the hub is being deleted and its keys were destroyed',
          )
        : cond(
            ConditionStatus.False,
            Reason.KeysRetained,
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

/** status.encryption with the custody last read, when there is a record to add it to. */
function withCustody(
  encryption: HubEncryptionStatus | undefined,
  custody: KeyCustody | undefined,
): HubEncryptionStatus | undefined {
  return encryption && custody ? { ...encryption, custody } : encryption;
}

// ---- the Events of the steps, and the message of a step stopped by a damaged version ----

export function keysCreatedEvent(hub: HubRef, kekRef: string, kekCreated: boolean): KeyEvent {
  return {
    type: 'Normal',
    reason: Reason.KeysCreated,
    note: kekCreated
      ? `created key-encryption key ${kekRef} and key version 1 (Secret ${dekSecretName(hub.name)})`
      : `created key version 1 (Secret ${dekSecretName(hub.name)}) with the existing key-encryption key ${kekRef}`,
  };
}

export function keyRotatedEvent(
  plan: Extract<KeyPlan, { action: 'rotate' }>,
  activeVersion: number,
  rewrapped: ReadonlySet<number>,
  kekVersion: number | undefined,
): KeyEvent {
  const v = activeVersion;
  const kekPart =
    rewrapped.size > 0
      ? `; ${plan.rotateKek ? `key-encryption key rotated to version ${kekVersion}, and ` : ''}` +
        `${versionList([...rewrapped])} rewrapped under its version ${kekVersion}`
      : '';
  return {
    type: 'Normal',
    reason: Reason.KeyRotated,
    note:
      `added key version ${v} and made it active (${plan.trigger === 'annotation' ? 'requested by annotation hdh.sovereign.eu/rotate-key' : 'spec.encryption.rotationInterval elapsed'}); ` +
      `version${v > 2 ? 's' : ''} ${v > 2 ? `1-${v - 1}` : '1'} stay available for decryption${kekPart}`,
  };
}

export function keysRewrappedEvent(
  rewrapped: ReadonlySet<number>,
  kekVersion: number | undefined,
  kekRef: string,
): KeyEvent {
  return {
    type: 'Normal',
    reason: Reason.KeysRewrapped,
    note:
      `${versionList([...rewrapped])} rewrapped under version ${kekVersion} of key-encryption key ${kekRef}, ` +
      'which was rotated at the provider; the keys themselves are unchanged',
  };
}

export function keysAdoptedEvent(from: string, adopted: DekSet): KeyEvent {
  return {
    type: 'Normal',
    reason: Reason.KeysAdopted,
    note:
      `adopted the keys of the earlier hub uid ${from}, as annotation ${ANNOTATION_ADOPT_KEYS} asks: ` +
      `${adopted.versions.length} key version(s), version ${adopted.activeVersion} active, still wrapped by ` +
      `key-encryption key ${adopted.kekRef}`,
  };
}

/** What a crypto-shred step did: the KEK it destroyed, the Secret it deleted (versions it held). */
export interface Shredded {
  kekDestroyed?: string | undefined;
  secretDeleted?: { name: string; versions: number | undefined } | undefined;
}

/**
 * The Event that says what became of the keys of a released hub when no step of this pass said
 * it: a previous pass kept or destroyed them and stopped before the hub's deletion recorded it
 * (the operator restarted, or the record could not be written). Derived from what survives that:
 * the Secret labelled retained from the hub, or the KEK the hub's status names gone from the
 * provider with no wrapped key left. Nothing for a hub that never had keys on record.
 */
function releaseEvidence(
  facts: HubKeyFacts,
  plan: KeyPlan,
  events: readonly KeyEvent[],
): KeyEvent | undefined {
  if (plan.action !== 'released') return undefined;
  const said = (reason: string) => events.some((e) => e.reason === reason);
  if (plan.outcome === 'retained' && !said(Reason.KeysRetained))
    return keysRetainedEvent(facts.ref, plan.note);
  if (plan.outcome !== 'shredded' || !facts.reportedKeyRef || said(Reason.KeysDestroyed)) return undefined;
  return {
    type: 'Normal',
    reason: Reason.KeysDestroyed,
    note:
      `crypto-shred confirmed by hdh.sovereign.eu/confirm-destroy: key-encryption key ${facts.reportedKeyRef} ` +
      `is no longer at the provider and Secret ${dekSecretName(facts.ref.name)} is gone; data encrypted with ` +
      'these keys can no longer be read',
  };
}

/** The crypto-shred Event; undefined when the step found nothing left to destroy. */
export function keysShreddedEvent(done: Shredded): KeyEvent | undefined {
  const parts: string[] = [];
  if (done.kekDestroyed !== undefined) parts.push(`key-encryption key ${done.kekDestroyed} destroyed`);
  if (done.secretDeleted) {
    const { name, versions: n } = done.secretDeleted;
    parts.push(`Secret ${name}${n ? ` (${n} wrapped version${n > 1 ? 's' : ''})` : ''} deleted`);
  }
  if (parts.length === 0) return undefined;
  return {
    type: 'Normal',
    reason: Reason.KeysDestroyed,
    note: `crypto-shred confirmed by hdh.sovereign.eu/confirm-destroy: ${parts.join('; ')}; data encrypted with these keys can no longer be read`,
  };
}

export function keysRetainedEvent(hub: HubRef, note: string | undefined): KeyEvent {
  return {
    type: note ? 'Warning' : 'Normal',
    reason: Reason.KeysRetained,
    note:
      `${note ? `${note}: nothing destroyed; ` : ''}the hub's keys are kept: Secret ${dekSecretName(hub.name)} ` +
      `is labelled ${LABEL_RETAINED_FROM}=${hub.uid} and the key-encryption key stays at the provider; ` +
      'a new hub of the same name does not use them',
  };
}

/** KeyInvalid: a step found a stored version that does not unwrap (or rewrap) under its KEK. */
export function damagedVersionMessage(damage: string, hubName: string): string {
  return (
    `${damage}; nothing was changed, and a damaged key is never repaired by guessing: restore ` +
    `Secret ${dekSecretName(hubName)} from a backup (the datastore's pods need every version to start)`
  );
}

/** "key version 3" or "key versions 1, 2 and 4". */
function versionList(versions: number[]): string {
  const sorted = [...versions].sort((a, b) => a - b);
  if (sorted.length === 1) return `key version ${sorted[0]}`;
  return `key versions ${sorted.slice(0, -1).join(', ')} and ${sorted.at(-1)}`;
}
