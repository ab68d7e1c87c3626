import { claimName, claimOrdinal, hubClaims, legacyLabelRemovals } from '../../../src/storage/claims.js';
import {
  destroyConfirmed,
  LABEL_RETAINED_NAMESPACE,
  planAdoption,
  planDeletion,
  readRetainedRecord,
  retainedRecord,
  retainPatch,
  staleRecords,
} from '../../../src/storage/retention.js';
import { claim, hub, UID } from './fixtures.js';

const CONFIRM = 'hdh.sovereign.eu/confirm-destroy';
const RETAINED = 'hdh.sovereign.eu/retained-from';
const OLD = '0b6d2c1e-old0-4a8e-9b55-2c1f0e7d9a10';
const owned = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  name: 'oncology',
  uid: 'sts-uid',
  controller: true,
};
const claims = () => [
  claim('data-oncology-0', { volumeName: 'pv-a', ownerReferences: [owned] }),
  claim('data-oncology-1', { volumeName: 'pv-b' }),
  claim('data-other-0', { volumeName: 'pv-c' }),
  claim('data-oncology-2', {
    volumeName: 'pv-d',
    labels: { 'hdh.sovereign.eu/hub': 'oncology', [RETAINED]: OLD },
  }),
];

describe('claim names', () => {
  it('maps ordinals to data-<hub>-<n> and back, and nothing else', () => {
    expect(claimName('oncology', 3)).toBe('data-oncology-3');
    expect(claimOrdinal('oncology', 'data-oncology-12')).toBe(12);
    for (const other of [
      'data-oncology-',
      'data-oncology-01',
      'data-oncology-x-1',
      'data-onco-1',
      'logs-oncology-1',
    ]) {
      expect(claimOrdinal('oncology', other)).toBeUndefined();
    }
    expect(hubClaims(hub(), claims()).map((c) => c.metadata!.name)).toEqual([
      'data-oncology-0',
      'data-oncology-1',
    ]);
  });
});

describe('legacyLabelRemovals', () => {
  const INSTANCE = 'app.kubernetes.io/instance';
  const labels = (instance?: string) => ({
    'hdh.sovereign.eu/hub': 'oncology',
    ...(instance === undefined ? {} : { [INSTANCE]: instance }),
  });

  it('removes the instance label earlier versions set on the hub’s own claims, test-guarded', () => {
    const found = [
      claim('data-oncology-0', { labels: labels('oncology') }),
      claim('data-oncology-1', { labels: labels() }),
      // Someone else's value: not the operator's to remove.
      claim('data-oncology-2', { labels: labels('my-app') }),
      // Another hub's claim, and one retained from a deleted hub: not this hub's.
      claim('data-other-0', { labels: { [INSTANCE]: 'oncology' } }),
      claim('data-oncology-3', { labels: { ...labels('oncology'), [RETAINED]: OLD } }),
    ];
    expect(legacyLabelRemovals(hub(), found)).toEqual([
      {
        claim: 'data-oncology-0',
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'uid-data-oncology-0' },
          { op: 'test', path: '/metadata/labels/app.kubernetes.io~1instance', value: 'oncology' },
          { op: 'remove', path: '/metadata/labels/app.kubernetes.io~1instance' },
        ],
      },
    ]);
  });
});

