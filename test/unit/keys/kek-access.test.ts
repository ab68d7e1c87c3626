// builtin KEK access: the datastore's service account may get exactly its hub's KEK Secret.
import { readFileSync } from 'node:fs';
import { CoreV1Api, RbacAuthorizationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { KekAccessStep } from '../../../src/hub/steps/kek-access.js';
import { dekDelivery } from '../../../src/keys/delivery.js';
import { legacyKeyIdentity } from '../../../src/keys/identity.js';
import { kekAccessList, renderKekAccess } from '../../../src/keys/kek-access.js';
import type { HealthDataHub } from '../../../src/api/index.js';
import type { Writer } from '../../../src/runtime/apply.js';
import { AppliedCache } from '../../../src/runtime/apply-cache.js';
import type { ApiClients } from '../../../src/runtime/client.js';
import { OPERATOR_VERSION } from '../../../src/version.js';

const ref = { namespace: 'research', name: 'oncology', uid: '0f8b6a52-3c1d-4e7a-9b2f-5d6e7f8a9b0c' };
const hub = {
  apiVersion: 'hdh.sovereign.eu/v1alpha1',
  kind: 'HealthDataHub',
  metadata: { ...ref },
  spec: { policyName: 'eu-hds', storage: { size: '1Gi', storageClassName: 'x' } },
} as HealthDataHub;

describe('renderKekAccess', () => {
  const access = dekDelivery(hub, { image: 'i', operatorNamespace: 'hdh-system' }).kekAccess!;
  const o = renderKekAccess(ref, access);
  const kek = `hdh.research.oncology.${ref.uid}`;

  it('grants get on exactly the hub KEK Secret, in the operator namespace', () => {
    expect(o.role.metadata).toMatchObject({ name: kek, namespace: 'hdh-system' });
    expect(o.role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: [kek], verbs: ['get'] },
    ]);
  });

  it('binds the hub service account, which mounts no token of its own', () => {
    expect(o.serviceAccount.metadata).toMatchObject({ name: 'oncology-keys', namespace: 'research' });
    expect(o.serviceAccount.automountServiceAccountToken).toBe(false);
    expect(o.roleBinding.metadata).toMatchObject({ name: kek, namespace: 'hdh-system' });
    expect(o.roleBinding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: kek });
    expect(o.roleBinding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'oncology-keys', namespace: 'research' },
    ]);
  });

  it('labels every object as the operator’s, for this hub', () => {
    for (const obj of kekAccessList(o)) {
      expect(obj.metadata?.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'hdh-operator',
        'hdh.sovereign.eu/hub': 'oncology',
      });
    }
    expect(o.role.metadata?.labels?.['hdh.sovereign.eu/hub-namespace']).toBe('research');
    expect(kekAccessList(o).map((x) => x.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
  });
});

describe('KekAccessStep.apply', () => {
  /** The step with an API that records every request: applies by kind, deletes by name. */
  const step = () => {
    const calls: string[] = [];
    const deleted = (kind: string) => (o: { name: string }) => {
      calls.push(`delete ${kind} ${o.name}`);
      return Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
    };
    const rbac = {
      deleteNamespacedRoleBinding: deleted('RoleBinding'),
      deleteNamespacedRole: deleted('Role'),
    };
    const clients = {
      make: (type: unknown) => (type === RbacAuthorizationV1Api ? rbac : type === CoreV1Api ? {} : undefined),
    } as unknown as ApiClients;
    const writer = {
      apply: (obj: KubernetesObject) => {
        calls.push(`apply ${obj.kind}`);
        return Promise.resolve({ ...obj, metadata: { ...obj.metadata, resourceVersion: '1' } });
      },
    } as unknown as Writer;
    const s = new KekAccessStep({
      clients,
      writer,
      applied: new AppliedCache(),
      operatorNamespace: 'hdh-system',
    });
    return { s, calls };
  };
  const legacyName = legacyKeyIdentity(ref).name;
  const applies = ['apply ServiceAccount', 'apply Role', 'apply RoleBinding'];

  it('a KEK of the current scheme: applies the grant and deletes nothing, then writes nothing', async () => {
    const { s, calls } = step();
    const access = dekDelivery(hub, { image: 'i', operatorNamespace: 'hdh-system' }).kekAccess!;
    await s.apply(hub, access);
    await s.apply(hub, access);
    expect(calls).toEqual(applies);
  });

  it("a KEK made before the current scheme: the earlier operator's grant goes once the current one is applied", async () => {
    const { s, calls } = step();
    const access = dekDelivery(hub, {
      image: 'i',
      operatorNamespace: 'hdh-system',
      kek: legacyKeyIdentity(ref),
    }).kekAccess!;
    await s.apply(hub, access);
    await s.apply(hub, access);
    expect(calls).toEqual([...applies, `delete RoleBinding ${legacyName}`, `delete Role ${legacyName}`]);
  });
});

describe('OPERATOR_VERSION', () => {
  it('is the package version (the default image tag)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(OPERATOR_VERSION).toBe(pkg.version);
  });
});
