// The keys controller against the fake cluster: KeysReady and status.encryption under its own
// field manager, written only when they change, the gate's Events and requeues, refusals of the
// input, what it leaves alone (suspended, not finalized yet, deleting, system namespaces), the API
// server refusing a key-access object, a gate that fails, cancellation, and an upgrade from the
// single field manager of earlier versions.
import {
  ConditionType,
  FIELD_MANAGER,
  FINALIZER,
  HEALTH_DATA_HUB,
  KEYS_FIELD_MANAGER,
  Reason,
  type ConditionUpdate,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import type { PlatformSettings } from '../../../src/hub/references.js';
import { hubOwnedStatus } from '../../../src/hub/status.js';
import type { KeyGateResult } from '../../../src/hub/steps/keys.js';
import { WriteRefused } from '../../../src/runtime/errors.js';
import { FakeCluster } from '../../support/fake-cluster.js';
import {
  ENCRYPTION,
  euNode,
  hub,
  keysController,
  keysOf,
  keysReadyResult,
  namespace,
  policy,
  recordingGate,
  reportKeys,
  running,
} from './fixtures.js';

const KEY = 'research/h';

/** Policy eu-hds, a node inside it, and hub research/h with its finalizer (unless told otherwise). */
function cluster(
  o: { hub?: Partial<HealthDataHub['spec']>; finalizers?: string[]; policy?: SovereigntyPolicy } = {},
): FakeCluster {
  const c = new FakeCluster();
  c.policies.put(o.policy ?? policy());
  c.nodes.put(euNode());
  c.namespaces.put(namespace('research', ['eu-hds']));
  c.hubs.put(hub('h', 'research', o.hub ?? {}, { finalizers: o.finalizers ?? [FINALIZER] }));
  return c;
}

const keysWrites = (c: FakeCluster) => c.status.writesOf(KEYS_FIELD_MANAGER);
const ownersOf = (c: FakeCluster) => c.status.ownersOf(HEALTH_DATA_HUB.plural, c.hubs.get(KEY)!);

/** A hub changed by someone else (the API server moves its resourceVersion). */
function update(c: FakeCluster, change: (h: HealthDataHub) => HealthDataHub): void {
  const h = change(c.hubs.get(KEY)!);
  c.hubs.put({
    ...h,
    metadata: { ...h.metadata, resourceVersion: `${Number(h.metadata.resourceVersion) + 1}` },
  });
}

const providerNotAllowed: ConditionUpdate = {
  type: ConditionType.KeysReady,
  status: 'False',
  reason: Reason.KeyProviderNotAllowed,
  message: 'key provider "builtin" is not allowed by SovereigntyPolicy "eu-hds"',
  observedGeneration: 1,
};

const pkcs11 = {
  provider: 'pkcs11',
  pkcs11: {
    module: '/usr/lib/softhsm/libsofthsm2.so',
    tokenLabel: 'hdh',
    pinSecretRef: { name: 'hsm-pin', key: 'pin' },
  },
} as HealthDataHub['spec']['encryption'];

const refusedRole = () =>
  new WriteRefused(
    'Role',
    'hdh-research-h',
    'hdh-system',
    422,
    'Role.rbac.authorization.k8s.io "hdh-research-h" is invalid: rules[0].resourceNames: Invalid value',
  );

describe('KeysReconciler', () => {
  it('writes KeysReady and status.encryption once under its own field manager, and nothing at rest', async () => {
    const c = cluster();
    const gate = recordingGate();
    const keys = keysController(c, gate);

    expect(await keys.reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([`ensure ${KEY}`]);
    expect(keysOf(c, KEY)).toMatchObject({
      status: 'True',
      reason: Reason.KeyAvailable,
      observedGeneration: 1,
    });
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
    // Only its own part of the status: nothing of Ready, placement, storage or the datastore.
    expect(keysWrites(c)).toEqual([
      expect.objectContaining({
        key: KEY,
        status: {
          conditions: [expect.objectContaining({ type: ConditionType.KeysReady })],
          encryption: ENCRYPTION,
        },
      }),
    ]);
    expect(ownersOf(c)).toEqual({
      'conditions[KeysReady]': [KEYS_FIELD_MANAGER],
      encryption: [KEYS_FIELD_MANAGER],
    });
    expect(c.events.events).toEqual([]);

    // At rest: the gate is asked again (one step per reconcile), nothing is written.
    expect(await keys.reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toHaveLength(2);
    expect(keysWrites(c)).toHaveLength(1);
  });

  // StorageReady promises "nothing of the hub is created until then" for a refused class: keys
  // included. The class's change wakes the keys (a storage-class watch), which are then made.
  it('makes no key while the hub\u2019s StorageClass is refused, and makes them once it is accepted', async () => {
    const c = cluster();
    const gate = recordingGate();
    let refusal: string | undefined = 'StorageClass "encrypted-eu" does not exist';
    const keys = keysController(c, gate, { storageClassRefusal: () => refusal });

    expect(await keys.reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([]);
    expect(keysWrites(c)).toEqual([]);

    refusal = undefined;
    expect(await keys.reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([`ensure ${KEY}`]);
    expect(keysOf(c, KEY)).toMatchObject({ status: 'True' });
  });

  it('writes a new verdict and a new key version, keeping the transition time while KeysReady holds', async () => {
    const c = cluster();
    let result = keysReadyResult();
    const keys = keysController(
      c,
      recordingGate(() => Promise.resolve(result)),
    );
    await keys.reconcile(KEY, running());
    const since = keysOf(c, KEY)!.lastTransitionTime;

    result = {
      ...result,
      condition: { ...result.condition!, message: 'key version 2 is active' },
      encryption: { ...ENCRYPTION, activeVersion: 2, versions: 2 },
    };
    await keys.reconcile(KEY, running());
    expect(keysWrites(c)).toHaveLength(2);
    expect(keysOf(c, KEY)).toMatchObject({ message: 'key version 2 is active', lastTransitionTime: since });
    expect(c.hubs.get(KEY)?.status?.encryption).toMatchObject({ activeVersion: 2, versions: 2 });
  });

  it('keeps the encryption it reported when the gate reports none', async () => {
    const c = cluster();
    await reportKeys(c, KEY);
    const keys = keysController(
      c,
      recordingGate(() => Promise.resolve({ ready: true, condition: keysReadyResult().condition! })),
    );
    await keys.reconcile(KEY, running());
    expect(keysWrites(c)).toHaveLength(1);
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
  });

  it('records the gate\u2019s Events on the hub and returns its requeue', async () => {
    const c = cluster();
    const created: KeyGateResult = {
      ...keysReadyResult(),
      requeueAfterMs: 0,
      events: [{ type: 'Normal', reason: Reason.KeysCreated, note: 'created KEK and key version 1' }],
    };
    const keys = keysController(
      c,
      recordingGate(() => Promise.resolve(created)),
    );
    expect(await keys.reconcile(KEY, running())).toEqual({ requeueAfterMs: 0 });
    expect(c.events.events).toEqual([
      {
        regarding: `HealthDataHub ${KEY}`,
        type: 'Normal',
        reason: Reason.KeysCreated,
        note: 'created KEK and key version 1',
      },
    ]);
    // Events are the gate's to say: each call's are recorded, even with nothing new to write.
    expect(await keys.reconcile(KEY, running())).toEqual({ requeueAfterMs: 0 });
    expect(c.events.withReason(Reason.KeysCreated)).toHaveLength(2);
    expect(keysWrites(c)).toHaveLength(1);
  });

  it('writes what is in progress (KeysReady False, not blocked) and its requeue', async () => {
    const c = cluster();
    const unavailable: KeyGateResult = {
      ready: false,
      condition: {
        type: ConditionType.KeysReady,
        status: 'False',
        reason: Reason.KeyProviderUnavailable,
        message: 'transit: connect ECONNREFUSED 10.0.0.7:8200',
        observedGeneration: 1,
      },
      requeueAfterMs: 30_000,
    };
    const keys = keysController(
      c,
      recordingGate(() => Promise.resolve(unavailable)),
    );
    expect(await keys.reconcile(KEY, running())).toEqual({ requeueAfterMs: 30_000 });
    expect(keysOf(c, KEY)).toMatchObject({ status: 'False', reason: Reason.KeyProviderUnavailable });
    expect(c.hubs.get(KEY)?.status?.encryption).toBeUndefined();
    expect(keysWrites(c)[0]!.status).toEqual({
      conditions: [expect.objectContaining({ type: 'KeysReady' })],
    });
  });

  const softhsm = '/usr/lib/softhsm/libsofthsm2.so';
  it.each<[string, Partial<HealthDataHub['spec']>, SovereigntyPolicy, PlatformSettings | undefined, string]>([
    [
      'a provider the policy does not allow',
      {},
      policy('eu-hds', { keyProviders: ['transit'] }),
      undefined,
      Reason.KeyProviderNotAllowed,
    ],
    [
      'a PKCS#11 module the platform does not allow',
      { encryption: pkcs11 },
      policy(),
      { pkcs11AllowedModules: [], pkcs11AllowedTokens: [{ namespace: 'research', label: 'hdh' }] },
      Reason.Pkcs11ModuleNotAllowed,
    ],
    [
      'a PKCS#11 token the namespace may not use',
      { encryption: pkcs11 },
      policy(),
      { pkcs11AllowedModules: [softhsm], pkcs11AllowedTokens: [{ namespace: 'other', label: 'hdh' }] },
      Reason.Pkcs11TokenNotAllowed,
    ],
  ])('refuses %s without asking the gate, once', async (_what, spec, p, platform, reason) => {
    const c = cluster({ hub: spec, policy: p });
    const gate = recordingGate();
    const keys = keysController(c, gate, platform ? { platform } : {});

    expect(await keys.reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([]);
    expect(keysOf(c, KEY)).toMatchObject({ status: 'False', reason, observedGeneration: 1 });
    expect(keysWrites(c)).toHaveLength(1);
    expect(c.events.events).toEqual([]);
    await keys.reconcile(KEY, running());
    expect(keysWrites(c)).toHaveLength(1);
    expect(gate.calls).toEqual([]);
  });

  it('asks the gate once the platform allows the PKCS#11 module and token', async () => {
    const c = cluster({ hub: { encryption: pkcs11 } });
    const gate = recordingGate();
    const platform = {
      pkcs11AllowedModules: [softhsm],
      pkcs11AllowedTokens: [{ namespace: 'research', label: 'hdh' }],
    };
    await keysController(c, gate, { platform }).reconcile(KEY, running());
    expect(gate.calls).toEqual([`ensure ${KEY}`]);
  });

  it('refuses the input even before the finalizer, keeping the encryption it reported', async () => {
    const c = cluster({ policy: policy('eu-hds', { keyProviders: ['transit'] }), finalizers: [] });
    await reportKeys(c, KEY);
    const gate = recordingGate();
    await keysController(c, gate).reconcile(KEY, running());
    expect(gate.calls).toEqual([]);
    expect(keysOf(c, KEY)).toMatchObject({ reason: Reason.KeyProviderNotAllowed });
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
  });

  it('asks nothing of a suspended hub, and drops a refusal once its policy lifts it', async () => {
    const c = cluster({ policy: policy('eu-hds', { keyProviders: ['transit'] }) });
    update(c, (h) => ({ ...h, spec: { ...h.spec, suspend: true } }));
    const gate = recordingGate();
    const keys = keysController(c, gate);
    // Suspended or not, input that does not hold is reported: resuming could not help.
    await keys.reconcile(KEY, running());
    expect(keysOf(c, KEY)).toMatchObject({ status: 'False', reason: Reason.KeyProviderNotAllowed });

    c.policies.put(policy());
    expect(await keys.reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([]);
    expect(keysOf(c, KEY)).toBeUndefined();
    expect(ownersOf(c)['conditions[KeysReady]']).toBeUndefined();
    // Gone, and said once.
    await keys.reconcile(KEY, running());
    expect(keysWrites(c)).toHaveLength(2);
    expect(gate.calls).toEqual([]);
  });

  it('keeps what it reported of a suspended hub\u2019s keys, and writes nothing', async () => {
    const c = cluster();
    await reportKeys(c, KEY);
    update(c, (h) => ({ ...h, spec: { ...h.spec, suspend: true } }));
    const gate = recordingGate();
    await keysController(c, gate).reconcile(KEY, running());
    expect(gate.calls).toEqual([]);
    expect(keysWrites(c)).toHaveLength(1);
    expect(keysOf(c, KEY)).toMatchObject({ status: 'True' });
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
  });

  it('drops a refusal of the input when another part of the input fails, without asking the gate', async () => {
    // The policy allows the provider again but no longer selects the namespace.
    const c = cluster();
    await reportKeys(c, KEY, providerNotAllowed, ENCRYPTION);
    c.namespaces.put(namespace('research'));
    c.policies.put(
      policy('eu-hds', { namespaceSelector: { matchLabels: { tier: 'health' } } } as Partial<
        SovereigntyPolicy['spec']
      >),
    );
    const gate = recordingGate();
    await keysController(c, gate).reconcile(KEY, running());
    expect(gate.calls).toEqual([]);
    expect(keysOf(c, KEY)).toBeUndefined();
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
  });

  it('waits for the hub controller\u2019s finalizer before any key exists', async () => {
    const c = cluster({ finalizers: [] });
    const gate = recordingGate();
    const keys = keysController(c, gate);
    expect(await keys.reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([]);
    expect(c.status.writes).toEqual([]);

    update(c, (h) => ({ ...h, metadata: { ...h.metadata, finalizers: [FINALIZER] } }));
    await keys.reconcile(KEY, running());
    expect(gate.calls).toEqual([`ensure ${KEY}`]);
  });

  it('leaves a hub being deleted to the hub controller\u2019s finalizer', async () => {
    const c = cluster();
    await reportKeys(c, KEY);
    update(c, (h) => ({
      ...h,
      metadata: { ...h.metadata, deletionTimestamp: new Date('2026-01-01T00:00:00Z') },
    }));
    const gate = recordingGate();
    expect(await keysController(c, gate).reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([]);
    expect(keysWrites(c)).toHaveLength(1);
    expect(c.events.events).toEqual([]);
  });

  it.each([['kube-system'], ['hdh-system']])('does nothing for a hub in %s', async (ns) => {
    const c = cluster();
    c.namespaces.put(namespace(ns, ['eu-hds']));
    c.hubs.put(hub('h', ns, {}, { finalizers: [FINALIZER] }));
    const gate = recordingGate();
    expect(await keysController(c, gate).reconcile(`${ns}/h`, running())).toBeUndefined();
    expect(gate.calls).toEqual([]);
    expect(c.status.writes).toEqual([]);
    expect(c.events.events).toEqual([]);
  });

  it('does nothing for a hub that is gone', async () => {
    const c = cluster();
    c.hubs.remove(KEY);
    const gate = recordingGate();
    expect(await keysController(c, gate).reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([]);
    expect(c.status.writes).toEqual([]);
  });

  it('reports a key-access object the API server refuses: ApiServerRefused, one Warning, backoff', async () => {
    const c = cluster();
    await reportKeys(c, KEY);
    const keys = keysController(
      c,
      recordingGate(() => Promise.reject(refusedRole())),
    );

    expect(await keys.reconcile(KEY, running())).toEqual({ backoff: true });
    const refused = keysOf(c, KEY)!;
    expect(refused).toMatchObject({
      status: 'False',
      reason: Reason.ApiServerRefused,
      observedGeneration: 1,
    });
    expect(refused.message).toContain('Role hdh-system/hdh-research-h (422)');
    expect(refused.message).toContain('rules[0].resourceNames');
    // The keys themselves are still there: what was reported of them stays.
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
    expect(c.events.events).toEqual([
      expect.objectContaining({ type: 'Warning', reason: Reason.ApiServerRefused, note: refused.message }),
    ]);
    expect(keysWrites(c)).toHaveLength(2);

    // The same refusal again: no new write, no new Event, backoff again.
    expect(await keys.reconcile(KEY, running())).toEqual({ backoff: true });
    expect(keysWrites(c)).toHaveLength(2);
    expect(c.events.withReason(Reason.ApiServerRefused)).toHaveLength(1);
  });

  it('rejects when the gate fails otherwise, writing and saying nothing', async () => {
    const c = cluster();
    await reportKeys(c, KEY);
    const gate = recordingGate(() =>
      Promise.reject(new Error('transit: connect ECONNREFUSED 10.0.0.7:8200')),
    );
    await expect(keysController(c, gate).reconcile(KEY, running())).rejects.toThrow('ECONNREFUSED');
    expect(keysWrites(c)).toHaveLength(1);
    expect(keysOf(c, KEY)).toMatchObject({ status: 'True' });
    expect(c.events.events).toEqual([]);
  });

  it('writes nothing after the gate once its signal is aborted', async () => {
    const c = cluster();
    const lease = new AbortController();
    const gate = recordingGate(() => {
      lease.abort(new Error('leadership lost'));
      return Promise.resolve({
        ...keysReadyResult(),
        events: [{ type: 'Normal', reason: Reason.KeysCreated, note: 'created' }],
      });
    });
    await expect(keysController(c, gate).reconcile(KEY, lease.signal)).rejects.toThrow('leadership lost');
    // The gate gets the signal too, to stop between its own steps.
    expect(gate.signals).toEqual([lease.signal]);
    expect(c.status.writes).toEqual([]);
    expect(c.events.events).toEqual([]);
  });

  // An earlier version applied the whole status, KeysReady and status.encryption included, with
  // the one field manager that is now the hub controller's. The keys controller applies them once
  // under its own manager even though their values are already right, so the hub controller's
  // next change of its own part does not drop them.
  it('takes KeysReady and status.encryption over from the single field manager of an upgrade', async () => {
    const converged = cluster();
    await keysController(converged).reconcile(KEY, running());
    const status = {
      ...converged.hubs.get(KEY)!.status,
      conditions: [
        ...(converged.hubs.get(KEY)!.status?.conditions ?? []),
        {
          type: ConditionType.Ready,
          status: 'True',
          reason: Reason.AllReady,
          message: 'all ready',
          observedGeneration: 1,
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    };
    const upgraded = async () => {
      const c = cluster();
      await c.status.writer(FIELD_MANAGER).applyStatus(HEALTH_DATA_HUB, 'h', 'research', status);
      expect(ownersOf(c)['conditions[KeysReady]']).toEqual([FIELD_MANAGER]);
      return c;
    };
    /** The hub controller's next write of its own part (Ready's message changed). */
    const hubControllerWrites = async (c: FakeCluster) => {
      const own = hubOwnedStatus(c.hubs.get(KEY)!.status);
      own.conditions = own.conditions?.map((x) =>
        x.type === 'Ready' ? { ...x, message: 'still ready' } : x,
      );
      await c.status.writer(FIELD_MANAGER).applyStatus(HEALTH_DATA_HUB, 'h', 'research', own);
    };

    // Without the keys controller taking them over, that write would drop them.
    const without = await upgraded();
    await hubControllerWrites(without);
    expect(keysOf(without, KEY)).toBeUndefined();
    expect(without.hubs.get(KEY)?.status?.encryption).toBeUndefined();

    const c = await upgraded();
    const keys = keysController(c);
    await keys.reconcile(KEY, running());
    expect(keysWrites(c)).toHaveLength(1);
    expect(ownersOf(c)['conditions[KeysReady]']).toEqual([FIELD_MANAGER, KEYS_FIELD_MANAGER]);
    expect(ownersOf(c).encryption).toEqual([FIELD_MANAGER, KEYS_FIELD_MANAGER]);
    // Taken over once: owned now, nothing more to write.
    await keys.reconcile(KEY, running());
    expect(keysWrites(c)).toHaveLength(1);

    await hubControllerWrites(c);
    expect(keysOf(c, KEY)).toMatchObject({ status: 'True', reason: Reason.KeyAvailable });
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
    expect(ownersOf(c)['conditions[KeysReady]']).toEqual([KEYS_FIELD_MANAGER]);
    expect(ownersOf(c)['conditions[Ready]']).toEqual([FIELD_MANAGER]);
  });

  // After an upgrade, a hub being deleted still has its keys part under the earlier version's
  // manager; the deletion reads status.encryption (which KEK the hub used), so the keys controller
  // takes it over without asking the gate anything.
  it('takes over the keys part of a hub being deleted after an upgrade, without asking the gate', async () => {
    const converged = cluster();
    await keysController(converged).reconcile(KEY, running());
    const c = cluster();
    await c.status
      .writer(FIELD_MANAGER)
      .applyStatus(HEALTH_DATA_HUB, 'h', 'research', converged.hubs.get(KEY)!.status);
    update(c, (h) => ({
      ...h,
      metadata: { ...h.metadata, deletionTimestamp: new Date('2026-01-01T00:00:00Z') },
    }));
    expect(ownersOf(c)['conditions[KeysReady]']).toEqual([FIELD_MANAGER]);

    const gate = recordingGate();
    const keys = keysController(c, gate);
    expect(await keys.reconcile(KEY, running())).toBeUndefined();
    expect(gate.calls).toEqual([]);
    expect(keysWrites(c)).toHaveLength(1);
    expect(ownersOf(c)['conditions[KeysReady]']).toEqual([FIELD_MANAGER, KEYS_FIELD_MANAGER]);
    expect(ownersOf(c).encryption).toEqual([FIELD_MANAGER, KEYS_FIELD_MANAGER]);
    expect(keysOf(c, KEY)).toMatchObject({ status: 'True', reason: Reason.KeyAvailable });
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
    expect(c.events.events).toEqual([]);

    // Owned now: nothing more to write.
    await keys.reconcile(KEY, running());
    expect(keysWrites(c)).toHaveLength(1);
    expect(gate.calls).toEqual([]);

    // The hub controller's manager stops sending them (its next write): they stay.
    await c.status
      .writer(FIELD_MANAGER)
      .applyStatus(HEALTH_DATA_HUB, 'h', 'research', hubOwnedStatus(c.hubs.get(KEY)!.status));
    expect(keysOf(c, KEY)).toMatchObject({ status: 'True' });
    expect(c.hubs.get(KEY)?.status?.encryption).toEqual(ENCRYPTION);
    expect(ownersOf(c).encryption).toEqual([KEYS_FIELD_MANAGER]);
  });
});
