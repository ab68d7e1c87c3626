// The pod-template pieces that deliver a hub's DEKs to its datastore: a tmpfs the datastore
// mounts read-only, filled by an init container that alone sees the unwrapping credentials.
import type { HealthDataHub, HubEncryption } from '../../../src/api/index.js';
import { DEK_MOUNT_PATH, dekDelivery } from '../../../src/keys/delivery.js';
import { keyIdentity, legacyKeyIdentity } from '../../../src/keys/identity.js';
import { renderDatastore, type KeyDelivery } from '../../../src/storage/datastore.js';

const uid = '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c';
const hub = (encryption: HubEncryption): HealthDataHub =>
  ({
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'HealthDataHub',
    metadata: { name: 'oncology', namespace: 'research', uid },
    spec: { policyName: 'eu-hds', storage: { size: '1Gi', storageClassName: 'x' }, encryption },
  }) as HealthDataHub;
const options = { image: 'registry.example/hdh-operator:0.1.0', operatorNamespace: 'hdh-system' };

describe('dekDelivery', () => {
  const pkcs11 = dekDelivery(
    hub({
      provider: 'pkcs11',
      pkcs11: {
        module: '/usr/lib/softhsm/libsofthsm2.so',
        tokenLabel: 'hdh',
        pinSecretRef: { name: 'hsm-pin', key: 'pin' },
      },
    }),
    options,
  );

  it('unwraps into a memory-backed emptyDir that the datastore mounts read-only', () => {
    expect(pkcs11.volumes[0]).toEqual({ name: 'hdh-dek', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
    expect(pkcs11.datastoreMounts).toEqual([{ name: 'hdh-dek', mountPath: DEK_MOUNT_PATH, readOnly: true }]);
    expect(pkcs11.automountServiceAccountToken).toBe(false);
    const [init] = pkcs11.initContainers;
    expect(init?.image).toBe(options.image);
    expect(init?.volumeMounts).toContainEqual({ name: 'hdh-dek', mountPath: DEK_MOUNT_PATH });
    expect(init?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
  });

  it('gives the PIN to the init container only, as a file, and never in the environment', () => {
    expect(pkcs11.volumes).toContainEqual({
      name: 'hdh-key-credentials',
      secret: { secretName: 'hsm-pin', items: [{ key: 'pin', path: 'pin' }], defaultMode: 0o400 },
    });
    const [init] = pkcs11.initContainers;
    expect(init?.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'hdh-key-credentials', readOnly: true }),
    );
    expect(pkcs11.datastoreMounts.map((m) => m.name)).not.toContain('hdh-key-credentials');
    expect(init?.env).toBeUndefined();
    expect(init?.envFrom).toBeUndefined();
    expect(init?.args).toEqual(
      expect.arrayContaining([
        `--hub=research/oncology`,
        `--hub-uid=${uid}`,
        '--provider=pkcs11',
        '--pkcs11-token-label=hdh',
      ]),
    );
  });

  it('lets a builtin init container read exactly its KEK Secret with a token only it mounts', () => {
    const d = dekDelivery(hub({ provider: 'builtin' }), options);
    expect(d.kekAccess).toEqual({
      serviceAccountName: 'oncology-keys',
      namespace: 'hdh-system',
      kekSecret: `hdh.research.oncology.${uid}`,
      roleName: `hdh.research.oncology.${uid}`,
    });
    const creds = d.volumes.find((v) => v.name === 'hdh-key-credentials');
    expect(creds?.projected?.sources?.[0]?.serviceAccountToken).toEqual({
      path: 'token',
      expirationSeconds: 600,
    });
    expect(d.datastoreMounts.map((m) => m.name)).toEqual(['hdh-dek']);
  });

  it('with adopted keys reads the KEK of the earlier hub, under a Role named for this hub', () => {
    const earlier = '7c2d9e41-8a5b-4f3c-b6d1-2e9f0a8b7c6d';
    const kek = keyIdentity({ namespace: 'research', name: 'oncology', uid: earlier });
    const d = dekDelivery(hub({ provider: 'builtin' }), { ...options, kek });
    expect(d.kekAccess).toEqual({
      serviceAccountName: 'oncology-keys',
      namespace: 'hdh-system',
      kekSecret: `hdh.research.oncology.${earlier}`,
      roleName: `hdh.research.oncology.${uid}`,
    });
    // Keys made under the legacy scheme: their KEK Secret keeps its name; the Role is current.
    const legacy = dekDelivery(hub({ provider: 'builtin' }), {
      ...options,
      kek: legacyKeyIdentity({ namespace: 'research', name: 'oncology', uid }),
    });
    expect(legacy.kekAccess).toMatchObject({
      kekSecret: `hdh-research-oncology-${uid}`,
      roleName: `hdh.research.oncology.${uid}`,
    });
    // The init container is told this hub's UID; the KEK's comes with the wrapped keys.
    expect(d.initContainers[0]?.args).toContain(`--hub-uid=${uid}`);
  });

  it('fits the datastore renderer and rolls the pods when the active version changes', () => {
    const d = dekDelivery(hub({ provider: 'builtin' }), { ...options, activeVersion: 3 });
    const delivery: KeyDelivery = d;
    expect(delivery.serviceAccountName).toBe('oncology-keys');
    expect(delivery.podAnnotations).toEqual({ 'hdh.sovereign.eu/key-version': '3' });
    expect(pkcs11.podAnnotations).toBeUndefined();
    const rendered = renderDatastore(
      { ...hub({ provider: 'builtin' }), spec: { ...hub({ provider: 'builtin' }).spec, datastore: {} } },
      { regions: ['fr-par'] },
      { keyDelivery: delivery },
    );
    expect(rendered.ok).toBe(true);
  });

  it('mounts the wrapped keys, never a plaintext key Secret', () => {
    for (const d of [pkcs11, dekDelivery(hub({ provider: 'builtin' }), options)]) {
      const secrets = d.volumes.flatMap((v) => (v.secret?.secretName ? [v.secret.secretName] : []));
      expect(secrets).toContain('oncology-keys');
      expect(secrets.every((s) => s === 'oncology-keys' || s === 'hsm-pin')).toBe(true);
    }
  });
});
