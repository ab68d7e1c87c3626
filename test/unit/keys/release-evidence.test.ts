// The evidence of a hub's keys kept or crypto-shredded, when the pass that kept or destroyed them
// stopped before the hub's deletion recorded it: the next pass finds the keys labelled retained, or
// gone, takes no step, and must still say what became of them (the deletion records it from that).
import {
  ANNOTATION_CONFIRM_DESTROY,
  HEALTH_DATA_HUB,
  Reason,
  type HealthDataHub,
} from '../../../src/api/index.js';
import { keyIdentity } from '../../../src/keys/identity.js';
import type { SecretsApi } from '../../../src/keys/lifecycle.js';
import { result } from '../../../src/keys/lifecycle/report.js';
import { hubKeyFacts, type KeyObservation, type KeyPlan } from '../../../src/keys/plan.js';

const UID = '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c';
const KEY_REF = `secret/hdh-system/hdh.research.oncology.${UID}`;

const deleting = (keyRef: string | null = KEY_REF): HealthDataHub =>
  ({
    apiVersion: HEALTH_DATA_HUB.apiVersion,
    kind: HEALTH_DATA_HUB.kind,
    metadata: {
      name: 'oncology',
      namespace: 'research',
      uid: UID,
      generation: 1,
      deletionTimestamp: new Date('2026-03-01T10:00:00Z'),
      annotations: { [ANNOTATION_CONFIRM_DESTROY]: UID },
    },
    spec: {
      policyName: 'eu-hds',
      storage: { size: '1Gi', storageClassName: 'encrypted-eu' },
      encryption: { provider: 'builtin', onDelete: 'CryptoShred' },
    },
    status: keyRef ? { encryption: { provider: 'builtin', keyRef, activeVersion: 2, versions: 2 } } : {},
  }) as HealthDataHub;

/** The lifecycle's result for a pass that ends with `plan` and took the steps whose Events are `events`. */
function released(hub: HealthDataHub, plan: KeyPlan, events: { reason: string; note: string }[] = []) {
  const facts = hubKeyFacts(hub);
  const observation = {
    hub: facts,
    kek: { state: 'absent' },
    keys: { state: 'absent' },
    active: { state: 'skipped' },
    now: new Date(),
  } as unknown as KeyObservation;
  return result(
    { secrets: {} as SecretsApi },
    hub,
    facts,
    observation,
    plan,
    events.map((e) => ({ type: 'Normal' as const, ...e })),
    keyIdentity(facts.ref),
  );
}

const shredded: KeyPlan = { action: 'released', outcome: 'shredded', note: undefined };
const retained: KeyPlan = { action: 'released', outcome: 'retained', note: undefined };

describe('the release of keys a previous pass kept or destroyed', () => {
  it('says the keys are crypto-shredded, naming the key-encryption key the hub recorded', () => {
    const r = released(deleting(), shredded);
    expect(r.released).toBe(true);
    expect(r.events).toEqual([
      expect.objectContaining({
        reason: Reason.KeysDestroyed,
        note: expect.stringContaining(`key-encryption key ${KEY_REF}`),
      }),
    ]);
  });

  it('says it once: not again in the pass that destroyed them', () => {
    const step = { reason: Reason.KeysDestroyed, note: `key-encryption key ${KEY_REF} destroyed` };
    expect(released(deleting(), shredded, [step]).events.map((e) => e.note)).toEqual([step.note]);
  });

  it('says nothing of a hub that never had keys on record', () => {
    expect(released(deleting(null), shredded).events).toEqual([]);
  });

  it('says the keys are kept, labelled with the hub UID', () => {
    const hub = deleting();
    delete hub.metadata.annotations;
    const r = released(hub, retained);
    expect(r.events).toEqual([
      expect.objectContaining({ reason: Reason.KeysRetained, note: expect.stringContaining(UID) }),
    ]);
    const step = { reason: Reason.KeysRetained, note: 'kept' };
    expect(released(hub, retained, [step]).events.map((e) => e.note)).toEqual(['kept']);
  });
});
