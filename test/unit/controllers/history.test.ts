// The durable history against the fake cluster: the recorder's ConfigMap writes (create, replace
// with the version read, conflicts retried, failures dropped without blocking anything), and what
// the placement and keys controllers and a hub's deletion record.
import { Registry } from 'prom-client';
import { FINALIZER, LABEL_RETAINED_FROM, Reason, type HealthDataHub } from '../../../src/api/index.js';
import {
  historyConfigMapName,
  parseHistory,
  renderHistoryConfigMap,
  type HistoryEntry,
  type HistorySink,
} from '../../../src/api/history.js';
import { HistoryRecorder } from '../../../src/hub/history-recorder.js';
import { MAX_LISTED_VIOLATIONS } from '../../../src/placement/audit.js';
import { finalizeHub, type DeletionDeps } from '../../../src/hub/steps/deletion.js';
import type { KeyGate } from '../../../src/hub/steps/keys.js';
import { createLogger } from '../../../src/runtime/logging.js';
import { StorageMetrics } from '../../../src/storage/metrics.js';
import { FakeCluster, FakeConfigMapApi } from '../../support/fake-cluster.js';
import {
  ENCRYPTION,
  OPERATOR_NAMESPACE,
  euNode,
  hub,
  keysController,
  keysReadyResult,
  namespace,
  placementController,
  pod,
  policy,
  recordingGate,
  running,
  usNode,
} from './fixtures.js';

const at = (second: number) => `2026-03-01T10:00:${String(second).padStart(2, '0')}Z`;
const entry = (second: number, type: HistoryEntry['type'] = 'Violation'): HistoryEntry => ({
  time: at(second),
  type,
  hub: 'h',
  reason: Reason.PodsOutsidePolicy,
  message: `at ${second}`,
});

const KEY = `${OPERATOR_NAMESPACE}/${historyConfigMapName('research')}`;

/** A logger whose warnings the test reads. */
function warnings() {
  const said: string[] = [];
  const log = createLogger('error', 'json');
  log.warn = ((message: string, meta?: Record<string, unknown>) => {
    said.push(`${message} ${JSON.stringify(meta ?? {})}`);
    return log;
  }) as typeof log.warn;
  return { log, said };
}

function recorder(api = new FakeConfigMapApi(), attempts?: number) {
  const { log, said } = warnings();
  const history = new HistoryRecorder({
    api: api.api(),
    operatorNamespace: OPERATOR_NAMESPACE,
    log,
    ...(attempts ? { attempts } : {}),
  });
  const stored = () => parseHistory(api.stored.get(KEY));
  return { api, history, said, stored };
}

