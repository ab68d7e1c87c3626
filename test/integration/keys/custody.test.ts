// Key custody read from the providers themselves: a real SoftHSM2 token (C_GetAttributeValue on the
// key object) and a real Vault Transit engine (GET <mount>/keys/<name>). Keys the operator makes
// read NonExtractable; keys made extractable on purpose, at the token or the engine, read
// Extractable with the attribute that says so. Fails (never skips) without SoftHSM2 or Vault.
import { randomUUID } from 'node:crypto';
import { keyIdentity, type KeyIdentity } from '../../../src/keys/identity.js';
import { Pkcs11KeyProvider, finalizePkcs11Modules } from '../../../src/keys/pkcs11.js';
import { KeyInvalidError, KeyMissingError, ProviderUnavailableError } from '../../../src/keys/provider.js';
import { TransitKeyProvider } from '../../../src/keys/transit.js';
import { createSoftHsmToken, withTokenSession, type SoftHsmToken } from '../../support/softhsm.js';
import { startVaultDevServer, type VaultDevServer } from '../../support/vault.js';

const suffix = Date.now().toString(36);
const newHub = (name = 'oncology'): KeyIdentity =>
  keyIdentity({ namespace: `it-custody-${suffix}`, name, uid: randomUUID() });

/** The attributes of a reading, as `name=observed`. */
const observed = (c: { attributes?: { name: string; observed: string }[] }) =>
  Object.fromEntries((c.attributes ?? []).map((a) => [a.name, a.observed]));

