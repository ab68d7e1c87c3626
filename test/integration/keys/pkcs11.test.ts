// The PKCS#11 provider against a real SoftHSM2 token: the KEK is made inside the token,
// cannot leave it, wraps and unwraps DEKs, and every failure says what to fix without the PIN.
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { generateDek } from '../../../src/keys/dek.js';
import { keyIdentity, type KeyIdentity } from '../../../src/keys/identity.js';
import { KeyMetrics, instrumentProvider } from '../../../src/keys/metrics.js';
import { Pkcs11KeyProvider, finalizePkcs11Modules } from '../../../src/keys/pkcs11.js';
import {
  KeyExistsError,
  KeyInvalidError,
  KeyMissingError,
  ProviderUnavailableError,
  UnwrapError,
} from '../../../src/keys/provider.js';
import { metricValue } from '../../support/metrics.js';
import {
  createSoftHsmToken,
  findKeyObjects,
  withTokenSession,
  type SoftHsmToken,
} from '../../support/softhsm.js';

const suffix = Date.now().toString(36);
let token: SoftHsmToken;
let provider: Pkcs11KeyProvider;

const newHub = (name = 'oncology'): KeyIdentity =>
  keyIdentity({ namespace: `it-keys-${suffix}`, name, uid: randomUUID() });

const caught = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
};

beforeAll(() => {
  // Throws "install the Debian package softhsm2" when SoftHSM2 is missing: nothing is skipped.
  token = createSoftHsmToken(`hdh-it-${suffix}`);
  provider = new Pkcs11KeyProvider({
    module: token.module,
    allowedModules: token.allowedModules,
    allowedTokens: token.allowedTokens,
    tokenLabel: token.label,
    pin: token.pin,
  });
});

afterAll(() => {
  finalizePkcs11Modules();
});