describe('HistoryRecorder', () => {
  it('creates the ConfigMap in the operator namespace, then replaces it with the version read', async () => {
    const { api, history, stored } = recorder();
    await history.record('research', [entry(1)]);
    expect(api.stored.get(KEY)?.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'hdh-operator',
      'hdh.sovereign.eu/history-of': 'research',
    });
    await history.record('research', [entry(2, 'Eviction')]);
    expect(stored()).toEqual([entry(1), entry(2, 'Eviction')]);
    expect(api.requests.map((r) => `${r.verb} ${r.code}`)).toEqual([
      'get 404',
      'create 200',
      'get 200',
      'update 200',
    ]);
  });

  it('keeps the order of entries recorded at once, writing them in as few requests as it can', async () => {
    const { api, history, stored } = recorder();
    await Promise.all([1, 2, 3, 4].map((s) => history.record('research', [entry(s)])));
    expect(stored().map((e) => e.time)).toEqual([at(1), at(2), at(3), at(4)]);
    // The first batch alone, then the three queued behind it together.
    expect(api.requests.filter((r) => r.verb !== 'get')).toHaveLength(2);
  });

  it('reads again and retries when another writer got there first', async () => {
    const { api, history, stored } = recorder();
    await history.record('research', [entry(1)]);
    let raced = false;
    api.beforeWrite = () => {
      if (raced) return;
      raced = true;
      api.put(renderHistoryConfigMap('research', OPERATOR_NAMESPACE, [entry(1), entry(2, 'KeyRotated')]));
    };
    await history.record('research', [entry(3, 'Eviction')]);
    expect(stored().map((e) => e.type)).toEqual(['Violation', 'KeyRotated', 'Eviction']);
    expect(api.requests.filter((r) => r.code === 409)).toHaveLength(1);
  });

  it('never overwrites a record it cannot read: records nothing and says so once', async () => {
    const { api, history, said } = recorder();
    const broken = api.put({
      metadata: { name: historyConfigMapName('research'), namespace: OPERATOR_NAMESPACE },
      data: { entries: '{oops' },
    });
    await expect(history.record('research', [entry(1)])).resolves.toBe(false);
    await expect(history.record('research', [entry(2)])).resolves.toBe(false);
    expect(api.stored.get(KEY)).toEqual(broken);
    expect(api.requests.filter((r) => r.verb !== 'get')).toEqual([]);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('cannot be read');
    // Once someone repairs (or removes) it, recording goes on.
    api.stored.delete(KEY);
    await expect(history.record('research', [entry(3)])).resolves.toBe(true);
  });

  it('keeps entries of types it does not know (a newer version during a rolling update)', async () => {
    const { api, history } = recorder();
    const foreign = { time: at(1), type: 'KeysEscrowed', hub: 'h', message: 'm', extra: [1] };
    api.put(renderHistoryConfigMap('research', OPERATOR_NAMESPACE, [foreign]));
    await history.record('research', [entry(2)]);
    expect(JSON.parse(api.stored.get(KEY)!.data!.entries!)).toEqual([foreign, entry(2)]);
  });

  it('writes nothing when every entry was recorded already', async () => {
    const { api, history } = recorder();
    const shred = { ...entry(1, 'KeysShredded'), hubUID: 'u', kekRef: 'k' };
    await expect(history.record('research', [shred])).resolves.toBe(true);
    await expect(history.record('research', [{ ...shred, time: at(2) }])).resolves.toBe(true);
    expect(api.requests.filter((r) => r.verb !== 'get')).toHaveLength(1);
  });

  it('gives up after a few conflicts or any other failure, says so, and never rejects', async () => {
    const { api, history, said, stored } = recorder(new FakeConfigMapApi(), 3);
    api.failNext(409, 409, 409);
    // Absent, so each attempt reads (404) and creates, and each create is answered 409.
    await expect(history.record('research', [entry(1)])).resolves.toBe(false);
    expect(stored()).toEqual([]);
    expect(said.join('\n')).toContain('history entries not recorded');
    expect(said.join('\n')).toContain('"entries":"Violation"');

    api.failNext(500);
    await expect(history.record('research', [entry(2)])).resolves.toBe(false);
    expect(said).toHaveLength(2);
    // And it goes on afterwards.
    await history.record('research', [entry(3)]);
    expect(stored()).toEqual([entry(3)]);
  });

  it('keeps namespaces apart', async () => {
    const { api, history } = recorder();
    await history.record('research', [entry(1)]);
    await history.record('oncology', [entry(2)]);
    expect(parseHistory(api.stored.get(`${OPERATOR_NAMESPACE}/hdh-history.oncology`))).toEqual([entry(2)]);
    expect(parseHistory(api.stored.get(KEY))).toEqual([entry(1)]);
  });
});

/** A sink that keeps every entry, or never answers (`hang`). */
class MemorySink implements HistorySink {
  readonly entries: { namespace: string; entry: HistoryEntry }[] = [];
  hang = false;
  fail = false;
  record(namespace: string, entries: readonly HistoryEntry[]): Promise<boolean> {
    if (this.hang) return new Promise(() => {});
    if (this.fail) return Promise.resolve(false);
    this.entries.push(...entries.map((entry) => ({ namespace, entry })));
    return Promise.resolve(true);
  }
  types(): string[] {
    return this.entries.map((e) => `${e.entry.type} ${e.entry.pod ?? ''}`.trim());
  }
}

/** A sink whose writes a test can wait for (the placement controller does not). */
function awaited(inner: HistorySink) {
  const pending: Promise<boolean>[] = [];
  const sink: HistorySink = {
    record: (namespace, entries) => {
      const p = inner.record(namespace, entries);
      pending.push(p);
      return p;
    },
  };
  return { sink, settle: () => Promise.all(pending) };
}

function cluster(): FakeCluster {
  const c = new FakeCluster();
  c.policies.put(policy());
  c.nodes.put(euNode());
  c.nodes.put(usNode());
  c.namespaces.put(namespace('research', ['eu-hds']));
  c.hubs.put(hub());
  return c;
}