describe('PKCS#11 custody on SoftHSM2', () => {
  let token: SoftHsmToken;
  let provider: Pkcs11KeyProvider;

  beforeAll(() => {
    token = createSoftHsmToken(`hdh-cu-${suffix}`);
    provider = new Pkcs11KeyProvider({
      module: token.module,
      allowedModules: token.allowedModules,
      allowedTokens: token.allowedTokens,
      tokenLabel: token.label,
      pin: token.pin,
    });
  });
  afterAll(() => finalizePkcs11Modules());

  /**
   * An AES-256 key under the hub's identity (its label, and its CKA_ID unless `ckaId` says
   * another), made at the token with the attributes given; `lock` then makes it sensitive
   * (CKA_SENSITIVE may only go from false to true).
   */
  const makeKey = (
    id: KeyIdentity,
    a: { sensitive: boolean; extractable: boolean; lock?: boolean; ckaId?: Buffer },
  ) =>
    withTokenSession(token, ({ lib, pk, session }) => {
      const key = lib.C_GenerateKey(session, { mechanism: pk.CKM_AES_KEY_GEN }, [
        { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
        { type: pk.CKA_KEY_TYPE, value: pk.CKK_AES },
        { type: pk.CKA_VALUE_LEN, value: 32 },
        { type: pk.CKA_TOKEN, value: true },
        { type: pk.CKA_PRIVATE, value: true },
        { type: pk.CKA_SENSITIVE, value: a.sensitive },
        { type: pk.CKA_EXTRACTABLE, value: a.extractable },
        { type: pk.CKA_ENCRYPT, value: true },
        { type: pk.CKA_DECRYPT, value: true },
        { type: pk.CKA_LABEL, value: id.name },
        { type: pk.CKA_ID, value: a.ckaId ?? id.id },
      ]);
      if (a.lock) lib.C_SetAttributeValue(session, key, [{ type: pk.CKA_SENSITIVE, value: true }]);
    });

  it('reads the four attributes of a key the operator made as NonExtractable', async () => {
    const id = newHub();
    await provider.create(id);
    const c = await provider.custody(id);
    expect(c.verdict).toBe('NonExtractable');
    expect(c.attributes).toEqual([
      { name: 'CKA_SENSITIVE', expected: 'true', observed: 'true' },
      { name: 'CKA_EXTRACTABLE', expected: 'false', observed: 'false' },
      { name: 'CKA_ALWAYS_SENSITIVE', expected: 'true', observed: 'true' },
      { name: 'CKA_NEVER_EXTRACTABLE', expected: 'true', observed: 'true' },
    ]);
    expect(c.message).toContain(`PKCS#11 token ${token.label}`);
  });

  it('reads a key made extractable and readable at the token as Extractable', async () => {
    const id = newHub('extractable');
    makeKey(id, { sensitive: false, extractable: true });
    const c = await provider.custody(id);
    expect(c.verdict).toBe('Extractable');
    expect(observed(c)).toEqual({
      CKA_SENSITIVE: 'false',
      CKA_EXTRACTABLE: 'true',
      CKA_ALWAYS_SENSITIVE: 'false',
      CKA_NEVER_EXTRACTABLE: 'false',
    });
    expect(c.message).toContain('CKA_EXTRACTABLE=true');
    // The provider refuses to use it (KeyInvalid): custody is what says why.
    await expect(provider.find(id)).rejects.toThrow(KeyInvalidError);
  });

  it('reads a key locked after it was readable as Extractable, though the provider still uses it', async () => {
    const id = newHub('locked-late');
    // Locked now, but it was readable.
    makeKey(id, { sensitive: false, extractable: false, lock: true });
    const c = await provider.custody(id);
    expect(observed(c)).toEqual({
      CKA_SENSITIVE: 'true',
      CKA_EXTRACTABLE: 'false',
      CKA_ALWAYS_SENSITIVE: 'false',
      CKA_NEVER_EXTRACTABLE: 'true',
    });
    expect(c.verdict).toBe('Extractable');
    expect(c.message).toContain('CKA_ALWAYS_SENSITIVE=false');
    expect(await provider.find(id)).toBeDefined();
  });

  it("judges only the hub's one key object, found as every use finds it (label, uniqueness, CKA_ID)", async () => {
    // A second object under the hub's label: which one holds the data is not the reader's to pick.
    const twice = newHub('twice');
    await provider.create(twice);
    makeKey(twice, { sensitive: true, extractable: false });
    await expect(provider.custody(twice)).rejects.toThrow(KeyInvalidError);
    await expect(provider.custody(twice)).rejects.toThrow(/more than one key object/);
    await expect(provider.find(twice)).rejects.toThrow(/more than one key object/);

    // The hub's label on an object of another identity (CKA_ID): not the hub's key, not judged.
    const foreign = newHub('foreign');
    makeKey(foreign, { sensitive: true, extractable: false, ckaId: Buffer.alloc(32, 7) });
    await expect(provider.custody(foreign)).rejects.toThrow(KeyInvalidError);
    await expect(provider.custody(foreign)).rejects.toThrow(/CKA_ID/);
    await expect(provider.find(foreign)).rejects.toThrow(/CKA_ID/);
  });

  it('reads nothing of a missing key, and never judges a token it cannot log in to', async () => {
    await expect(provider.custody(newHub('missing'))).rejects.toThrow(KeyMissingError);
    const wrong = new Pkcs11KeyProvider({
      module: token.module,
      allowedModules: token.allowedModules,
      allowedTokens: token.allowedTokens,
      tokenLabel: token.label,
      pin: '80417395',
    });
    const id = newHub('pin');
    await provider.create(id);
    await expect(wrong.custody(id)).rejects.toThrow(ProviderUnavailableError);
  });
});

describe('Transit custody on Vault', () => {
  let vault: VaultDevServer;
  let provider: TransitKeyProvider;
  const keyPath = (id: KeyIdentity) => `/v1/transit/keys/${id.name}`;

  beforeAll(async () => {
    vault = await startVaultDevServer();
    provider = new TransitKeyProvider({ address: vault.address, token: vault.rootToken, ca: vault.ca });
  }, 60_000);
  afterAll(async () => {
    await vault?.stop();
  });

  it('reads a key the operator made as NonExtractable, from the engine', async () => {
    const id = newHub();
    await provider.create(id);
    const c = await provider.custody(id);
    expect(c).toMatchObject({
      verdict: 'NonExtractable',
      attributes: [
        { name: 'exportable', expected: 'false', observed: 'false' },
        { name: 'allow_plaintext_backup', expected: 'false', observed: 'false' },
      ],
    });
    expect(c.message).toContain(`Transit engine ${vault.address} mount transit`);
  });

  it.each([
    ['exportable', { exportable: true }],
    ['allow_plaintext_backup', { allow_plaintext_backup: true, exportable: true }],
  ])('reads a key made %s on purpose (irreversible in Transit) as Extractable', async (attribute, config) => {
    const id = newHub(attribute.replace(/_/g, '-'));
    await provider.create(id);
    const set = await vault.api('POST', `${keyPath(id)}/config`, config);
    expect(set.status).toBeLessThan(300);
    const c = await provider.custody(id);
    expect(c.verdict).toBe('Extractable');
    expect(observed(c)[attribute]).toBe('true');
    expect(c.message).toContain(`${attribute}=true`);
    // The provider refuses to use it (KeyInvalid): custody is what says why.
    await expect(provider.find(id)).rejects.toThrow(KeyInvalidError);
  });

  it('reads nothing of a missing key, nor with a token the engine refuses', async () => {
    await expect(provider.custody(newHub('missing'))).rejects.toThrow(KeyMissingError);
    const id = newHub('denied');
    await provider.create(id);
    const denied = new TransitKeyProvider({ address: vault.address, token: 'not-a-token', ca: vault.ca });
    await expect(denied.custody(id)).rejects.toThrow(ProviderUnavailableError);
  });
});