describe('planDeletion', () => {
  it('retains by default: owner references removed, retained-from and policy labels added, an Event', () => {
    const plan = planDeletion(hub(), claims());
    expect(plan.destroy).toBe(false);
    expect(plan.actions).toEqual([
      {
        claim: 'data-oncology-0',
        action: 'retain',
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'uid-data-oncology-0' },
          { op: 'test', path: '/metadata/ownerReferences', value: [owned] },
          { op: 'remove', path: '/metadata/ownerReferences' },
          { op: 'add', path: '/metadata/labels/hdh.sovereign.eu~1retained-from', value: UID },
          // The namespace stays held to the hub's policy while the claim remains.
          { op: 'add', path: '/metadata/labels/hdh.sovereign.eu~1policy', value: 'eu-hds' },
        ],
      },
      {
        claim: 'data-oncology-1',
        action: 'retain',
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'uid-data-oncology-1' },
          { op: 'add', path: '/metadata/labels/hdh.sovereign.eu~1retained-from', value: UID },
          { op: 'add', path: '/metadata/labels/hdh.sovereign.eu~1policy', value: 'eu-hds' },
        ],
      },
    ]);
    expect(plan.events).toEqual([
      {
        type: 'Normal',
        reason: 'VolumesRetained',
        note: expect.stringContaining(
          `kept claims data-oncology-0, data-oncology-1 of hub research/oncology, labelled ${RETAINED}=${UID}`,
        ),
      },
    ]);
  });

  it('is idempotent: a claim already retained needs no patch', () => {
    const done = claim('data-oncology-0', {
      labels: { [RETAINED]: UID, 'hdh.sovereign.eu/hub': 'oncology', 'hdh.sovereign.eu/policy': 'eu-hds' },
    });
    expect(retainPatch(done, UID, 'eu-hds')).toBeUndefined();
    expect(planDeletion(hub(), [done]).actions).toEqual([{ claim: 'data-oncology-0', action: 'retain' }]);
    const unlabelled = claim('data-oncology-0', {});
    unlabelled.metadata!.labels = undefined;
    expect(retainPatch(unlabelled, UID)).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'uid-data-oncology-0' },
      { op: 'add', path: '/metadata/labels', value: { [RETAINED]: UID } },
    ]);
    expect(retainPatch(unlabelled, UID, 'eu-hds')).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'uid-data-oncology-0' },
      {
        op: 'add',
        path: '/metadata/labels',
        value: { [RETAINED]: UID, 'hdh.sovereign.eu/policy': 'eu-hds' },
      },
    ]);
  });

  it('deletes with retention Delete confirmed by the hub UID, with UID preconditions', () => {
    const h = hub(
      { storage: { size: '1Gi', storageClassName: 'encrypted-eu', retention: 'Delete' } },
      { annotations: { [CONFIRM]: UID } },
    );
    expect(destroyConfirmed(h)).toBe(true);
    const plan = planDeletion(h, [...claims(), claim('data-oncology-3', { deleting: true })]);
    expect(plan.destroy).toBe(true);
    expect(plan.actions).toEqual([
      { claim: 'data-oncology-0', action: 'delete', uid: 'uid-data-oncology-0' },
      { claim: 'data-oncology-1', action: 'delete', uid: 'uid-data-oncology-1' },
    ]);
    expect(plan.events).toEqual([
      expect.objectContaining({
        type: 'Normal',
        reason: 'VolumesDeleted',
        note: expect.stringContaining('data-oncology-3'),
      }),
    ]);
  });

  it.each([
    ['missing', undefined, /annotation hdh.sovereign.eu\/confirm-destroy is missing/],
    ['wrong', 'a-previous-uid', /is "a-previous-uid", not this hub's metadata.uid/],
    ['empty', '', /is "", not this hub's/],
  ])('retains with retention Delete and a %s confirmation, with a Warning', (_what, value, why) => {
    const h = hub(
      { storage: { size: '1Gi', storageClassName: 'encrypted-eu', retention: 'Delete' } },
      value === undefined ? {} : { annotations: { [CONFIRM]: value } },
    );
    const plan = planDeletion(h, claims());
    expect(plan.destroy).toBe(false);
    expect(plan.actions.every((a) => a.action === 'retain')).toBe(true);
    expect(plan.events[0]).toMatchObject({
      type: 'Warning',
      reason: 'DeletionNotConfirmed',
      note: expect.stringMatching(why),
    });
    expect(plan.events[1]).toMatchObject({ reason: 'VolumesRetained' });
  });

  it('never destroys on a confirmation alone, nor for a hub without UID', () => {
    const retain = hub({}, { annotations: { [CONFIRM]: UID } });
    expect(planDeletion(retain, claims()).destroy).toBe(false);
    const noUid = hub(
      { storage: { size: '1Gi', storageClassName: 'e', retention: 'Delete' } },
      { uid: undefined, annotations: { [CONFIRM]: '' } },
    );
    expect(destroyConfirmed(noUid)).toBe(false);
  });

  it('gives no Event when the hub has no claims', () => {
    expect(planDeletion(hub(), [])).toEqual({ destroy: false, actions: [], events: [] });
  });
});