describe('the placement controller records', () => {
  it('a Violation, then the Eviction once it was carried out; a restart records nothing new', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const sink = new MemorySink();
    await placementController(c, { history: sink }).reconciler.reconcile('research', running());
    expect(sink.types()).toEqual(['Violation web-1', 'Eviction web-1']);
    const [violation, eviction] = sink.entries.map((e) => e.entry);
    expect(sink.entries.every((e) => e.namespace === 'research')).toBe(true);
    expect(violation).toMatchObject({
      hub: 'h',
      hubUID: c.hubs.get('research/h')!.metadata.uid,
      node: 'us-1',
      reason: Reason.PodsOutsidePolicy,
      message: expect.stringContaining('outside SovereigntyPolicy eu-hds'),
    });
    expect(eviction).toMatchObject({
      reason: Reason.PodEvicted,
      message: expect.stringContaining('evicted pod web-1'),
    });

    // The same controller again, and a new one (a restart): the status already holds the violation.
    await placementController(c, { history: sink }).reconciler.reconcile('research', running());
    expect(sink.types()).toEqual(['Violation web-1', 'Eviction web-1']);

    // The pod goes: resolved.
    c.pods.remove('research/web-1');
    await placementController(c, { history: sink }).reconciler.reconcile('research', running());
    expect(sink.types()).toEqual(['Violation web-1', 'Eviction web-1', 'ViolationResolved web-1']);
  });

  it('never makes a removal wait for its record', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const sink = new MemorySink();
    sink.hang = true;
    await placementController(c, { history: sink }).reconciler.reconcile('research', running());
    expect(c.podRemoval.removed()).toEqual(['research/web-1']);
  });

  it('only the violation for a policy that only reports', async () => {
    const c = cluster();
    c.policies.put(policy('eu-hds', { onViolation: 'Report' }));
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const sink = new MemorySink();
    await placementController(c, { history: sink }).reconciler.reconcile('research', running());
    expect(sink.types()).toEqual(['Violation web-1']);
  });

  it('every violation, however many status lists; none resolved while its pod still runs there', async () => {
    const c = cluster();
    c.policies.put(policy('eu-hds', { onViolation: 'Report' }));
    c.pods.put(pod('z-db-0', 'research', 'us-1'));
    const sink = new MemorySink();
    const { reconciler } = placementController(c, { history: sink });
    await reconciler.reconcile('research', running());
    expect(sink.types()).toEqual(['Violation z-db-0']);
    // Pods named before it fill the list status holds, which no longer names z-db-0.
    for (let i = 0; i < MAX_LISTED_VIOLATIONS; i++) {
      c.pods.put(pod(`a-${String(i).padStart(2, '0')}`, 'research', 'us-1'));
    }
    await reconciler.reconcile('research', running());
    const listed = c.hubs.get('research/h')!.status!.placement!.violations!.map((v) => v.pod);
    expect(listed).toHaveLength(MAX_LISTED_VIOLATIONS);
    expect(listed).not.toContain('z-db-0');
    expect(sink.types().filter((t) => t.startsWith('ViolationResolved'))).toEqual([]);
    expect(sink.types()).toHaveLength(1 + MAX_LISTED_VIOLATIONS);
    // One more, beyond the list: recorded all the same.
    c.pods.put(pod('b-0', 'research', 'us-1'));
    await reconciler.reconcile('research', running());
    expect(sink.types().at(-1)).toBe('Violation b-0');
    // z-db-0 goes: now it is resolved.
    c.pods.remove('research/z-db-0');
    await reconciler.reconcile('research', running());
    expect(sink.types().slice(2 + MAX_LISTED_VIOLATIONS)).toEqual(['ViolationResolved z-db-0']);
  });

  it('the violations of a namespace held by its label alone, namespace-wide; a restart records nothing new', async () => {
    const c = cluster();
    c.hubs.remove('research/h');
    c.policies.put(policy('eu-hds', { onViolation: 'Report' }));
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { history, stored } = recorder();
    const { sink, settle } = awaited(history);
    await placementController(c, { history: sink }).reconciler.reconcile('research', running());
    await settle();
    expect(stored()).toEqual([
      expect.objectContaining({
        type: 'Violation',
        pod: 'web-1',
        node: 'us-1',
        reason: Reason.PodsOutsidePolicy,
        message: expect.stringContaining('SovereigntyPolicy eu-hds'),
      }),
    ]);
    expect(stored()[0]!.hub).toBeUndefined();
    // A new process: nothing it finds is new.
    const restarted = placementController(c, { history: sink }).reconciler;
    await restarted.reconcile('research', running());
    await settle();
    expect(stored()).toHaveLength(1);
    c.pods.remove('research/web-1');
    await restarted.reconcile('research', running());
    await settle();
    expect(stored().map((e) => `${e.type} ${e.pod}`)).toEqual(['Violation web-1', 'ViolationResolved web-1']);
  });

  it('violations beyond the status list once only across a restart', async () => {
    const c = cluster();
    c.policies.put(policy('eu-hds', { onViolation: 'Report' }));
    for (let i = 0; i < MAX_LISTED_VIOLATIONS + 3; i++)
      c.pods.put(pod(`p-${String(i).padStart(2, '0')}`, 'research', 'us-1'));
    const { history, stored } = recorder();
    const { sink, settle } = awaited(history);
    await placementController(c, { history: sink }).reconciler.reconcile('research', running());
    await settle();
    expect(stored()).toHaveLength(MAX_LISTED_VIOLATIONS + 3);
    await placementController(c, { history: sink }).reconciler.reconcile('research', running());
    await settle();
    expect(stored()).toHaveLength(MAX_LISTED_VIOLATIONS + 3);
  });

  it('into the ConfigMap, through the recorder', async () => {
    const c = cluster();
    c.pods.put(pod('web-1', 'research', 'us-1'));
    const { history, stored } = recorder();
    await placementController(c, { history }).reconciler.reconcile('research', running());
    // The reconcile does not wait for its records: one queued behind them settles once they are in.
    const marker = { ...entry(0, 'KeyRotated'), time: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    await history.record('research', [marker]);
    expect(stored().map((e) => e.type)).toEqual(['Violation', 'Eviction', 'KeyRotated']);
  });
});