describe('PKCS#11 provider on SoftHSM2', () => {
  it('describes itself without the PIN', () => {
    expect(provider.describe()).toEqual({
      provider: 'pkcs11',
      reference: `token ${token.label} (module ${token.module})`,
    });
    expect(JSON.stringify(provider)).not.toContain(token.pin);
  });

  it('creates a KEK that find then reports, and refuses to create it twice', async () => {
    const id = newHub();
    expect(await provider.find(id)).toBeUndefined();
    const info = await provider.create(id);
    expect(info.ref).toBe(`pkcs11:token=${token.label};object=${id.name};type=secret-key`);
    expect(await provider.find(id)).toEqual(info);

    await expect(provider.create(id)).rejects.toThrow(KeyExistsError);
    expect(withTokenSession(token, (t) => findKeyObjects(t, id.name))).toHaveLength(1);
  });

  it('makes the KEK sensitive and non-extractable: its value cannot be read', async () => {
    const id = newHub();
    await provider.create(id);
    expect(await provider.keyAttributes(id)).toEqual({
      extractable: false,
      sensitive: true,
      neverExtractable: true,
      alwaysSensitive: true,
      token: true,
      aes: true,
      valueLength: 32,
      id: id.id,
    });
    expect((await provider.custody(id)).verdict).toBe('NonExtractable');

    withTokenSession(token, (t) => {
      const [key] = findKeyObjects(t, id.name);
      expect(() => t.lib.C_GetAttributeValue(t.session, key!, [{ type: t.pk.CKA_VALUE }])).toThrow(
        /CKR_ATTRIBUTE_SENSITIVE/,
      );
      // Nor can it be made extractable afterwards.
      expect(() =>
        t.lib.C_SetAttributeValue(t.session, key!, [{ type: t.pk.CKA_EXTRACTABLE, value: true }]),
      ).toThrow(/CKR_/);
    });
    expect((await provider.custody(id)).verdict).toBe('NonExtractable');
  });

  it('wraps and unwraps a 32-byte DEK with AES-GCM, bound to the hub', async () => {
    const id = newHub();
    await provider.create(id);
    const dek = generateDek();
    const wrapped = await provider.wrap(id, dek);
    expect(wrapped).toMatch(/^v1:[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(wrapped.slice(3), 'base64')).toHaveLength(12 + 32 + 16);
    expect(wrapped).not.toContain(dek.toString('base64'));
    expect((await provider.unwrap(id, wrapped)).equals(dek)).toBe(true);
    expect(await provider.wrap(id, dek)).not.toBe(wrapped); // fresh IV

    const raw = Buffer.from(wrapped.slice(3), 'base64');
    raw[20] = raw[20]! ^ 1;
    const tampered = `v1:${raw.toString('base64')}`;
    await expect(provider.unwrap(id, tampered)).rejects.toThrow(UnwrapError);
    await expect(provider.unwrap(id, 'v9:AAAA')).rejects.toThrow(UnwrapError);

    // Another hub's KEK never opens it.
    const other = newHub('cardiology');
    await provider.create(other);
    await expect(provider.unwrap(other, wrapped)).rejects.toThrow(UnwrapError);
  });

  it('destroys the KEK: find says missing, unwrap and wrap fail with KeyMissing', async () => {
    const id = newHub();
    await provider.create(id);
    const wrapped = await provider.wrap(id, generateDek());

    expect(await provider.destroy(id)).toBe(true);
    expect(await provider.find(id)).toBeUndefined();
    expect(withTokenSession(token, (t) => findKeyObjects(t, id.name))).toHaveLength(0);
    await expect(provider.unwrap(id, wrapped)).rejects.toThrow(KeyMissingError);
    await expect(provider.wrap(id, generateDek())).rejects.toThrow(KeyMissingError);
    await expect(provider.custody(id)).rejects.toThrow(KeyMissingError);
    expect(await provider.destroy(id)).toBe(false);
  });

  it('refuses a wrong PIN with a fix and without the PIN, even right after a good login', async () => {
    const id = newHub();
    await provider.create(id);
    const wrongPin = '80417395';
    const wrong = new Pkcs11KeyProvider({
      module: token.module,
      allowedModules: token.allowedModules,
      allowedTokens: token.allowedTokens,
      tokenLabel: token.label,
      pin: wrongPin,
    });

    // The good provider has just logged in; the wrong one must still be challenged.
    await provider.find(id);
    const attempts = [
      () => wrong.find(id),
      () => wrong.create(newHub()),
      () => wrong.unwrap(id, `v1:${Buffer.alloc(60).toString('base64')}`),
      () => wrong.find(id),
    ];
    for (const attempt of attempts) {
      const e = await caught(attempt());
      expect(e).toBeInstanceOf(ProviderUnavailableError);
      expect(e.message).toMatch(/PIN/);
      expect(e.message).toMatch(/pinSecretRef/);
      expect(e.message).not.toContain(wrongPin);
      expect(e.message).not.toContain(token.pin);
      expect(e.stack ?? '').not.toContain(wrongPin);
    }
    // A login left open by someone else in this process does not let a wrong PIN through.
    const otherWrongPin = '31415926';
    const wrong2 = new Pkcs11KeyProvider({
      module: token.module,
      allowedModules: token.allowedModules,
      allowedTokens: token.allowedTokens,
      tokenLabel: token.label,
      pin: otherWrongPin,
    });
    const whileLoggedIn = withTokenSession(token, () => wrong2.find(id));
    const e = await caught(whileLoggedIn);
    expect(e).toBeInstanceOf(ProviderUnavailableError);
    expect(e.message).toMatch(/refused the PIN/);
    expect(e.message).not.toContain(otherWrongPin);

    // The right PIN is unaffected.
    expect(await provider.find(id)).toBeDefined();
  });

  it('reports a missing token and a missing module as unavailable, saying what to fix', async () => {
    const id = newHub();
    const noToken = new Pkcs11KeyProvider({
      module: token.module,
      allowedModules: token.allowedModules,
      // Allowed by the platform, but not on the token list: the platform's mistake to see.
      allowedTokens: ['no-such-token'],
      tokenLabel: 'no-such-token',
      pin: token.pin,
    });
    const e1 = await caught(noToken.find(id));
    expect(e1).toBeInstanceOf(ProviderUnavailableError);
    expect(e1.message).toMatch(/no token labelled no-such-token.*tokenLabel/);
    expect(e1.message).not.toContain(token.pin);

    // A module the platform allows but that is not installed says so (the path is the platform's).
    const missing = '/usr/lib/no-such-pkcs11-module.so';
    const noModule = new Pkcs11KeyProvider({
      module: missing,
      allowedModules: [missing],
      allowedTokens: token.allowedTokens,
      tokenLabel: token.label,
      pin: token.pin,
    });
    const e2 = await caught(noModule.find(id));
    expect(e2).toBeInstanceOf(ProviderUnavailableError);
    expect(e2.message).toMatch(
      /allowed PKCS#11 module \/usr\/lib\/no-such-pkcs11-module.so cannot be resolved \(ENOENT\)/,
    );
    expect(e2.message).not.toContain(token.pin);

    // One the platform did not allow is refused unopened, with the same message whether or not it exists.
    const refusal = async (module: string) => {
      const p = new Pkcs11KeyProvider({
        module,
        allowedModules: token.allowedModules,
        allowedTokens: token.allowedTokens,
        tokenLabel: token.label,
        pin: token.pin,
      });
      const e = await caught(p.find(id));
      expect(e).toBeInstanceOf(ProviderUnavailableError);
      return e.message.split(JSON.stringify(module)).join('<module>');
    };
    const notAllowed = await refusal(missing);
    expect(notAllowed).toMatch(/is not one the operator may load.*--pkcs11-allowed-modules/);
    expect(await refusal('/etc/hostname')).toBe(notAllowed);

    const relative = new Pkcs11KeyProvider({
      module: 'libsofthsm2.so',
      allowedModules: token.allowedModules,
      allowedTokens: token.allowedTokens,
      tokenLabel: token.label,
      pin: token.pin,
    });
    await expect(relative.find(id)).rejects.toThrow(/not an absolute path/);
  });

  it('neither uses nor replaces a key object under the hub label that the operator did not make', async () => {
    const id = newHub();
    withTokenSession(token, ({ lib, pk, session }) => {
      lib.C_GenerateKey(session, { mechanism: pk.CKM_AES_KEY_GEN }, [
        { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
        { type: pk.CKA_KEY_TYPE, value: pk.CKK_AES },
        { type: pk.CKA_VALUE_LEN, value: 32 },
        { type: pk.CKA_TOKEN, value: true },
        { type: pk.CKA_SENSITIVE, value: false },
        { type: pk.CKA_EXTRACTABLE, value: true },
        { type: pk.CKA_ENCRYPT, value: true },
        { type: pk.CKA_DECRYPT, value: true },
        { type: pk.CKA_LABEL, value: id.name },
        { type: pk.CKA_ID, value: id.id },
      ]);
    });
    await expect(provider.find(id)).rejects.toThrow(KeyInvalidError);
    await expect(provider.find(id)).rejects.toThrow(/extractable, not sensitive/);
    await expect(provider.create(id)).rejects.toThrow(KeyInvalidError);
    await expect(provider.wrap(id, generateDek())).rejects.toThrow(KeyInvalidError);
    // Refused for use, and its custody says why.
    expect(await provider.custody(id)).toMatchObject({
      verdict: 'Extractable',
      message: expect.stringContaining('CKA_SENSITIVE=false, CKA_EXTRACTABLE=true'),
    });
    expect(withTokenSession(token, (t) => findKeyObjects(t, id.name))).toHaveLength(1);
  });

  it('counts operations and reports the provider up or down', async () => {
    const registry = new Registry();
    const metrics = new KeyMetrics(registry);
    const good = instrumentProvider(provider, metrics);
    const id = newHub();
    await good.find(id);
    await good.create(id);
    await expect(good.create(id)).rejects.toThrow(KeyExistsError);
    let text = await registry.metrics();
    expect(
      metricValue(text, 'hdh_key_operations_total', { provider: 'pkcs11', op: 'create', result: 'success' }),
    ).toBe(1);
    expect(
      metricValue(text, 'hdh_key_operations_total', { provider: 'pkcs11', op: 'create', result: 'exists' }),
    ).toBe(1);
    expect(metricValue(text, 'hdh_key_provider_up', { provider: 'pkcs11' })).toBe(1);

    const down = instrumentProvider(
      new Pkcs11KeyProvider({
        module: token.module,
        allowedModules: token.allowedModules,
        allowedTokens: token.allowedTokens,
        tokenLabel: token.label,
        pin: '11112222',
      }),
      metrics,
    );
    await expect(down.find(id)).rejects.toThrow(ProviderUnavailableError);
    text = await registry.metrics();
    expect(metricValue(text, 'hdh_key_provider_up', { provider: 'pkcs11' })).toBe(0);
    expect(text).not.toContain('11112222');
    expect(text).not.toContain(token.pin);
  });
});
