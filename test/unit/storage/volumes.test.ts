import type { V1PersistentVolume } from '@kubernetes/client-node';
import { auditVolumes, planGrowth, volumeLocation } from '../../../src/storage/volumes.js';
import {
  claim,
  hub,
  localVolume,
  MISLABELLED_PROVIDER_ID,
  NODES,
  NODES_WITH_MISLABELLED,
  policy,
  REGION,
  storageClass,
  UID,
  volumes,
  ZONE,
} from './fixtures.js';

const withAffinity = (name: string, ...terms: [string, string, string[]][][]): V1PersistentVolume => ({
  metadata: { name },
  spec: {
    nodeAffinity: {
      required: {
        nodeSelectorTerms: terms.map((t) => ({
          matchExpressions: t.map(([key, operator, values]) => ({ key, operator, values })),
        })),
      },
    },
  },
});

describe('volumeLocation', () => {
  it('reads a local volume pinned to a node from the node labels', () => {
    expect(volumeLocation(localVolume('pv', 'eu-de-fra-1'), NODES)).toEqual({
      regions: ['de-fra'],
      zones: ['de-fra-1'],
    });
  });

  it('reads region and zone expressions, ANDed within a term and ORed across terms', () => {
    expect(volumeLocation(withAffinity('pv', [[ZONE, 'In', ['fr-par-1', 'fr-par-2']]]), NODES)).toEqual({
      regions: ['fr-par'],
      zones: ['fr-par-1', 'fr-par-2'],
    });
    expect(
      volumeLocation(withAffinity('pv', [[REGION, 'In', ['fr-par']]], [[ZONE, 'In', ['us-east-1a']]]), NODES),
    ).toEqual({ regions: ['fr-par', 'us-east-1'], zones: ['us-east-1a'] });
    expect(
      volumeLocation(
        withAffinity('pv', [
          [REGION, 'In', ['fr-par', 'de-fra']],
          [ZONE, 'In', ['fr-par-1']],
        ]),
        NODES,
      ),
    ).toEqual({ regions: ['fr-par'], zones: ['fr-par-1'] });
  });

  it('leaves the region unknown when any term bounds nothing', () => {
    expect(
      volumeLocation(
        withAffinity('pv', [[REGION, 'In', ['fr-par']]], [[REGION, 'NotIn', ['us-east-1']]]),
        NODES,
      ).regions,
    ).toBeUndefined();
    expect(volumeLocation(localVolume('pv', 'gone-node'), NODES).regions).toBeUndefined();
    expect(
      volumeLocation({ metadata: { name: 'nfs' }, spec: { nfs: { server: 's', path: '/' } } }, NODES),
    ).toEqual({});
  });

  it('reads topology labels, multi-zone values included, and keeps both sources', () => {
    const labelled: V1PersistentVolume = {
      metadata: { name: 'pv', labels: { [REGION]: 'de-fra', [ZONE]: 'de-fra-1__de-fra-2' } },
      spec: {},
    };
    expect(volumeLocation(labelled, NODES)).toEqual({ regions: ['de-fra'], zones: ['de-fra-1', 'de-fra-2'] });
    const both = {
      ...localVolume('pv', 'eu-fr-par-1'),
      metadata: { name: 'pv', labels: { [REGION]: 'us-east-1' } },
    };
    expect(volumeLocation(both, NODES).regions).toEqual(['fr-par', 'us-east-1']);
  });
});