describe('the keys controller records', () => {
  it('each rotation, with the key reference', async () => {
    const c = cluster();
    c.hubs.put(hub('h', 'research', {}, { finalizers: [FINALIZER] }));
    const sink = new MemorySink();
    const gate = recordingGate((h) =>
      Promise.resolve({
        ...keysReadyResult(h),
        events: [
          { type: 'Normal', reason: Reason.KeyRotated, note: 'added key version 2 and made it active' },
        ],
      }),
    );
    await keysController(c, gate, { history: sink }).reconcile('research/h');
    expect(sink.entries.map((e) => e.entry)).toEqual([
      expect.objectContaining({
        type: 'KeyRotated',
        hub: 'h',
        reason: Reason.KeyRotated,
        message: `added key version 2 and made it active; key-encryption key ${ENCRYPTION.keyRef}`,
      }),
    ]);
    // A reconcile without a rotation records nothing.
    await keysController(c, recordingGate(), { history: sink }).reconcile('research/h');
    expect(sink.entries).toHaveLength(1);
  });
});

describe('the keys controller records a rotation from what survives', () => {
  const rotated = { ...ENCRYPTION, activeVersion: 2, versions: 2 };
  const onRecord = () =>
    hub('h', 'research', {}, { finalizers: [FINALIZER], status: { encryption: ENCRYPTION } });

  it('even when the status write that follows the rotation fails, and only once when it is retried', async () => {
    const c = cluster();
    c.hubs.put(onRecord());
    const { history, stored } = recorder();
    const rotating = recordingGate((h) =>
      Promise.resolve({
        ...keysReadyResult(h),
        encryption: rotated,
        events: [
          { type: 'Normal', reason: Reason.KeyRotated, note: 'added key version 2 and made it active' },
        ],
      }),
    );
    const refusing = {
      applyStatus: () => Promise.reject(Object.assign(new Error('HTTP 500'), { code: 500 })),
    };
    await expect(
      keysController(c, rotating, { history, status: refusing }).reconcile('research/h'),
    ).rejects.toThrow();
    expect(stored()).toEqual([
      expect.objectContaining({ type: 'KeyRotated', keyVersion: 2, kekRef: ENCRYPTION.keyRef, hub: 'h' }),
    ]);
    // The retry finds the keys rotated already (no rotation this time), the status still at 1.
    const settled = recordingGate((h) => Promise.resolve({ ...keysReadyResult(h), encryption: rotated }));
    await keysController(c, settled, { history }).reconcile('research/h');
    expect(stored()).toHaveLength(1);
  });

  it('when the operator stopped between the rotation and its record', async () => {
    const c = cluster();
    c.hubs.put(onRecord());
    const sink = new MemorySink();
    // Version 3 is active, the hub's status says 1: two rotations were never recorded.
    const gate = recordingGate((h) =>
      Promise.resolve({
        ...keysReadyResult(h),
        encryption: { ...ENCRYPTION, activeVersion: 3, versions: 3 },
      }),
    );
    await keysController(c, gate, { history: sink }).reconcile('research/h');
    expect(sink.entries.map((e) => e.entry)).toEqual([
      expect.objectContaining({ type: 'KeyRotated', keyVersion: 2, kekRef: ENCRYPTION.keyRef }),
      expect.objectContaining({ type: 'KeyRotated', keyVersion: 3, kekRef: ENCRYPTION.keyRef }),
    ]);
    expect(sink.entries[0]!.entry.message).toMatch(/version 2/);
    // Now that status says 3, nothing more.
    await keysController(c, gate, { history: sink }).reconcile('research/h');
    expect(sink.entries).toHaveLength(2);
  });

  it('but not a version that came with other keys (adopted or made anew)', async () => {
    const c = cluster();
    c.hubs.put(onRecord());
    const sink = new MemorySink();
    const gate = recordingGate((h) =>
      Promise.resolve({
        ...keysReadyResult(h),
        encryption: { ...rotated, keyRef: 'secret/hdh-system/other' },
      }),
    );
    await keysController(c, gate, { history: sink }).reconcile('research/h');
    expect(sink.entries).toEqual([]);
  });
});

