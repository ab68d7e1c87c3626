// The terminal view of a hub: every pod and volume with its location and verdict, the keys and
// their custody; colour only when asked, and nothing from the cluster reaches the terminal raw.
import { selectHubs } from '../../../../src/cli/hdh/status.js';
import { formatStatus } from '../../../../src/cli/hdh/status-format.js';
import { oneLine, printableJson, safe, wantsColour } from '../../../../src/cli/hdh/terminal.js';
import type { ReportHub } from '../../../../src/report/compliance/index.js';

const ESC = '\u001b';

function reportHub(overrides: Partial<ReportHub> = {}): ReportHub {
  return {
    namespace: 'research',
    name: 'oncology',
    uid: '05364ebc-ab68-4cad-925f-b6b248266c15',
    policy: 'eu-hds',
    compliant: false,
    conditions: [
      { type: 'Ready', status: 'False', reason: 'PodsOutsidePolicy', message: 'pod x runs on us-east-1a' },
      { type: 'PlacementCompliant', status: 'False', reason: 'PodsOutsidePolicy', message: '1 pod outside' },
    ],
    pods: [
      {
        name: 'oncology-0',
        node: 'eu-fr-par-1',
        region: 'fr-par',
        zone: 'fr-par-1',
        policyLabels: {
          'sovereign.node-restriction.kubernetes.io/hds': 'true',
          'sovereign.node-restriction.kubernetes.io/jurisdiction': 'EU',
        },
        providerID: 'kwok://eu-fr-par-1',
        verdict: 'pass',
        reason: 'node eu-fr-par-1 satisfies SovereigntyPolicy eu-hds',
      },
      {
        name: 'rogue',
        node: 'us-east-1a',
        region: 'us-east-1',
        zone: 'us-east-1a',
        policyLabels: { 'sovereign.node-restriction.kubernetes.io/jurisdiction': 'US' },
        verdict: 'fail',
        reason: 'region us-east-1 is not one of [fr-par, de-fra]',
      },
    ],
    volumes: [
      {
        claim: 'data-oncology-0',
        volume: 'pv-1',
        phase: 'Bound',
        storageClass: 'encrypted-eu',
        capacity: '1Gi',
        encryption: { attested: true, why: 'annotated' },
        regions: ['fr-par'],
        zones: ['fr-par-1'],
        verdict: 'pass',
        reasons: ['inside'],
      },
    ],
    keys: {
      provider: 'pkcs11',
      keyRef: 'pkcs11/hdh-oncology/hdh.research.oncology.05364ebc',
      activeVersion: 3,
      versions: 3,
      lastRotationTime: '2025-03-01T00:00:00Z',
      rotationInterval: '720h',
      nextRotationTime: '2025-03-31T00:00:00Z',
      custody: {
        verdict: 'Extractable',
        attributes: [
          { name: 'CKA_EXTRACTABLE', expected: 'false', observed: 'true' },
          { name: 'CKA_SENSITIVE', expected: 'true', observed: 'true' },
        ],
        message: 'the key can leave the provider',
        weakest: false,
      },
    },
    history: [],
    ...overrides,
  };
}

