import type { V1StorageClass } from '@kubernetes/client-node';
import {
  checkStorageClass,
  encryptionAttestation,
  storageClassProblems,
  termsOutside,
} from '../../../src/storage/storage-class.js';
import {
  hub,
  MISLABELLED_PROVIDER_ID,
  NODES,
  NODES_WITH_MISLABELLED,
  policy,
  REGION,
  storageClass,
  ZONE,
} from './fixtures.js';

const check = (sc: V1StorageClass | undefined, p = policy()) =>
  storageClassProblems({ hub: hub(), policy: p, storageClass: sc, nodes: NODES });
const reasons = (sc: V1StorageClass | undefined, p = policy()) => check(sc, p).map((x) => x.reason);

describe('checkStorageClass', () => {
  it('accepts an attested encrypted WaitForFirstConsumer class', () => {
    expect(
      checkStorageClass({ hub: hub(), policy: policy(), storageClass: storageClass(), nodes: NODES }),
    ).toEqual({
      ok: true,
    });
  });

  it('reports a missing class alone, with how to fix it', () => {
    const v = checkStorageClass({ hub: hub(), policy: policy(), storageClass: undefined, nodes: NODES });
    expect(v).toMatchObject({
      ok: false,
      condition: {
        type: 'StorageReady',
        status: 'False',
        reason: 'StorageClassNotFound',
        observedGeneration: 3,
      },
    });
    if (v.ok) return;
    expect(v.problems).toHaveLength(1);
    expect(v.condition.message).toMatch(/StorageClass "encrypted-eu" does not exist: create it/);
    expect(v.condition.message).toMatch(/nothing of the hub is created/);
  });

  it('enforces the allow-list only when it is not empty', () => {
    expect(reasons(storageClass(), policy({ storage: { allowedStorageClasses: ['gold'] } }))).toEqual([
      'StorageClassNotAllowed',
    ]);
    expect(
      reasons(storageClass(), policy({ storage: { allowedStorageClasses: ['gold', 'encrypted-eu'] } })),
    ).toEqual([]);
    expect(reasons(storageClass(), policy({ storage: { allowedStorageClasses: [] } }))).toEqual([]);
    expect(
      check(storageClass(), policy({ storage: { allowedStorageClasses: ['gold'] } }))[0]!.message,
    ).toMatch(/not in SovereigntyPolicy "eu-hds" storage.allowedStorageClasses \[gold\]/);
  });

  it('requires encryption by default and when asked, not when the policy opts out', () => {
    const plain = storageClass({}, {});
    expect(reasons(plain)).toEqual(['StorageNotEncrypted']);
    expect(reasons(plain, policy({ storage: { requireEncryption: true } }))).toEqual(['StorageNotEncrypted']);
    expect(reasons(plain, policy({ storage: { requireEncryption: false } }))).toEqual([]);
    expect(check(plain)[0]!.message).toMatch(/annotate it hdh.sovereign.eu\/encrypted: "true"/);
  });

  it('refuses Immediate binding, including the unset default', () => {
    expect(reasons(storageClass({ volumeBindingMode: 'Immediate' }))).toEqual(['ImmediateBinding']);
    expect(reasons(storageClass({ volumeBindingMode: undefined }))).toEqual(['ImmediateBinding']);
    expect(check(storageClass({ volumeBindingMode: undefined }))[0]!.message).toMatch(/WaitForFirstConsumer/);
  });

  it('reports every failing check, the first one giving the reason', () => {
    const bad = storageClass(
      {
        volumeBindingMode: 'Immediate',
        allowedTopologies: [{ matchLabelExpressions: [{ key: REGION, values: ['us-east-1'] }] }],
      },
      {},
    );
    const v = checkStorageClass({
      hub: hub(),
      policy: policy({ storage: { allowedStorageClasses: ['gold'] } }),
      storageClass: bad,
      nodes: NODES,
    });
    if (v.ok) throw new Error('expected problems');
    expect(v.problems.map((p) => p.reason)).toEqual([
      'StorageClassNotAllowed',
      'StorageNotEncrypted',
      'ImmediateBinding',
      'TopologyOutsideJurisdiction',
    ]);
    expect(v.condition.reason).toBe('StorageClassNotAllowed');
  });
});

