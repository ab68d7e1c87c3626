// The transit provider's pure parts: requests, key checks and error mapping (a real Vault dev
// server is in test/integration/keys/transit.test.ts).
import { keyIdentity } from '../../../src/keys/identity.js';
import { ProviderUnavailableError, UnwrapError } from '../../../src/keys/provider.js';
import {
  TransitKeyProvider,
  ciphertextVersion,
  keyProblems,
  parseKeyState,
  transitError,
  transitRequests,
} from '../../../src/keys/transit.js';

const identity = keyIdentity({
  namespace: 'research',
  name: 'oncology',
  uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c',
});

describe('transitRequests', () => {
  const r = transitRequests('transit', identity.name);
  const key = 'hdh.research.oncology.0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c';

  it('creates aes256-gcm96 keys, explicitly non-exportable and without plaintext backup', () => {
    expect(r.create()).toEqual({
      method: 'POST',
      path: `/v1/transit/keys/${key}`,
      body: { type: 'aes256-gcm96', exportable: false, allow_plaintext_backup: false },
    });
  });

  it('sends the DEK base64-encoded to encrypt and the ciphertext as is to decrypt and rewrap', () => {
    expect(r.encrypt(Buffer.from([1, 2, 3]))).toEqual({
      method: 'POST',
      path: `/v1/transit/encrypt/${key}`,
      body: { plaintext: 'AQID' },
    });
    expect(r.decrypt('vault:v1:abc=')).toEqual({
      method: 'POST',
      path: `/v1/transit/decrypt/${key}`,
      body: { ciphertext: 'vault:v1:abc=' },
    });
    expect(r.rewrap('vault:v1:abc=').path).toBe(`/v1/transit/rewrap/${key}`);
  });

  it('allows deletion of the one key before deleting it', () => {
    expect(r.allowDeletion()).toEqual({
      method: 'POST',
      path: `/v1/transit/keys/${key}/config`,
      body: { deletion_allowed: true },
    });
    expect(r.delete()).toEqual({ method: 'DELETE', path: `/v1/transit/keys/${key}` });
    expect(r.rotate()).toEqual({ method: 'POST', path: `/v1/transit/keys/${key}/rotate` });
    expect(r.read()).toEqual({ method: 'GET', path: `/v1/transit/keys/${key}` });
  });

  it('honours a nested mount', () => {
    expect(transitRequests('kms/hdh', 'k').read().path).toBe('/v1/kms/hdh/keys/k');
  });
});

describe('ciphertextVersion', () => {
  it('reads the KEK version of a Transit ciphertext', () => {
    expect(ciphertextVersion('vault:v3:AAAA')).toBe(3);
  });
  it.each(['v1:AAAA', 'vault:v0:AAAA', 'vault:vx:AAAA', 'vault:v1:', 'vault:v1:%%'])('refuses %s', (w) => {
    expect(() => ciphertextVersion(w)).toThrow(/not a Transit ciphertext/);
  });
});

describe('parseKeyState and keyProblems', () => {
  const good = {
    type: 'aes256-gcm96',
    exportable: false,
    allow_plaintext_backup: false,
    deletion_allowed: false,
    keys: { '2': 1700000100, '1': 1700000000 },
    latest_version: 2,
  };

  it('accepts a key the operator makes, versions in order', () => {
    const state = parseKeyState(good);
    expect(state.versions).toEqual([1, 2]);
    expect(state.latestVersion).toBe(2);
    expect(keyProblems(state)).toEqual([]);
  });

  it('names what is wrong with any other key', () => {
    const state = parseKeyState({
      ...good,
      type: 'chacha20-poly1305',
      exportable: true,
      allow_plaintext_backup: true,
    });
    expect(keyProblems(state)).toEqual([
      'of type chacha20-poly1305, not aes256-gcm96',
      'exportable',
      'allowed a plaintext backup',
    ]);
    expect(keyProblems(parseKeyState({ ...good, keys: {} }))).toEqual(['without versions']);
  });
});

describe('transitError', () => {
  const path = '/v1/transit/keys/k';
  const source = 'Secret research/bao key token';

  it('maps 403 to unavailable, naming the policy path and the token Secret', () => {
    const e = transitError({ status: 403, errors: ['permission denied'] }, 'find the key', path, source);
    expect(e).toBeInstanceOf(ProviderUnavailableError);
    expect(e.message).toBe(
      'permission denied to find the key (HTTP 403: permission denied): the token in Secret research/bao key token is invalid or expired, or lacks a policy for transit/keys/k',
    );
  });

  it('maps 400 to UnwrapError only when decrypting', () => {
    const answer = { status: 400, errors: ['cipher: message authentication failed'] };
    expect(transitError(answer, 'unwrap', path, source, true)).toBeInstanceOf(UnwrapError);
    expect(transitError(answer, 'wrap', path, source)).toBeInstanceOf(ProviderUnavailableError);
  });

  it('maps a missing route to the mount setting, and sealed servers to unsealing', () => {
    expect(
      transitError({ status: 404, errors: ['no handler for route'] }, 'x', path, source).message,
    ).toContain('spec.encryption.transit.mount');
    expect(transitError({ status: 503, errors: ['Vault is sealed'] }, 'x', path, source).message).toContain(
      'unseal',
    );
  });
});

describe('TransitKeyProvider', () => {
  it('refuses addresses that are not plain http(s) base URLs, without echoing credentials', () => {
    const make = (address: string) => () => new TransitKeyProvider({ address, token: 'sekret-token' });
    expect(make('not a url')).toThrow(ProviderUnavailableError);
    expect(make('ftp://bao.example')).toThrow(/must be https/);
    expect(make('https://user:pw@bao.example')).toThrow(/no credentials/);
    expect(() => new TransitKeyProvider({ address: 'https://b', mount: '../sys', token: 't' })).toThrow(
      /not a valid path/,
    );
  });

  it('keeps the token out of its description and of inspection', async () => {
    const p = new TransitKeyProvider({ address: 'https://bao.example:8200/', token: 'sekret-token' });
    expect(p.describe()).toEqual({
      provider: 'transit',
      reference: 'https://bao.example:8200 mount transit',
    });
    expect(p.keyRef(identity)).toBe(`https://bao.example:8200/v1/transit/keys/${identity.name}`);
    const { inspect } = await import('node:util');
    expect(inspect(p, { depth: 5 })).not.toContain('sekret-token');
    expect(JSON.stringify(p)).not.toContain('sekret-token');
  });
});