describe('formatStatus', () => {
  it('shows every pod and volume with node, region, zone, labels and verdict, and the keys', () => {
    const text = formatStatus([reportHub()], { colour: false });
    expect(text).not.toContain(ESC);
    expect(text).toContain('HealthDataHub research/oncology  policy eu-hds  NOT compliant');
    expect(text).toMatch(/oncology-0 +eu-fr-par-1 +fr-par +fr-par-1 +hds=true,jurisdiction=EU +pass/);
    expect(text).toMatch(
      /rogue +us-east-1a +us-east-1 +us-east-1a +jurisdiction=US +fail +region us-east-1 is not one of/,
    );
    expect(text).toMatch(/data-oncology-0 +pv-1 +fr-par +fr-par-1 +encrypted-eu +attested +pass/);
    expect(text).toContain('provider pkcs11, key pkcs11/hdh-oncology/hdh.research.oncology.05364ebc');
    expect(text).toContain(
      'active version 3 of 3; last rotation 2025-03-01T00:00:00Z, next 2025-03-31T00:00:00Z',
    );
    expect(text).toContain('custody Extractable: the key can leave the provider');
    expect(text).toContain('CKA_EXTRACTABLE true (expected false)');
    expect(text).toMatch(/Ready +False +PodsOutsidePolicy +pod x runs on us-east-1a/);
  });

  it('colours verdicts on a terminal, keeping the columns aligned', () => {
    const text = formatStatus([reportHub()], { colour: true });
    expect(text).toContain(`${ESC}[31mfail`);
    expect(text).toContain(`${ESC}[32mpass`);
    expect(text).toContain(`${ESC}[31mExtractable${ESC}[0m`);
    const plain = text
      .split(ESC)
      .map((part, i) => (i === 0 ? part : part.replace(/^\[\d+m/, '')))
      .join('');
    expect(plain).toBe(formatStatus([reportHub()], { colour: false }));
  });

  it('neutralises control characters a tenant could put in what is shown', () => {
    const hub = reportHub({
      conditions: [
        { type: 'Ready', status: 'False', reason: 'X', message: `evil${ESC}]0;pwned\u0007\nnext` },
      ],
    });
    const text = formatStatus([hub], { colour: false });
    expect(text).not.toContain(ESC);
    expect(text).not.toContain('\u0007');
    expect(text).toContain('evil\\u{1b}]0;pwned\\u{7} next');
  });

  it('says when a hub has nothing yet', () => {
    const text = formatStatus([reportHub({ conditions: [], pods: [], volumes: [] })], { colour: false });
    expect(text).toContain('none reported yet');
    expect(text).toContain('Pods (0)\n    none');
  });
});

describe('selectHubs', () => {
  it('keeps all, or the one named, or says which is missing and where', () => {
    const hubs = [reportHub(), reportHub({ name: 'minimal' })];
    expect(selectHubs(hubs, undefined, 'research')).toHaveLength(2);
    expect(selectHubs(hubs, 'minimal', 'research').map((h) => h.name)).toEqual(['minimal']);
    expect(() => selectHubs(hubs, 'absent', 'research')).toThrow(
      'healthdatahub absent not found in namespace research',
    );
  });
});

describe('terminal', () => {
  it('colours only a terminal without NO_COLOR', () => {
    expect(wantsColour(true, {})).toBe(true);
    expect(wantsColour(true, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColour(false, {})).toBe(false);
    expect(wantsColour(undefined, {})).toBe(false);
  });

  it('keeps newlines in safe(), not in oneLine()', () => {
    expect(safe('a\nb\u009bc')).toBe('a\nb\\u{9b}c');
    expect(oneLine('a\nb\tc')).toBe('a b c');
  });

  it('writes out what would disguise text: carriage returns, bidirectional overrides, zero-width', () => {
    expect(oneLine('ok\rFAIL')).toBe('ok\\u{d}FAIL');
    expect(oneLine('invoice\u202efdp.exe\u200b\u2066')).toBe('invoice\\u{202e}fdp.exe\\u{200b}\\u{2066}');
  });

  it('prints JSON with every hidden character as a \\u escape: valid JSON, the same values', () => {
    const value = { name: 'a\u0085b\u009b\u202ec\u2028\u001b', plain: 'é €' };
    const text = printableJson(value);
    for (const c of ['\u0085', '\u009b', '\u202e', '\u2028', '\u001b']) expect(text).not.toContain(c);
    expect(text).toContain('"a\\u0085b\\u009b\\u202ec\\u2028\\u001b"');
    expect(text).toContain('"é €"');
    expect(JSON.parse(text)).toEqual(value);
  });
});