describe('auditVolumes', () => {
  const audit = (
    h = hub({ datastore: { replicas: 2 } }),
    claims = [
      claim('data-oncology-0', { volumeName: 'pv-a' }),
      claim('data-oncology-1', { volumeName: 'pv-b', capacity: '25Gi' }),
    ],
    pvs = volumes(localVolume('pv-a', 'eu-fr-par-1'), localVolume('pv-b', 'eu-de-fra-1')),
  ) => auditVolumes({ hub: h, policy: policy().spec, claims, volumes: pvs, nodes: NODES });

  it('lists the claims with their volume, region, zone and capacity', () => {
    const a = audit();
    expect(a.claims).toEqual([
      { name: 'data-oncology-0', volumeName: 'pv-a', region: 'fr-par', zone: 'fr-par-1', capacity: '20Gi' },
      { name: 'data-oncology-1', volumeName: 'pv-b', region: 'de-fra', zone: 'de-fra-1', capacity: '25Gi' },
    ]);
    expect(a).toMatchObject({ violations: [], pending: [], unobserved: [], missing: 0, foreignClass: [] });
  });

  it('reports volumes outside the hub regions, narrowed by spec.placement.regions', () => {
    const narrowed = audit(hub({ datastore: { replicas: 2 }, placement: { regions: ['fr-par'] } }));
    expect(narrowed.violations).toEqual([
      {
        claim: 'data-oncology-1',
        volumeName: 'pv-b',
        reason: 'it lies in de-fra (zone de-fra-1), outside [fr-par]',
      },
    ]);
    const us = audit(
      undefined,
      undefined,
      volumes(localVolume('pv-a', 'us-east-1a'), localVolume('pv-b', 'eu-de-fra-1')),
    );
    expect(us.violations.map((v) => v.claim)).toEqual(['data-oncology-0']);
    expect(us.claims[0]).toMatchObject({ region: 'us-east-1', zone: 'us-east-1a' });
  });

  it('reports a volume on a node whose providerID contradicts its region label, as the pod audit does', () => {
    const a = auditVolumes({
      hub: hub(),
      policy: policy().spec,
      claims: [claim('data-oncology-0', { volumeName: 'pv-a' })],
      volumes: volumes(localVolume('pv-a', 'mislabelled')),
      nodes: NODES_WITH_MISLABELLED,
    });
    expect(a.violations).toEqual([
      {
        claim: 'data-oncology-0',
        volumeName: 'pv-a',
        reason:
          `it lies on node mislabelled, whose labels are not evidence (region label fr-par contradicts ` +
          `spec.providerID ${MISLABELLED_PROVIDER_ID} (region us-east-1))`,
      },
    ]);
    // Its labels locate nothing: no region or zone is reported for the claim.
    expect(a.claims).toEqual([{ name: 'data-oncology-0', volumeName: 'pv-a', capacity: '20Gi' }]);
    // The same node without the contradicting providerID would be believed.
    const believed = auditVolumes({
      hub: hub(),
      policy: policy().spec,
      claims: [claim('data-oncology-0', { volumeName: 'pv-a' })],
      volumes: volumes(localVolume('pv-a', 'eu-fr-par-1')),
      nodes: NODES_WITH_MISLABELLED,
    });
    expect(believed.violations).toEqual([]);
  });

  it('reports a volume whose region nothing proves', () => {
    const a = audit(
      undefined,
      undefined,
      volumes(localVolume('pv-a', 'eu-fr-par-1'), { metadata: { name: 'pv-b' }, spec: {} }),
    );
    expect(a.violations).toEqual([
      expect.objectContaining({
        claim: 'data-oncology-1',
        reason: expect.stringMatching(/nothing proves its region/),
      }),
    ]);
  });

  it('counts pending, missing and unobserved claims of current replicas only', () => {
    const a = audit(hub({ datastore: { replicas: 3 } }), [
      claim('data-oncology-0', { volumeName: 'pv-a' }),
      claim('data-oncology-1'),
      claim('data-oncology-4'),
      claim('data-oncology-5', { volumeName: 'pv-z' }),
    ]);
    expect(a.pending).toEqual(['data-oncology-1']);
    expect(a.missing).toBe(1);
    expect(a.unobserved).toEqual(['data-oncology-5']);
    expect(a.claims.map((c) => c.name)).toEqual([
      'data-oncology-0',
      'data-oncology-1',
      'data-oncology-4',
      'data-oncology-5',
    ]);
  });

  it('ignores claims of other hubs and namespaces, and claims retained from another hub', () => {
    const a = audit(hub({ datastore: { replicas: 1 } }), [
      claim('data-oncology-0', { volumeName: 'pv-a' }),
      claim('data-oncology-x-0', { volumeName: 'pv-b' }),
      claim('data-oncology-1', { volumeName: 'pv-b', namespace: 'other' }),
      claim('data-oncology-2', {
        volumeName: 'pv-b',
        labels: { 'hdh.sovereign.eu/retained-from': 'old-uid' },
      }),
      claim('data-oncology-3', { volumeName: 'pv-a', labels: { 'hdh.sovereign.eu/retained-from': UID } }),
      claim('data-oncology-01', { volumeName: 'pv-b' }),
    ]);
    expect(a.claims.map((c) => c.name)).toEqual(['data-oncology-0', 'data-oncology-3']);
  });

  it('reports claims on another class than the hub', () => {
    const a = audit(hub({ datastore: { replicas: 1 } }), [
      claim('data-oncology-0', { volumeName: 'pv-a', storageClassName: 'plain' }),
    ]);
    expect(a.foreignClass).toEqual([{ claim: 'data-oncology-0', storageClassName: 'plain' }]);
  });
});

describe('planGrowth', () => {
  const claims = [
    claim('data-oncology-0', { volumeName: 'pv-a', size: '20Gi' }),
    claim('data-oncology-1', { volumeName: 'pv-b', size: '20480Mi' }),
    claim('data-oncology-2', { volumeName: 'pv-c', size: '40Gi' }),
  ];

  it('raises every smaller claim with a guarded patch, never lowers one', () => {
    const plan = planGrowth(
      hub({ storage: { size: '30Gi', storageClassName: 'encrypted-eu' } }),
      claims,
      storageClass(),
    );
    expect(plan.blocked).toEqual([]);
    expect(plan.grow.map((g) => [g.claim, g.from, g.to])).toEqual([
      ['data-oncology-0', '20Gi', '30Gi'],
      ['data-oncology-1', '20480Mi', '30Gi'],
    ]);
    expect(plan.grow[1]!.patch).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'uid-data-oncology-1' },
      { op: 'test', path: '/spec/resources/requests/storage', value: '20480Mi' },
      { op: 'replace', path: '/spec/resources/requests/storage', value: '30Gi' },
    ]);
  });

  it('does nothing when the sizes are equal as quantities', () => {
    expect(
      planGrowth(
        hub({ storage: { size: '20Gi', storageClassName: 'encrypted-eu' } }),
        claims.slice(0, 2),
        storageClass(),
      ),
    ).toEqual({
      grow: [],
      blocked: [],
    });
  });

  it('blocks growth on a class without allowVolumeExpansion', () => {
    const plan = planGrowth(
      hub({ storage: { size: '30Gi', storageClassName: 'encrypted-eu' } }),
      claims,
      storageClass({ allowVolumeExpansion: false }),
    );
    expect(plan.grow).toEqual([]);
    expect(plan.blocked).toEqual([
      { claim: 'data-oncology-0', from: '20Gi' },
      { claim: 'data-oncology-1', from: '20480Mi' },
    ]);
  });
});
