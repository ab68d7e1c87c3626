import {
  effectiveRegions,
  ineligibilityReason,
  isNodeEligible,
  isRestrictedKey,
  regionsOutsidePolicy,
  requirementHolds,
  isRestrictedRegionKey,
  restrictedAnchorKeys,
  selfAssertableKeys,
} from '../../../src/policy/eligibility.js';

const policy = {
  regions: ['fr-par', 'eu-west-3', 'de-fra'],
  nodeSelectorRequirements: [
    { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In' as const, values: ['EU'] },
    { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In' as const, values: ['true'] },
  ],
};
const eu = {
  'topology.kubernetes.io/region': 'fr-par',
  'sovereign.node-restriction.kubernetes.io/jurisdiction': 'EU',
  'sovereign.node-restriction.kubernetes.io/hds': 'true',
};

describe('node eligibility', () => {
  it('requires the region AND every requirement', () => {
    expect(isNodeEligible(eu, policy)).toBe(true);
    expect(isNodeEligible({ ...eu, 'topology.kubernetes.io/region': 'us-east-1' }, policy)).toBe(false);
    const { ['sovereign.node-restriction.kubernetes.io/hds']: _, ...uncertified } = eu;
    expect(ineligibilityReason(uncertified, policy)).toMatch(/hds is missing/);
    const { ['topology.kubernetes.io/region']: __, ...noRegion } = eu;
    expect(ineligibilityReason(noRegion, policy)).toMatch(/no topology.kubernetes.io\/region/);
  });

  it('hub regions narrow, never widen', () => {
    expect(effectiveRegions(policy.regions, ['de-fra'])).toEqual(['de-fra']);
    expect(effectiveRegions(policy.regions, ['us-east-1'])).toEqual([]);
    expect(effectiveRegions(policy.regions, [])).toEqual(policy.regions);
    expect(isNodeEligible(eu, policy, ['de-fra'])).toBe(false);
    expect(regionsOutsidePolicy(policy.regions, ['fr-par', 'us-east-1'])).toEqual(['us-east-1']);
  });

  it.each([
    [{ key: 'a', operator: 'In', values: ['x'] }, { a: 'x' }, true],
    [{ key: 'a', operator: 'In', values: ['x'] }, {}, false],
    [{ key: 'a', operator: 'NotIn', values: ['x'] }, {}, true],
    [{ key: 'a', operator: 'NotIn', values: ['x'] }, { a: 'x' }, false],
    [{ key: 'a', operator: 'Exists' }, { a: '' }, true],
    [{ key: 'a', operator: 'DoesNotExist' }, { a: '' }, false],
    [{ key: 'a', operator: 'Gt', values: ['3'] }, { a: '4' }, true],
    [{ key: 'a', operator: 'Gt', values: ['3'] }, { a: 'x' }, false],
    [{ key: 'a', operator: 'Lt', values: ['3'] }, { a: '2' }, true],
  ] as const)('%j on %j is %s', (req, labels, expected) => {
    expect(requirementHolds(labels, req as never)).toBe(expected);
  });

  it('flags requirement keys a kubelet may set on its own node', () => {
    const pinned = [
      ...policy.nodeSelectorRequirements,
      {
        key: 'sovereign.node-restriction.kubernetes.io/region',
        operator: 'In' as const,
        values: policy.regions,
      },
    ];
    expect(selfAssertableKeys({ ...policy, nodeSelectorRequirements: pinned })).toEqual([]);
    expect(
      selfAssertableKeys({
        regions: policy.regions,
        nodeSelectorRequirements: [
          ...pinned,
          { key: 'example.com/jurisdiction', operator: 'In', values: ['EU'] },
          { key: 'node-restriction.kubernetes.io/x', operator: 'Exists' },
          { key: 'evil-node-restriction.kubernetes.io/y', operator: 'Exists' },
        ],
      }),
    ).toEqual(['example.com/jurisdiction', 'evil-node-restriction.kubernetes.io/y']);
  });

  it('flags the region a kubelet sets itself unless a restricted region label pins spec.regions', () => {
    const regions = ['fr-par'];
    expect(selfAssertableKeys({ regions })).toEqual(['topology.kubernetes.io/region']);
    const restricted = 'sovereign.node-restriction.kubernetes.io/jurisdiction';
    for (const operator of ['NotIn', 'DoesNotExist'] as const) {
      const values = operator === 'NotIn' ? ['US'] : undefined;
      expect(
        selfAssertableKeys({ regions, nodeSelectorRequirements: [{ key: restricted, operator, values }] }),
      ).toEqual(['topology.kubernetes.io/region']);
    }
    for (const [operator, values] of [
      ['In', ['EU']],
      ['Exists', undefined],
      ['Gt', ['3']],
    ] as const) {
      const reqs = [{ key: restricted, operator, values: values ? [...values] : undefined }];
      expect(restrictedAnchorKeys({ nodeSelectorRequirements: reqs })).toEqual([restricted]);
      // An anchor on anything but the region leaves the region self-assertable.
      expect(selfAssertableKeys({ regions, nodeSelectorRequirements: reqs })).toEqual([
        'topology.kubernetes.io/region',
      ]);
    }
    const pin = (key: string, operator: 'In' | 'Exists', values?: string[]) =>
      selfAssertableKeys({ regions, nodeSelectorRequirements: [{ key, operator, values }] });
    expect(pin('sovereign.node-restriction.kubernetes.io/region', 'In', ['fr-par'])).toEqual([]);
    expect(pin('node-restriction.kubernetes.io/region', 'In', ['fr-par'])).toEqual([]);
    // Not pinned: a value outside spec.regions, a mere presence, a key a kubelet may set.
    for (const weak of [
      pin('sovereign.node-restriction.kubernetes.io/region', 'In', ['fr-par', 'de-fra']),
      pin('sovereign.node-restriction.kubernetes.io/region', 'Exists'),
      pin('sovereign.node-restriction.kubernetes.io/regions', 'In', ['fr-par']),
    ]) {
      expect(weak).toEqual(['topology.kubernetes.io/region']);
    }
    expect(pin('example.com/region', 'In', ['fr-par'])).toEqual([
      'topology.kubernetes.io/region',
      'example.com/region',
    ]);
    expect(isRestrictedRegionKey('sovereign.node-restriction.kubernetes.io/region')).toBe(true);
    expect(isRestrictedRegionKey('topology.kubernetes.io/region')).toBe(false);
    // A kubernetes.io key is not a node-restriction one, whatever NodeRestriction does with it.
    expect(isRestrictedKey('node.kubernetes.io/instance-type')).toBe(false);
    expect(isRestrictedKey('a.node-restriction.kubernetes.io/x')).toBe(true);
  });
});