describe('encryptionAttestation', () => {
  const sc = (
    provisioner: string,
    parameters?: Record<string, string>,
    annotations: Record<string, string> = {},
  ) => storageClass({ provisioner, ...(parameters ? { parameters } : {}) }, annotations);

  it.each([
    ['ebs.csi.aws.com', { encrypted: 'true' }],
    ['kubernetes.io/aws-ebs', { encrypted: 'true' }],
    ['rbd.csi.ceph.com', { encrypted: 'true', encryptionKMSID: 'vault' }],
    ['rook-ceph.rbd.csi.ceph.com', { encrypted: 'true' }],
    ['driver.longhorn.io', { encrypted: 'true' }],
    [
      'pd.csi.storage.gke.io',
      { 'disk-encryption-kms-key': 'projects/p/locations/europe-west9/keyRings/r/cryptoKeys/k' },
    ],
  ])('recognises %s with %j', (provisioner, parameters) => {
    expect(encryptionAttestation(sc(provisioner, parameters)).encrypted).toBe(true);
  });

  it.each([
    ['ebs.csi.aws.com', { encrypted: 'false' }],
    ['ebs.csi.aws.com', undefined],
    ['pd.csi.storage.gke.io', { 'disk-encryption-kms-key': '' }],
    // A parameter counts only for the driver known to honour it.
    ['nfs.csi.k8s.io', { encrypted: 'true' }],
    ['notrbd.csi.ceph.com', { encrypted: 'true' }],
  ])('does not take %s with %j as encrypted', (provisioner, parameters) => {
    expect(encryptionAttestation(sc(provisioner, parameters)).encrypted).toBe(false);
  });

  it('lets the platform team attest any class, and an explicit non-"true" annotation win over parameters', () => {
    expect(
      encryptionAttestation(sc('nfs.csi.k8s.io', {}, { 'hdh.sovereign.eu/encrypted': 'true' })).encrypted,
    ).toBe(true);
    const denied = encryptionAttestation(
      sc('ebs.csi.aws.com', { encrypted: 'true' }, { 'hdh.sovereign.eu/encrypted': 'false' }),
    );
    expect(denied).toEqual({ encrypted: false, why: 'is annotated hdh.sovereign.eu/encrypted: "false"' });
  });

  it('points at the known parameter of the driver in the message', () => {
    const msg = check(sc('ebs.csi.aws.com', {}))[0]!.message;
    expect(msg).toMatch(/does not set the AWS EBS parameter encrypted: "true"/);
    expect(msg).toMatch(/or create a class with the parameter encrypted: "true"/);
  });
});

describe('allowedTopologies', () => {
  const regions = ['fr-par', 'eu-west-3', 'de-fra'];
  const term = (...e: [string, string[]][]) => ({
    matchLabelExpressions: e.map(([key, values]) => ({ key, values })),
  });

  it('accepts terms bounded by allowed regions, zones or hosts', () => {
    expect(
      termsOutside(
        [
          term([REGION, ['fr-par', 'de-fra']]),
          term([ZONE, ['fr-par-1', 'de-fra-1']]),
          term(['topology.ebs.csi.aws.com/zone', ['fr-par-2']]),
          term(['kubernetes.io/hostname', ['eu-fr-par-2']]),
          // ANDed: the region bounds the term even if the other key says nothing.
          term([REGION, ['fr-par']], ['example.com/rack', ['r1']]),
        ],
        regions,
        NODES,
      ),
    ).toEqual([]);
  });

  it('refuses terms reaching other regions, naming the term', () => {
    expect(termsOutside([term([REGION, ['fr-par']]), term([ZONE, ['us-east-1a']])], regions, NODES)).toEqual([
      `term 2 (${ZONE} In [us-east-1a]) reaches us-east-1`,
    ]);
    expect(termsOutside([term(['kubernetes.io/hostname', ['us-east-1b']])], regions, NODES)).toEqual([
      'term 1 (kubernetes.io/hostname In [us-east-1b]) reaches us-east-1',
    ]);
  });

  it('takes no location from a node whose providerID contradicts its region label', () => {
    expect(
      termsOutside([term(['kubernetes.io/hostname', ['mislabelled']])], regions, NODES_WITH_MISLABELLED),
    ).toEqual([
      `term 1 (kubernetes.io/hostname In [mislabelled]) names node mislabelled, whose labels are not evidence ` +
        `(region label fr-par contradicts spec.providerID ${MISLABELLED_PROVIDER_ID} (region us-east-1))`,
    ]);
    // A zone only that node claims is unknown; the trusted nodes of a zone still locate it.
    const alone = new Map([...NODES_WITH_MISLABELLED].filter(([n]) => !n.startsWith('eu-fr-par')));
    alone.delete('eu-fr-par-uncertified');
    expect(termsOutside([term([ZONE, ['fr-par-1']])], regions, alone)).toEqual([
      `term 1 (${ZONE} In [fr-par-1]) bounds no region`,
    ]);
    expect(termsOutside([term([ZONE, ['fr-par-1']])], regions, NODES_WITH_MISLABELLED)).toEqual([]);
  });

  it('refuses terms that prove nothing: unknown or ambiguous zones, unrelated keys, empty terms', () => {
    const ambiguous = new Map(NODES);
    ambiguous.set('odd', { labels: { [REGION]: 'us-east-1', [ZONE]: 'fr-par-1' } });
    expect(termsOutside([term([ZONE, ['fr-par-1']])], regions, ambiguous)).toEqual([
      `term 1 (${ZONE} In [fr-par-1]) bounds no region`,
    ]);
    expect(termsOutside([term([ZONE, ['mars-1']])], regions, NODES)).toHaveLength(1);
    expect(termsOutside([term(['example.com/rack', ['r1']])], regions, NODES)).toHaveLength(1);
    expect(termsOutside([{}], regions, NODES)).toEqual(['term 1 (empty) bounds no region']);
  });

  it('is a TopologyOutsideJurisdiction problem of the class', () => {
    const sc = storageClass({ allowedTopologies: [term([ZONE, ['us-east-1a']])] });
    const [p] = check(sc);
    expect(p!.reason).toBe('TopologyOutsideJurisdiction');
    expect(p!.message).toMatch(/outside SovereigntyPolicy "eu-hds" regions \[fr-par, eu-west-3, de-fra\]/);
  });
});
