// The gate between the controllers and the key lifecycle: one key operation of a hub at a time
// (the keys controller's ensure and the hub controller's release run on separate queues), and
// nothing ensured any more for a hub whose keys were released.
import type { HealthDataHub } from '../../../src/api/index.js';
import { LifecycleKeyGate } from '../../../src/hub/steps/key-lifecycle-gate.js';
import type { KeyLifecycle } from '../../../src/keys/lifecycle.js';
import type { KeyLifecycleResult } from '../../../src/keys/lifecycle/types.js';

const UID = '0f2c9d1e-5b7a-4c3d-8e9f-0a1b2c3d4e5f';

function hub(o: { uid?: string; deleting?: boolean } = {}): HealthDataHub {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'HealthDataHub',
    metadata: {
      name: 'h',
      namespace: 'research',
      uid: o.uid ?? UID,
      generation: 1,
      ...(o.deleting ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}),
    },
    spec: { policyName: 'eu-hds', storage: { size: '1Gi', storageClassName: 'enc' } },
  } as HealthDataHub;
}

function result(o: Partial<KeyLifecycleResult> = {}): KeyLifecycleResult {
  return {
    action: 'none',
    ready: true,
    released: false,
    encryption: undefined,
    kekUid: undefined,
    kek: undefined,
    condition: {
      type: 'KeysReady',
      status: 'True',
      reason: 'KeyAvailable',
      message: 'key version 1 is active',
      observedGeneration: 1,
    },
    events: [],
    requeueAfterMs: undefined,
    ...o,
  };
}

/**
 * The key lifecycle reduced to what the gate calls (reconcileHub): it ensures the keys of a hub
 * and releases those of a hub being deleted. Each call's start and end is recorded; `hold` makes
 * the next ensure wait until it is let go.
 */
function fakeLifecycle() {
  const calls: string[] = [];
  let held: Promise<void> | undefined;
  let released = true;
  const lifecycle = {
    reconcileHub: async (h: HealthDataHub) => {
      const what = h.metadata.deletionTimestamp ? 'release' : 'ensure';
      calls.push(`${what} start ${h.metadata.uid}`);
      if (what === 'ensure' && held) {
        const wait = held;
        held = undefined;
        await wait;
      }
      calls.push(`${what} end ${h.metadata.uid}`);
      return what === 'ensure'
        ? result()
        : result({
            action: released ? 'released' : 'wait',
            ready: false,
            released,
            condition: { ...result().condition, status: 'False', reason: 'Deleting', message: 'kept' },
          });
    },
  };
  return {
    calls,
    lifecycle: lifecycle as unknown as KeyLifecycle,
    /** The next ensure waits; the function returned lets it go on. */
    hold(): () => void {
      let go!: () => void;
      held = new Promise<void>((r) => (go = r));
      return go;
    },
    releaseCompletes(v: boolean): void {
      released = v;
    },
  };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('LifecycleKeyGate', () => {
  it('runs a release of a hub only after the ensure that is running for it has finished', async () => {
    const f = fakeLifecycle();
    const gate = new LifecycleKeyGate(f.lifecycle, () => undefined);
    const go = f.hold();

    const ensure = gate.ensure(hub());
    await settle();
    const release = gate.release(hub({ deleting: true }));
    await settle();
    expect(f.calls).toEqual([`ensure start ${UID}`]);

    go();
    expect(await ensure).toMatchObject({ ready: true });
    expect(await release).toMatchObject({ released: true });
    expect(f.calls).toEqual([
      `ensure start ${UID}`,
      `ensure end ${UID}`,
      `release start ${UID}`,
      `release end ${UID}`,
    ]);
  });

  it('does not hold back another hub\u2019s key operations', async () => {
    const f = fakeLifecycle();
    const gate = new LifecycleKeyGate(f.lifecycle, () => undefined);
    const other = '11111111-2222-4333-8444-555555555555';
    const go = f.hold();
    const ensure = gate.ensure(hub());
    await settle();
    await gate.release(hub({ uid: other, deleting: true }));
    expect(f.calls).toEqual([`ensure start ${UID}`, `release start ${other}`, `release end ${other}`]);
    go();
    await ensure;
  });

  it('runs a release after an ensure that failed', async () => {
    const f = fakeLifecycle();
    const failing = {
      reconcileHub: (h: HealthDataHub) =>
        h.metadata.deletionTimestamp
          ? f.lifecycle.reconcileHub(h)
          : Promise.reject(new Error('transit: connect ECONNREFUSED 10.0.0.7:8200')),
    } as unknown as KeyLifecycle;
    const gate = new LifecycleKeyGate(failing, () => undefined);
    const ensure = gate.ensure(hub());
    const release = gate.release(hub({ deleting: true }));
    await expect(ensure).rejects.toThrow('ECONNREFUSED');
    expect(await release).toMatchObject({ released: true });
  });

  it('ensures nothing for a hub whose keys were released, without asking the lifecycle', async () => {
    const f = fakeLifecycle();
    const gate = new LifecycleKeyGate(f.lifecycle, () => undefined);
    expect(await gate.release(hub({ deleting: true }))).toMatchObject({ released: true });
    f.calls.length = 0;

    expect(await gate.ensure(hub())).toEqual({ ready: false });
    expect(f.calls).toEqual([]);
    // Another hub (another UID, such as one of the same name created anew) is ensured.
    const other = '11111111-2222-4333-8444-555555555555';
    expect(await gate.ensure(hub({ uid: other }))).toMatchObject({ ready: true });
    expect(f.calls).toEqual([`ensure start ${other}`, `ensure end ${other}`]);
  });

  it('goes on ensuring a hub whose release has not completed', async () => {
    const f = fakeLifecycle();
    f.releaseCompletes(false);
    const gate = new LifecycleKeyGate(f.lifecycle, () => undefined);
    expect(await gate.release(hub({ deleting: true }))).toMatchObject({ released: false, message: 'kept' });
    f.calls.length = 0;
    expect(await gate.ensure(hub())).toMatchObject({ ready: true });
    expect(f.calls).toEqual([`ensure start ${UID}`, `ensure end ${UID}`]);
  });
});
