// The builtin provider's KEK Secret, without a cluster (test/integration/keys has the rest).
import { randomBytes } from 'node:crypto';
import { KEK_SECRET_TYPE, kekFromSecret, renderKekSecret } from '../../../src/keys/builtin.js';
import { keyIdentity } from '../../../src/keys/identity.js';
import { KeyInvalidError } from '../../../src/keys/provider.js';

const identity = keyIdentity({
  namespace: 'research',
  name: 'oncology',
  uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c',
});

describe('renderKekSecret', () => {
  const kek = randomBytes(32);
  const secret = renderKekSecret(identity, 'hdh-system', kek);

  it('is an immutable Secret named after the identity, labelled for its hub', () => {
    expect(secret.metadata).toEqual({
      name: identity.name,
      namespace: 'hdh-system',
      labels: {
        'app.kubernetes.io/managed-by': 'hdh-operator',
        'hdh.sovereign.eu/hub': 'oncology',
        'hdh.sovereign.eu/hub-namespace': 'research',
        'hdh.sovereign.eu/hub-uid': identity.hub.uid,
      },
    });
    expect(secret.immutable).toBe(true);
    expect(secret.type).toBe(KEK_SECRET_TYPE);
    expect(Object.keys(secret.data ?? {})).toEqual(['kek']);
  });

  it('round-trips the key through kekFromSecret', () => {
    expect(kekFromSecret(secret, identity).equals(kek)).toBe(true);
  });
});

describe('kekFromSecret', () => {
  const good = () => renderKekSecret(identity, 'hdh-system', randomBytes(32));

  it('refuses a Secret of another type', () => {
    expect(() => kekFromSecret({ ...good(), type: 'Opaque' }, identity)).toThrow(KeyInvalidError);
  });

  it('refuses a Secret of another hub', () => {
    const other = keyIdentity({ ...identity.hub, uid: '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' });
    expect(() => kekFromSecret(good(), other)).toThrow(/not labelled hdh.sovereign.eu\/hub-uid=7c1e2d3f/);
  });

  it('refuses a key of the wrong size, without printing it', () => {
    const short = randomBytes(16);
    const s = { ...good(), data: { kek: short.toString('base64') } };
    expect(() => kekFromSecret(s, identity)).toThrow(/does not hold a 256-bit key/);
    try {
      kekFromSecret(s, identity);
    } catch (e) {
      expect((e as Error).message).not.toContain(short.toString('base64'));
    }
  });
});
