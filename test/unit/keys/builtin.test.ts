// The builtin provider's KEK Secret, without a cluster (test/integration/keys has the rest).
import { randomBytes } from 'node:crypto';
import { KEK_SECRET_TYPE, kekFromSecret, renderKekSecret } from '../../../src/keys/builtin.js';
import { keyIdentity, legacyKeyIdentity } from '../../../src/keys/identity.js';
import { KeyInvalidError, KeyOwnerError } from '../../../src/keys/provider.js';

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
    expect(() => kekFromSecret(good(), other)).toThrow(KeyOwnerError);
  });

  it('refuses a Secret labelled for a hub of another namespace or name with the same UID', () => {
    // The legacy names of ten-a/x and ten/a-x are the same: only the labels say whose key it is.
    const uid = '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
    const victim = legacyKeyIdentity({ namespace: 'ten-a', name: 'x', uid });
    const attacker = legacyKeyIdentity({ namespace: 'ten', name: 'a-x', uid });
    expect(attacker.name).toBe(victim.name);
    const secret = renderKekSecret(victim, 'hdh-system', randomBytes(32));
    expect(() => kekFromSecret(secret, victim).fill(0)).not.toThrow();
    expect(() => kekFromSecret(secret, attacker)).toThrow(
      /is not the key-encryption key of hub ten\/a-x .*name another hub/,
    );
    for (const label of ['hdh.sovereign.eu/hub', 'hdh.sovereign.eu/hub-namespace']) {
      const unlabelled = {
        ...secret,
        metadata: { ...secret.metadata, labels: { ...secret.metadata!.labels } },
      };
      delete unlabelled.metadata.labels[label];
      expect(() => kekFromSecret(unlabelled, victim)).toThrow(KeyOwnerError);
    }
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
