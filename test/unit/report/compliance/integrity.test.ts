import { generateKeyPairSync } from 'node:crypto';
import {
  buildComplianceReport,
  canonicalJson,
  renderJson,
  sealReport,
  sha256Hex,
  verifyReport,
} from '../../../../src/report/compliance/index.js';
import { cluster, pod } from './fixtures.js';

function ed25519() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

describe('canonicalJson', () => {
  it.each([
    [null, 'null'],
    [true, 'true'],
    ['a"b\\c\n\u0001', '"a\\"b\\\\c\\n\\u0001"'],
    [[1, 'x', false], '[1,"x",false]'],
    [{ b: 1, a: { d: [], c: {} } }, '{"a":{"c":{},"d":[]},"b":1}'],
    [{ a: undefined, b: 2 }, '{"b":2}'],
    [-0, '0'],
  ])('%j is %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  // RFC 8785, appendix B: IEEE 754 doubles (as hex) and the text ECMAScript, hence JCS, writes.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('the double %s is %s', (hex, text) => {
    expect(canonicalJson(Buffer.from(hex, 'hex').readDoubleBE(0))).toBe(text);
  });

  it('writes the RFC 8785 example as the RFC does', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (RFC 8785, section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const order = Object.values(JSON.parse(canonicalJson(input)) as Record<string, string>);
    expect(Object.keys(JSON.parse(canonicalJson(input)) as object).map((k) => k.codePointAt(0))).toEqual([
      0x31, 0x0d, 0x80, 0xf6, 0x20ac, 0x1f600, 0xfb33,
    ]);
    // Integer-like keys come first in a JavaScript object; the canonical text has them in place.
    expect(canonicalJson(input).indexOf('"\\r"')).toBeLessThan(canonicalJson(input).indexOf('"1"'));
    expect(order).toHaveLength(7);
  });

  it.each([
    [NaN, /non-finite/],
    [Infinity, /non-finite/],
    [{ a: [1, -Infinity] }, /\$\.a\[1\] is -Infinity/],
    [[undefined], /undefined/],
    [{ n: BigInt(1) }, /bigint/],
    [{ f: () => 1 }, /function/],
    [{ d: new Date(0) }, /not a plain object \(Date\)/],
    [new Map(), /not a plain object/],
  ])('refuses %p', (value, error) => {
    expect(() => canonicalJson(value)).toThrow(error);
  });
});

