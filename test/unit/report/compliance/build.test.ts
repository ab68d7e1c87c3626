import {
  buildComplianceReport,
  renderJson,
  type ComplianceReport,
  type ReportHub,
} from '../../../../src/report/compliance/index.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nextRotation } from '../../../../src/report/compliance/keys.js';
import { cluster, entry, hub, NON_EXTRACTABLE_PKCS11, shuffled } from './fixtures.js';

const hubOf = (r: ComplianceReport, ns: string): ReportHub => r.hubs.find((h) => h.namespace === ns)!;
const findingsOf = (r: ComplianceReport, ns: string) =>
  r.findings.filter((f) => f.namespace === ns).map((f) => [f.severity, f.check, f.subject]);

describe('buildComplianceReport', () => {
  const report = buildComplianceReport(cluster());

  it('says when, which cluster, which operator and generator', () => {
    expect(report).toMatchObject({
      schemaVersion: 'hdh.sovereign.eu/compliance-report/v1',
      generatedAt: '2025-03-10T12:00:00Z',
      cluster: { uid: 'kube-system-uid' },
      operator: { version: '0.1.0', source: 'Deployment hdh-system/hdh-operator image' },
      generator: { version: '0.1.0' },
      scope: {},
    });
  });

  it('lists each policy with its spec and the SHA-256 of its canonical JSON', () => {
    expect(report.policies).toHaveLength(1);
    const [p] = report.policies;
    expect(p).toMatchObject({ name: 'eu-hds', generation: 3, spec: { regions: ['fr-par', 'de-fra'] } });
    expect(p!.specSha256).toMatch(/^[0-9a-f]{64}$/);
    // The digest does not depend on the order the spec's keys were written in.
    const reordered = cluster();
    const spec = reordered.policies[0]!.spec;
    reordered.policies = [
      {
        ...reordered.policies[0]!,
        spec: { nodeSelectorRequirements: spec.nodeSelectorRequirements, regions: spec.regions },
      },
    ];
    expect(buildComplianceReport(reordered).policies[0]!.specSha256).toBe(p!.specSha256);
  });

  it('a compliant hub: every pod and volume passes, custody non-extractable, rotation dates', () => {
    const h = hubOf(report, 'team-a');
    expect(h.compliant).toBe(true);
    expect(h.conditions.map((c) => [c.type, c.status])).toEqual([
      ['PlacementCompliant', 'True'],
      ['Ready', 'True'],
    ]);
    // Every running pod of the namespace, not the pending or finished ones.
    expect(h.pods.map((p) => [p.name, p.node, p.region, p.zone, p.verdict])).toEqual([
      ['records-0', 'eu-fr-par-1', 'fr-par', 'fr-par-1', 'pass'],
      ['web', 'eu-de-fra-1', 'de-fra', 'de-fra-1', 'pass'],
    ]);
    expect(h.pods[0]).toMatchObject({
      policyLabels: {
        'sovereign.node-restriction.kubernetes.io/hds': 'true',
        'sovereign.node-restriction.kubernetes.io/jurisdiction': 'EU',
      },
      providerID: 'kwok://fr-par/eu-fr-par-1',
      reason: 'node eu-fr-par-1 satisfies SovereigntyPolicy eu-hds',
    });
    expect(h.volumes).toEqual([
      {
        claim: 'data-records-0',
        volume: 'pv-data-records-0',
        phase: 'Bound',
        storageClass: 'encrypted',
        capacity: '1Gi',
        encryption: {
          attested: true,
          why: 'StorageClass "encrypted" is annotated hdh.sovereign.eu/encrypted: "true"',
        },
        regions: ['fr-par'],
        zones: ['fr-par-1'],
        verdict: 'pass',
        reasons: [expect.stringContaining('it lies in fr-par')],
      },
    ]);
    expect(h.keys).toMatchObject({
      provider: 'pkcs11',
      activeVersion: 2,
      versions: 2,
      lastRotationTime: '2025-02-01T00:00:00Z',
      rotationInterval: '720h',
      nextRotationTime: '2025-03-03T00:00:00Z',
      custody: { verdict: 'NonExtractable', weakest: false },
    });
    expect(h.keys.custody.attributes.map((a) => a.name)).toEqual([
      'CKA_ALWAYS_SENSITIVE',
      'CKA_EXTRACTABLE',
      'CKA_NEVER_EXTRACTABLE',
      'CKA_SENSITIVE',
    ]);
    expect(findingsOf(report, 'team-a')).toEqual([]);
  });

  it('a pod on a node outside the policy fails, with the audit reason', () => {
    const h = hubOf(report, 'team-b');
    expect(h.compliant).toBe(false);
    expect(h.pods.map((p) => [p.name, p.verdict])).toEqual([
      ['miner', 'fail'],
      ['stray-0', 'pass'],
    ]);
    expect(h.pods[0]!.reason).toBe('region us-east-1 is not one of [fr-par, de-fra]');
    expect(h.pods[0]!.policyLabels).toEqual({
      'sovereign.node-restriction.kubernetes.io/jurisdiction': 'US',
    });
    expect(findingsOf(report, 'team-b')).toEqual([
      ['failure', 'condition', 'PlacementCompliant'],
      ['failure', 'condition', 'Ready'],
      ['failure', 'pod-placement', 'miner'],
    ]);
  });

  it('a volume outside the hub regions fails though its pods pass', () => {
    const h = hubOf(report, 'team-c');
    expect(h.compliant).toBe(false);
    expect(h.pods.map((p) => p.verdict)).toEqual(['pass']);
    expect(h.volumes[0]).toMatchObject({ regions: ['de-fra'], zones: ['de-fra-1'], verdict: 'fail' });
    expect(h.volumes[0]!.reasons).toEqual(['it lies in de-fra (zone de-fra-1), outside [fr-par]']);
    expect(findingsOf(report, 'team-c')).toEqual([['failure', 'volume-location', 'data-paris-0']]);
  });

  it('a class not attested encrypted fails when the policy requires encryption, and not otherwise', () => {
    const h = hubOf(report, 'team-d');
    expect(h.volumes[0]).toMatchObject({
      storageClass: 'plain',
      encryption: {
        attested: false,
        why: 'StorageClass "plain" has no hdh.sovereign.eu/encrypted annotation',
      },
      verdict: 'fail',
    });
    expect(findingsOf(report, 'team-d')).toEqual([['failure', 'volume-encryption', 'data-plain-0']]);
    const lax = cluster();
    lax.policies = [
      { ...lax.policies[0]!, spec: { ...lax.policies[0]!.spec, storage: { requireEncryption: false } } },
    ];
    const r = buildComplianceReport(lax, { namespaces: ['team-d'] });
    expect(r.hubs[0]!.volumes[0]!.verdict).toBe('pass');
    expect(r.hubs[0]!.compliant).toBe(true);
  });

  it('an extractable key fails, naming the attribute', () => {
    const h = hubOf(report, 'team-e');
    expect(h.compliant).toBe(false);
    expect(h.keys.custody.verdict).toBe('Extractable');
    expect(h.keys.custody.message).toContain('CKA_EXTRACTABLE is true, false needed');
    expect(findingsOf(report, 'team-e')).toEqual([['failure', 'key-custody', 'pkcs11:leaky']]);
  });

  it('a record that claims NonExtractable against its own attributes is not believed', () => {
    const s = cluster();
    const lying = {
      ...NON_EXTRACTABLE_PKCS11,
      attributes: [{ name: 'CKA_EXTRACTABLE', expected: 'true', observed: 'true' }],
    };
    s.hubs = [hub('liar', 'team-a', { encryption: { provider: 'pkcs11', custody: lying } })];
    const custody = buildComplianceReport(s).hubs[0]!.keys.custody;
    expect(custody.verdict).toBe('Extractable');
    expect(custody.message).toContain('the operator recorded NonExtractable');
    const partial = { ...NON_EXTRACTABLE_PKCS11, attributes: NON_EXTRACTABLE_PKCS11.attributes.slice(0, 2) };
    s.hubs = [hub('partial', 'team-a', { encryption: { provider: 'pkcs11', custody: partial } })];
    expect(buildComplianceReport(s).hubs[0]!.keys.custody.verdict).toBe('NotVerified');
  });

  it('builtin keys are marked the weakest custody, with why: a warning, not a failure', () => {
    const h = hubOf(report, 'team-f');
    expect(h.keys.provider).toBe('builtin');
    expect(h.keys.custody).toMatchObject({ verdict: 'SecretInCluster', weakest: true, attributes: [] });
    expect(h.keys.custody.weakestWhy).toContain("Kubernetes Secret in the operator's namespace");
    expect(h.compliant).toBe(true);
    expect(findingsOf(report, 'team-f')).toEqual([['warning', 'key-custody', 'hdh-system/simple-kek']]);
  });

  it('keys whose custody was not read yet are not yet verified', () => {
    const h = hubOf(report, 'team-g');
    expect(h.keys.custody).toMatchObject({ verdict: 'NotVerified', weakest: false });
    expect(h.keys.custody.message).toMatch(/^not yet verified/);
    expect(h.keys.nextRotationTime).toBeUndefined();
    expect(findingsOf(report, 'team-g')).toEqual([['warning', 'key-custody', 'transit/keys/hdh-fresh']]);
  });

  it('summarises hubs compliant and not, overall and per policy, and counts the findings', () => {
    expect(report.summary).toEqual({
      hubs: 7,
      compliant: 3,
      notCompliant: 4,
      failures: 6,
      warnings: 2,
      byPolicy: [{ policy: 'eu-hds', hubs: 7, compliant: 3, notCompliant: 4 }],
    });
    expect(report.hubs.map((h) => `${h.namespace}/${h.name}`)).toEqual([
      'team-a/records',
      'team-b/stray',
      'team-c/paris',
      'team-d/plain',
      'team-e/leaky',
      'team-f/simple',
      'team-g/fresh',
    ]);
  });

  it('a hub whose policy does not exist is not compliant and nothing is judged against nothing', () => {
    const s = cluster();
    s.hubs = [hub('records', 'team-a', { policyName: 'missing' })];
    const r = buildComplianceReport(s);
    const h = r.hubs[0]!;
    expect(h.compliant).toBe(false);
    expect(h.pods.map((p) => p.verdict)).toEqual(['unknown', 'unknown']);
    expect(h.volumes.map((v) => v.verdict)).toEqual(['unknown']);
    expect(r.findings.map((f) => [f.severity, f.check, f.subject])).toEqual([
      ['failure', 'policy', 'missing'],
    ]);
    expect(r.summary.byPolicy).toEqual([{ policy: 'missing', hubs: 1, compliant: 0, notCompliant: 1 }]);
  });

  it('history: the hub keeps its own entries, in time order, limited by since', () => {
    const all = hubOf(report, 'team-b').history;
    expect(all.map((e) => [e.time, e.type])).toEqual([
      ['2025-03-01T09:00:00Z', 'Violation'],
      ['2025-03-05T09:00:00Z', 'Eviction'],
      ['2025-03-06T09:00:00Z', 'Violation'],
    ]);
    const r = buildComplianceReport(cluster(), { since: '2025-03-04T00:00:00Z' });
    expect(r.scope).toEqual({ since: '2025-03-04T00:00:00Z' });
    expect(hubOf(r, 'team-b').history.map((e) => e.type)).toEqual(['Eviction', 'Violation']);
    expect(hubOf(r, 'team-b').history[0]).toMatchObject({ pod: 'miner-x', node: 'us-east-1a' });
    // Entries of hubs that are gone are the namespace's.
    expect(r.namespaceHistory.map((e) => [e.namespace, e.type, e.hub])).toEqual([
      ['team-b', 'KeysShredded', 'gone'],
    ]);
    expect(() => buildComplianceReport(cluster(), { since: 'last week' })).toThrow(/not an RFC 3339 time/);
  });

  it('an entry of an earlier hub of the same name is not the current hub history', () => {
    const s = cluster();
    s.histories = [
      {
        namespace: 'team-a',
        entries: [
          {
            time: '2025-03-01T00:00:00Z',
            type: 'Violation',
            hub: 'records',
            hubUID: 'uid-old',
            reason: 'x',
            message: 'm',
          },
        ],
      },
    ];
    const r = buildComplianceReport(s);
    expect(hubOf(r, 'team-a').history).toEqual([]);
    expect(r.namespaceHistory.map((e) => e.hubUID)).toEqual(['uid-old']);
  });

  it('retained keys are those not shredded since, whatever the period; shredded keys within it', () => {
    expect(report.retainedKeys.map((k) => [k.hub, k.uid, k.time])).toEqual([
      ['gone', 'uid-gone-1', '2025-03-02T00:00:00Z'],
    ]);
    expect(report.shreddedKeys.map((k) => k.uid)).toEqual(['uid-ancient', 'uid-gone-2']);
    const r = buildComplianceReport(cluster(), { since: '2025-03-04T00:00:00Z' });
    expect(r.retainedKeys.map((k) => k.uid)).toEqual(['uid-gone-1']);
    expect(r.shreddedKeys.map((k) => k.uid)).toEqual(['uid-gone-2']);
  });

  it('retained keys a recreated hub of the same name adopted say so', () => {
    const [before, now] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const s = cluster();
    const records = hub('records', 'team-a');
    records.metadata.uid = now;
    records.status!.encryption!.keyRef = `pkcs11:token=hdh;object=hdh.team-a.records.${before};type=secret-key`;
    s.hubs = [records];
    s.histories = [
      {
        namespace: 'team-a',
        entries: [
          entry({ time: '2025-03-01T00:00:00Z', type: 'KeysRetained', hub: 'records', hubUID: before }),
        ],
      },
    ];
    expect(buildComplianceReport(s).retainedKeys).toEqual([
      expect.objectContaining({ hub: 'records', uid: before, adoptedBy: now }),
    ]);
    records.status!.encryption!.keyRef = `pkcs11:token=hdh;object=hdh.team-a.records.${now};type=secret-key`;
    expect(buildComplianceReport(s).retainedKeys[0]!.adoptedBy).toBeUndefined();
  });

  it('keys adopted by a later hub and crypto-shredded with it are no longer retained: matched by KEK', () => {
    const [a, b] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const kek = `pkcs11:token=hdh;object=hdh.team-a.records.${a};type=secret-key`;
    const s = cluster();
    s.hubs = [];
    s.histories = [
      {
        namespace: 'team-a',
        entries: [
          entry({
            time: '2025-03-01T00:00:00Z',
            type: 'KeysRetained',
            hub: 'records',
            hubUID: a,
            kekRef: kek,
          }),
          // Hub b adopted a's keys, then was deleted with a confirmed crypto-shred: a's KEK is gone.
          entry({
            time: '2025-03-02T00:00:00Z',
            type: 'KeysShredded',
            hub: 'records',
            hubUID: b,
            kekRef: kek,
          }),
        ],
      },
    ];
    const r = buildComplianceReport(s);
    expect(r.retainedKeys).toEqual([]);
    expect(r.shreddedKeys).toEqual([expect.objectContaining({ uid: b, kekRef: kek })]);
    // A shred of another KEK leaves them retained.
    s.histories[0]!.entries[1]!.kekRef = 'pkcs11:token=hdh;object=other;type=secret-key';
    expect(buildComplianceReport(s).retainedKeys).toEqual([expect.objectContaining({ uid: a, kekRef: kek })]);
  });

  it('a retention recorded before key references were recorded is ended by a shred of its KEK', () => {
    const [a, b] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const s = cluster();
    s.hubs = [];
    s.histories = [
      {
        namespace: 'team-a',
        entries: [
          entry({ time: '2025-03-01T00:00:00Z', type: 'KeysRetained', hub: 'records', hubUID: a }),
          entry({
            time: '2025-03-02T00:00:00Z',
            type: 'KeysShredded',
            hub: 'records',
            hubUID: b,
            kekRef: `pkcs11:token=hdh;object=hdh.team-a.records.${a};type=secret-key`,
          }),
        ],
      },
    ];
    expect(buildComplianceReport(s).retainedKeys).toEqual([]);
  });

  it('retained keys are adopted by the hub whose key reference is theirs', () => {
    const [a, b] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const s = cluster();
    const records = hub('records', 'team-a');
    records.metadata.uid = b;
    records.status!.encryption!.keyRef = 'transit://vault/v1/transit/keys/opaque-name';
    s.hubs = [records];
    s.histories = [
      {
        namespace: 'team-a',
        entries: [
          entry({
            time: '2025-03-01T00:00:00Z',
            type: 'KeysRetained',
            hub: 'records',
            hubUID: a,
            kekRef: 'transit://vault/v1/transit/keys/opaque-name',
          }),
          entry({
            time: '2025-03-03T00:00:00Z',
            type: 'KeyRotated',
            hub: 'records',
            hubUID: b,
            kekRef: 'transit://vault/v1/transit/keys/opaque-name',
            keyVersion: 4,
          }),
        ],
      },
    ];
    const r = buildComplianceReport(s);
    expect(r.retainedKeys).toEqual([expect.objectContaining({ uid: a, adoptedBy: b })]);
    expect(hubOf(r, 'team-a').history).toEqual([
      expect.objectContaining({
        type: 'KeyRotated',
        keyVersion: 4,
        kekRef: 'transit://vault/v1/transit/keys/opaque-name',
      }),
    ]);
  });

  it('scopes hubs and history to the namespaces asked for', () => {
    const r = buildComplianceReport(cluster(), { namespaces: ['team-c', 'team-a', 'team-c'] });
    expect(r.scope).toEqual({ namespaces: ['team-a', 'team-c'] });
    expect(r.hubs.map((h) => h.name)).toEqual(['records', 'paris']);
    expect([r.retainedKeys, r.shreddedKeys, r.namespaceHistory]).toEqual([[], [], []]);
    expect(r.policies.map((p) => p.name)).toEqual(['eu-hds']);
  });
});

