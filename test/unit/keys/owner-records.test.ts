// The owner record of a hub's own legacy PKCS#11 or Transit key is written once, and a process
// started later finds it with a read: no create request (refused as a conflict, but still a
// write) at every restart.
import type { V1Secret } from '@kubernetes/client-node';
import { legacyKeyIdentity } from '../../../src/keys/identity.js';
import { OwnerRecords } from '../../../src/keys/lifecycle/ownership.js';
import { SecretStore } from '../../../src/keys/lifecycle/secret-store.js';
import type { Observed, SecretsApi } from '../../../src/keys/lifecycle/types.js';
import type { HubKeyFacts } from '../../../src/keys/plan.js';
import type { KeyProvider } from '../../../src/keys/provider.js';

const hub = { namespace: 'research', name: 'oncology', uid: '5b7c0e0a-3f0e-4c53-9d43-1f8d2b6a9e11' };

/** Secrets by namespace/name, counting the creates sent. */
function fakeSecrets() {
  const stored = new Map<string, V1Secret>();
  let creates = 0;
  const api = {
    readNamespacedSecret: ({ name, namespace }: { name: string; namespace: string }) => {
      const s = stored.get(`${namespace}/${name}`);
      return s ? Promise.resolve(s) : Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
    },
    createNamespacedSecret: ({ namespace, body }: { namespace: string; body: V1Secret }) => {
      creates++;
      const key = `${namespace}/${body.metadata!.name}`;
      if (stored.has(key)) return Promise.reject(Object.assign(new Error('exists'), { code: 409 }));
      stored.set(key, body);
      return Promise.resolve(body);
    },
  } as unknown as SecretsApi;
  return { api, creates: () => creates };
}

const facts = { ref: hub } as HubKeyFacts;
const seen = {
  identity: legacyKeyIdentity(hub),
  observation: { keys: { state: 'present', set: { kekRef: 'pkcs11:token=t;object=k' } } },
} as unknown as Observed;
const provider = { describe: () => ({ provider: 'pkcs11' }) } as unknown as KeyProvider;

describe('OwnerRecords.record', () => {
  it('creates the record once, and a restarted process only reads it', async () => {
    const secrets = fakeSecrets();
    const first = new OwnerRecords(new SecretStore(secrets.api), 'hdh-system');
    await first.record(facts, seen, provider);
    await first.record(facts, seen, provider);
    expect(secrets.creates()).toBe(1);

    const restarted = new OwnerRecords(new SecretStore(secrets.api), 'hdh-system');
    await restarted.record(facts, seen, provider);
    expect(secrets.creates()).toBe(1);
  });
});