describe('sealReport and verifyReport', () => {
  const report = buildComplianceReport(cluster());
  const key = ed25519();

  it('the digest is the SHA-256 of the canonical JSON without integrity', () => {
    const sealed = sealReport(report);
    expect(sealed.integrity).toEqual({
      canonicalization: 'RFC8785',
      algorithm: 'sha256',
      digest: sha256Hex(canonicalJson(report)),
    });
    const result = verifyReport(renderJson(sealed));
    expect(result).toEqual({ ok: true, digestOk: true, reasons: [] });
    // Sealing again gives the same digest; the compact canonical form verifies too.
    expect(sealReport(sealed).integrity).toEqual(sealed.integrity);
    expect(verifyReport(canonicalJson(sealed)).ok).toBe(true);
  });

  it('a signed report verifies, with its embedded key and with the expected one', () => {
    const sealed = sealReport(report, { signingKeyPem: key.privatePem });
    expect(sealed.integrity!.signature).toMatchObject({ algorithm: 'ed25519', publicKey: key.publicPem });
    const text = renderJson(sealed);
    expect(verifyReport(text)).toEqual({ ok: true, digestOk: true, signatureOk: true, reasons: [] });
    expect(verifyReport(text, { publicKeyPem: key.publicPem })).toMatchObject({
      ok: true,
      signatureOk: true,
    });
  });

  it('takes its options as an object only: a bare PEM is refused, never taken as "unsigned"', () => {
    expect(() => sealReport(report, key.privatePem as never)).toThrow(/an options object/);
    const text = renderJson(sealReport(report, { signingKeyPem: key.privatePem }));
    expect(() => verifyReport(text, key.publicPem as never)).toThrow(/an options object/);
  });

  it('refuses "signature": null rather than reading it as unsigned', () => {
    const sealed = sealReport(report);
    const text = renderJson({
      ...sealed,
      integrity: { ...sealed.integrity!, signature: null as never },
    });
    const result = verifyReport(text);
    expect(result.ok).toBe(false);
    expect(result.reasons).toContain('the integrity block has a signature that is not an object');
  });

  it('writes C1 controls and bidirectional characters as \\u escapes; the digest is unchanged', () => {
    const s = cluster();
    s.pods = [...s.pods, pod('evil\u0085\u009b31m\u202egnp.exe\u2066\u200b\u2028', 'team-a', 'eu-fr-par-1')];
    const sealed = sealReport(buildComplianceReport(s), { signingKeyPem: key.privatePem });
    const text = renderJson(sealed);
    for (const c of ['\u0085', '\u009b', '\u202e', '\u2066', '\u200b', '\u2028']) {
      expect(text).not.toContain(c);
    }
    expect(text).toContain('"name": "evil\\u0085\\u009b31m\\u202egnp.exe\\u2066\\u200b\\u2028"');
    // The same values: printing changes nothing of what is sealed.
    expect(JSON.parse(text)).toEqual(JSON.parse(canonicalJson(sealed)));
    const { integrity: _i, ...content } = sealed;
    expect(sealed.integrity!.digest).toBe(sha256Hex(canonicalJson(content)));
    expect(canonicalJson(content)).toContain('evil\u0085');
    expect(verifyReport(text, { publicKeyPem: key.publicPem })).toMatchObject({ ok: true });
    expect(verifyReport(canonicalJson(sealed)).ok).toBe(true);
  });

  it('one edited byte anywhere fails', () => {
    const text = renderJson(sealReport(report, { signingKeyPem: key.privatePem }));
    const edit = (i: number) => {
      const c = text[i]!;
      const other = c === 'a' ? 'b' : c === ' ' ? '\t' : c === '0' ? '1' : 'a';
      return text.slice(0, i) + other + text.slice(i + 1);
    };
    // Every byte of the integrity block (which the digest does not cover), a sample of the rest.
    const [start, end] = [text.indexOf('"integrity"'), text.indexOf('"namespaceHistory"')];
    const positions = [...Array(text.length).keys()].filter(
      (i) => (i >= start && i < end) || i % 41 === 0 || i === text.length - 1,
    );
    const passed = positions.filter((i) => verifyReport(edit(i)).ok);
    expect(passed).toEqual([]);
    // Targeted: a pod name, a verdict, the digest, the signature, the embedded key, whitespace.
    for (const [from, to] of [
      ['"miner"', '"minor"'],
      ['"fail"', '"pass"'],
      ['"digest": "', '"digest": "0'],
      ['"value": "', '"value": "A'],
      ['BEGIN PUBLIC KEY-----\\n', 'BEGIN PUBLIC KEY-----\\nA'],
      ['{\n  "cluster"', '{\n   "cluster"'],
    ]) {
      expect(text).toContain(from);
      expect(verifyReport(text.replace(from!, to!)).ok).toBe(false);
    }
    expect(verifyReport(`${text}\n`).ok).toBe(false);
  });

  it('a report edited and signed again with another key fails against the expected key', () => {
    const original = sealReport(report, { signingKeyPem: key.privatePem });
    const forged = JSON.parse(renderJson(original)) as typeof original;
    forged.hubs[1]!.compliant = true;
    const attacker = ed25519();
    const text = renderJson(sealReport(forged, { signingKeyPem: attacker.privatePem }));
    // With the key it carries, the forgery checks out: only the expected key tells.
    expect(verifyReport(text).ok).toBe(true);
    const result = verifyReport(text, { publicKeyPem: key.publicPem });
    expect(result).toMatchObject({ ok: false, digestOk: true, signatureOk: false });
    expect(result.reasons).toEqual(['the report is signed with another key than the given public key']);
  });

  it('an unsigned report fails when a signature is expected', () => {
    const result = verifyReport(renderJson(sealReport(report)), { publicKeyPem: key.publicPem });
    expect(result).toMatchObject({ ok: false, digestOk: true, signatureOk: false });
  });

  it('a signature moved onto another report fails', () => {
    const a = sealReport(report, { signingKeyPem: key.privatePem });
    const b = sealReport(buildComplianceReport(cluster(), { namespaces: ['team-a'] }));
    const text = renderJson({ ...b, integrity: { ...b.integrity!, signature: a.integrity!.signature! } });
    expect(verifyReport(text, { publicKeyPem: key.publicPem })).toMatchObject({
      ok: false,
      digestOk: true,
      signatureOk: false,
      reasons: ['the signature does not match the report'],
    });
  });

  it.each([
    [
      'RSA',
      () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      /a rsa key; reports are signed with Ed25519 only/,
    ],
    ['P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, /a ec key/],
    ['Ed448', () => generateKeyPairSync('ed448').privateKey, /a ed448 key/],
  ])('refuses a %s signing key', (_name, make, error) => {
    const pem = make().export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => sealReport(report, { signingKeyPem: pem })).toThrow(error);
  });

  it('refuses a public key or garbage as the signing key', () => {
    expect(() => sealReport(report, { signingKeyPem: key.publicPem })).toThrow(
      /not an unencrypted private key/,
    );
    expect(() => sealReport(report, { signingKeyPem: 'nope' })).toThrow(/openssl genpkey -algorithm ed25519/);
  });

  it('says why a file is not a report', () => {
    expect(verifyReport('not json').reasons[0]).toMatch(/^the report is not JSON/);
    expect(verifyReport('{}').reasons).toEqual(['the report has no integrity block']);
    expect(verifyReport('null').ok).toBe(false);
  });
});