describe('determinism', () => {
  it('the same snapshot gives the same bytes, twice and whatever order it was listed in', () => {
    const a = renderJson(buildComplianceReport(cluster()));
    expect(renderJson(buildComplianceReport(cluster()))).toBe(a);
    expect(renderJson(buildComplianceReport(shuffled(cluster())))).toBe(a);
    expect(renderJson(buildComplianceReport(shuffled(shuffled(cluster()))))).toBe(a);
  });

  it('does not change the snapshot', () => {
    const s = cluster();
    const before = JSON.stringify(s);
    buildComplianceReport(s, { since: '2025-03-04T00:00:00Z' });
    expect(JSON.stringify(s)).toBe(before);
  });
});

describe('times', () => {
  it('are written to the second, the next rotation too', () => {
    expect(nextRotation('2025-03-01T00:00:00.500Z', '1h')).toBe('2025-03-01T01:00:00Z');
    expect(nextRotation('2025-03-01T00:00:00Z', '720h')).toBe('2025-03-31T00:00:00Z');
  });

  it('have one formatter (api/conditions formatTime) in the report and the command line', () => {
    const dirs = ['src/report/compliance', 'src/cli/hdh'];
    const own = dirs.flatMap((d) =>
      readdirSync(d)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(d, f))
        .filter((f) => /toISOString\(\)\s*\.replace\(/.test(readFileSync(f, 'utf8'))),
    );
    expect(own).toEqual([]);
  });
});