describe("a hub's deletion records", () => {
  const deleting = (): HealthDataHub => ({
    ...hub('h', 'research', {}, { finalizers: [FINALIZER], status: { encryption: ENCRYPTION } }),
  });

  function deletionDeps(sink: HistorySink, events: { reason: string; note: string }[]): DeletionDeps {
    const keys: KeyGate = {
      ensure: () => Promise.reject(new Error('not called')),
      release: () =>
        Promise.resolve({ released: true, events: events.map((e) => ({ type: 'Normal' as const, ...e })) }),
    };
    return {
      writer: { removeFinalizer: () => Promise.resolve(true) },
      writes: { list: () => Promise.resolve([]) },
      events: { record: () => Promise.resolve() },
      metrics: new StorageMetrics(new Registry()),
      keys,
      records: {},
      history: sink,
    } as unknown as DeletionDeps;
  }

  it('the keys kept, with the key and the retained-from UID', async () => {
    const sink = new MemorySink();
    const h = deleting();
    const events = [{ reason: Reason.KeysRetained, note: "the hub's keys are kept" }];
    expect(await finalizeHub(deletionDeps(sink, events), h)).toEqual({ done: true });
    expect(sink.entries.map((e) => e.entry)).toEqual([
      expect.objectContaining({
        type: 'KeysRetained',
        hub: 'h',
        hubUID: h.metadata.uid,
        reason: Reason.KeysRetained,
      }),
    ]);
    const message = sink.entries[0]!.entry.message;
    expect(message).toContain(`${LABEL_RETAINED_FROM}=${h.metadata.uid}`);
    expect(message).toContain(`key-encryption key ${ENCRYPTION.keyRef} (builtin, 1 key version(s))`);
    expect(sink.entries[0]!.entry.kekRef).toBe(ENCRYPTION.keyRef);
  });

  it('the keys crypto-shredded', async () => {
    const sink = new MemorySink();
    const events = [
      { reason: Reason.KeysDestroyed, note: 'crypto-shred confirmed: key-encryption key x destroyed' },
    ];
    await finalizeHub(deletionDeps(sink, events), deleting());
    expect(sink.entries.map((e) => e.entry)).toEqual([
      expect.objectContaining({
        type: 'KeysShredded',
        reason: Reason.KeysDestroyed,
        kekRef: ENCRYPTION.keyRef,
        message: expect.stringContaining('keys crypto-shredded'),
      }),
    ]);
  });

  it('keeps the finalizer while the record of the keys cannot be written, and records once when it can', async () => {
    const sink = new MemorySink();
    sink.fail = true;
    const events = [
      { reason: Reason.KeysDestroyed, note: 'crypto-shred confirmed: key-encryption key x destroyed' },
    ];
    const deps = deletionDeps(sink, events);
    const removed: string[] = [];
    deps.writer.removeFinalizer = (_ref, obj) => {
      removed.push(obj.metadata!.name!);
      return Promise.resolve(true);
    };
    const outcome = await finalizeHub(deps, deleting());
    expect(outcome).toMatchObject({ done: false, message: expect.stringMatching(/not recorded yet/) });
    expect(removed).toEqual([]);
    sink.fail = false;
    expect(await finalizeHub(deps, deleting())).toEqual({ done: true });
    expect(removed).toEqual(['h']);
    expect(sink.types()).toEqual(['KeysShredded']);
  });

  it('nothing when the keys said nothing', async () => {
    const sink = new MemorySink();
    await finalizeHub(deletionDeps(sink, []), deleting());
    expect(sink.entries).toEqual([]);
  });
});