describe('planAdoption', () => {
  const NEW = 'new-hub-uid';
  const newHub = () => hub({}, { uid: NEW });

  it('adopts claims retained from a deleted hub of the same name', () => {
    const retained = claim('data-oncology-0', {
      labels: {
        'app.kubernetes.io/managed-by': 'hdh-operator',
        'hdh.sovereign.eu/hub': 'oncology',
        [RETAINED]: OLD,
      },
    });
    const plan = planAdoption(newHub(), [retained, claim('data-oncology-1')]);
    expect(plan.conflicts).toEqual([]);
    expect(plan.adopt).toEqual([
      {
        claim: 'data-oncology-0',
        from: OLD,
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'uid-data-oncology-0' },
          { op: 'test', path: '/metadata/labels/hdh.sovereign.eu~1retained-from', value: OLD },
          { op: 'remove', path: '/metadata/labels/hdh.sovereign.eu~1retained-from' },
          { op: 'add', path: '/metadata/annotations', value: { 'hdh.sovereign.eu/adopted-from': OLD } },
        ],
      },
    ]);
    expect(plan.event).toMatchObject({ type: 'Normal', reason: 'ClaimsAdopted' });
    const annotated = claim('data-oncology-0', {
      labels: { 'hdh.sovereign.eu/hub': 'oncology', [RETAINED]: OLD },
      annotations: { a: 'b' },
    });
    expect(planAdoption(newHub(), [annotated]).adopt[0]!.patch[3]).toEqual({
      op: 'add',
      path: '/metadata/annotations/hdh.sovereign.eu~1adopted-from',
      value: OLD,
    });
  });

  it('refuses claims on another class, labelled for another hub, or being deleted', () => {
    const labels = { 'hdh.sovereign.eu/hub': 'oncology', [RETAINED]: OLD };
    const plan = planAdoption(newHub(), [
      claim('data-oncology-0', { labels, storageClassName: 'plain' }),
      claim('data-oncology-1', { labels: { [RETAINED]: OLD } }),
      claim('data-oncology-2', { labels, deleting: true }),
      claim('data-other-0', { labels }),
    ]);
    expect(plan.adopt).toEqual([]);
    expect(plan.event).toBeUndefined();
    expect(plan.conflicts.map((c) => c.claim)).toEqual([
      'data-oncology-0',
      'data-oncology-1',
      'data-oncology-2',
    ]);
    expect(plan.conflicts[0]!.reason).toMatch(/on StorageClass "plain", not "encrypted-eu"/);
  });

  it('leaves claims of the same hub alone (retained from itself or never retained)', () => {
    const plan = planAdoption(hub(), claims().slice(0, 2));
    expect(plan).toEqual({ adopt: [], conflicts: [] });
    expect(planAdoption(hub(), [claim('data-oncology-0', { labels: { [RETAINED]: UID } })]).adopt).toEqual(
      [],
    );
  });
});

describe('retained-claim records', () => {
  const retainedClaim = () => claim('data-oncology-0', { labels: { [RETAINED]: UID } });

  it('record the claim, its hub and the hub policy in the operator namespace, and read back', () => {
    const c = retainedClaim();
    const cm = retainedRecord(hub(), c, 'hdh-system');
    expect(cm.metadata).toMatchObject({
      name: `retained-claim-${c.metadata!.uid}`,
      namespace: 'hdh-system',
      labels: { [LABEL_RETAINED_NAMESPACE]: hub().metadata.namespace, [RETAINED]: UID },
    });
    expect(readRetainedRecord(cm)).toMatchObject({
      namespace: hub().metadata.namespace,
      claim: 'data-oncology-0',
      claimUid: c.metadata!.uid,
      hub: 'oncology',
      hubUid: UID,
      policy: hub().spec.policyName,
    });
    expect(readRetainedRecord({ ...cm, data: { ...cm.data, policy: '' } })).toBeUndefined();
  });

  it('go stale when the claim is gone or a later hub of the same name adopted it, not when a tenant unmarks it', () => {
    const c = retainedClaim();
    const r = readRetainedRecord(retainedRecord(hub(), c, 'hdh-system'))!;
    expect(staleRecords([r], [c], [])).toEqual([]);
    expect(staleRecords([r], [], [])).toEqual([r]);
    const unmarked = claim('data-oncology-0', { labels: {} });
    unmarked.metadata!.uid = c.metadata!.uid;
    // The tenant strips retained-from: no hub adopted it, the record stays.
    expect(staleRecords([r], [unmarked], [])).toEqual([]);
    // The hub being deleted (same UID) is no adopter either.
    expect(staleRecords([r], [unmarked], [hub()])).toEqual([]);
    const successor = hub();
    successor.metadata.uid = 'successor-uid';
    expect(staleRecords([r], [unmarked], [successor])).toEqual([r]);
    expect(staleRecords([r], [c], [successor])).toEqual([]);
    // A successor naming another policy (a laxer one, or none that exists) takes nothing over:
    // the tenant who unmarks the claim and creates it does not release the namespace.
    for (const policyName of ['lab-global', 'no-such-policy']) {
      const elsewhere = hub();
      elsewhere.metadata.uid = 'successor-uid';
      elsewhere.spec.policyName = policyName;
      expect(staleRecords([r], [unmarked], [elsewhere])).toEqual([]);
    }
  });
});
