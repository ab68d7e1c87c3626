// The CRDs against a real kube-apiserver: samples accepted, defaults filled in, bad input
// refused at admission with a message naming the field, kubectl columns and explain.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import {
  ConditionType,
  HEALTH_DATA_HUB,
  Reason,
  SOVEREIGNTY_POLICY,
  setCondition,
  summarizeReady,
  type Condition,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import { installCrds } from '../../../src/api/install-crds.js';
import { desiredPolicyStatus } from '../../../src/policy/status.js';
import { testKubeConfig } from '../../support/cluster.js';
import { kubectl } from '../../support/kubectl.js';
import { eventually } from '../../support/wait.js';

type Manifest = Record<string, unknown> & { metadata: { name: string; [key: string]: unknown } };

const suffix = Date.now().toString(36);
const ns = `it-api-${suffix}`;
const { group, version } = HEALTH_DATA_HUB;

let kc: KubeConfig;
let custom: CustomObjectsApi;
const policiesCreated: string[] = [];

const clone = <T>(value: T): T => structuredClone(value);

const samples = (): Manifest[] =>
  readdirSync('config/samples')
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .sort()
    .map((file) => parse(readFileSync(join('config/samples', file), 'utf8')) as Manifest);

const hub = (name = 'hub'): HealthDataHub => ({
  apiVersion: HEALTH_DATA_HUB.apiVersion,
  kind: HEALTH_DATA_HUB.kind,
  metadata: { name },
  spec: { policyName: 'eu-hds', storage: { size: '20Gi', storageClassName: 'encrypted-eu' } },
});

const transitHub = (name = 'transit'): HealthDataHub => {
  const h = hub(name);
  h.spec.encryption = {
    provider: 'transit',
    transit: {
      address: 'https://openbao.sovereign.example:8200',
      authSecretRef: { name: 'openbao-token', key: 'token' },
    },
  };
  return h;
};

const policy = (name = `it-api-policy-${suffix}`): SovereigntyPolicy => ({
  apiVersion: SOVEREIGNTY_POLICY.apiVersion,
  kind: SOVEREIGNTY_POLICY.kind,
  metadata: { name },
  spec: { regions: ['fr-par', 'de-fra'] },
});

function create(object: Manifest | HealthDataHub | SovereigntyPolicy, dryRun?: 'All'): Promise<Manifest> {
  if (object.kind === SOVEREIGNTY_POLICY.kind) {
    return custom.createClusterCustomObject({
      group,
      version,
      plural: SOVEREIGNTY_POLICY.plural,
      body: object,
      dryRun,
    }) as Promise<Manifest>;
  }
  return custom.createNamespacedCustomObject({
    group,
    version,
    namespace: ns,
    plural: HEALTH_DATA_HUB.plural,
    body: object,
    dryRun,
  }) as Promise<Manifest>;
}

const readHub = (name: string): Promise<HealthDataHub> =>
  custom.getNamespacedCustomObject({
    group,
    version,
    namespace: ns,
    plural: HEALTH_DATA_HUB.plural,
    name,
  }) as Promise<HealthDataHub>;

/** The API error a request ends with; fails the test when the request succeeds. */
async function rejection(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return { code: error.code, message: String((body as { message?: unknown }).message) };
  }
  throw new Error('the API server accepted it');
}

beforeAll(async () => {
  kc = testKubeConfig();
  custom = kc.makeApiClient(CustomObjectsApi);
  // Twice: installing must be idempotent.
  await installCrds(kc, 'crds');
  expect(await installCrds(kc, 'crds')).toEqual([
    `${HEALTH_DATA_HUB.plural}.${group}`,
    `${SOVEREIGNTY_POLICY.plural}.${group}`,
  ]);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  await kc
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name: ns })
    .catch(() => undefined);
  for (const name of policiesCreated) {
    await custom
      .deleteClusterCustomObject({ group, version, plural: SOVEREIGNTY_POLICY.plural, name })
      .catch(() => undefined);
  }
});

describe('the samples', () => {
  it.each(samples().map((s) => [s.kind, s.metadata.name, s] as const))(
    '%s %s is accepted by a server-side dry run and a real create',
    async (kind, name, sample) => {
      const object = clone(sample);
      // Cluster-scoped names are shared by the whole cluster: make this run's own.
      if (kind === SOVEREIGNTY_POLICY.kind) object.metadata.name = `${name}-${suffix}`;
      const dry = await create(object, 'All');
      expect(dry.metadata['uid']).toBeDefined();
      const created = await create(object);
      if (kind === SOVEREIGNTY_POLICY.kind) policiesCreated.push(object.metadata.name);
      expect(created['spec']).toEqual(dry['spec']);
      expect(created['spec']).toMatchObject(sample['spec'] as object);
    },
  );

  it('minimal hub reads back with the schema defaults filled in', async () => {
    const minimal = await readHub('minimal');
    expect(minimal.spec).toEqual({
      policyName: 'eu-hds',
      storage: { size: '1Gi', storageClassName: 'encrypted-eu', retention: 'Retain' },
      placement: { spreadAcrossZones: true },
      datastore: { image: 'docker.io/library/postgres:17', replicas: 1, port: 5432 },
      encryption: { provider: 'builtin', onDelete: 'Keep' },
      suspend: false,
    });
  });

  it('a policy with only regions reads back with the schema defaults filled in', async () => {
    const name = `it-api-defaults-${suffix}`;
    await create(policy(name));
    policiesCreated.push(name);
    const read = (await custom.getClusterCustomObject({
      group,
      version,
      plural: SOVEREIGNTY_POLICY.plural,
      name,
    })) as SovereigntyPolicy;
    expect(read.spec).toEqual({
      regions: ['fr-par', 'de-fra'],
      storage: { requireEncryption: true },
      keyProviders: ['builtin', 'pkcs11', 'transit'],
      enforcement: 'Enforce',
      onViolation: 'Evict',
      remediation: { evictionTimeout: '2m', maxGracePeriodSeconds: 30 },
    });
  });
});

describe('valid input', () => {
  it('accepts a transit hub and defaults its mount', async () => {
    const created = (await create(transitHub('transit-ok'), 'All')) as unknown as HealthDataHub;
    expect(created.spec.encryption?.transit?.mount).toBe('transit');
  });

  it.each([
    ['growing the size', (h: HealthDataHub) => void (h.spec.storage.size = '40Gi')],
    ['writing the same size in other units', (h: HealthDataHub) => void (h.spec.storage.size = '20480Mi')],
    ['changing mutable fields', (h: HealthDataHub) => void (h.spec.datastore = { replicas: 3, port: 6432 })],
    ['suspending', (h: HealthDataHub) => void (h.spec.suspend = true)],
  ])('accepts %s on update', async (_what, mutate) => {
    const current = await readHub('mutable').catch(
      async () => (await create(hub('mutable'))) as unknown as HealthDataHub,
    );
    mutate(current);
    await expect(
      custom.replaceNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: HEALTH_DATA_HUB.plural,
        name: 'mutable',
        body: current,
        dryRun: 'All',
      }),
    ).resolves.toBeDefined();
  });

  it('never stores an inline PIN: strict validation refuses it, otherwise it is pruned', async () => {
    const h = hub('inline-pin');
    h.spec.encryption = {
      provider: 'pkcs11',
      pkcs11: {
        module: '/usr/lib/softhsm/libsofthsm2.so',
        tokenLabel: 't',
        pinSecretRef: { name: 'p', key: 'pin' },
      },
    };
    (h.spec.encryption.pkcs11 as unknown as Record<string, unknown>)['pin'] = '123456';
    const strict = await rejection(
      custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: HEALTH_DATA_HUB.plural,
        body: h,
        dryRun: 'All',
        fieldValidation: 'Strict',
      }),
    );
    expect(strict.message).toContain('unknown field "spec.encryption.pkcs11.pin"');
    const pruned = (await create(h, 'All')) as unknown as HealthDataHub;
    expect(pruned.spec.encryption?.pkcs11).not.toHaveProperty('pin');
  });
});

// Each case: what is wrong, the object kind, how to break a valid object, and the field path the
// API server's message must name.
interface InvalidCase {
  what: string;
  mutate: (object: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
  field: string;
}

const hubCreates: InvalidCase[] = [
  { what: 'missing policyName', mutate: (h) => delete h.spec.policyName, field: 'spec.policyName' },
  {
    what: 'policyName not a DNS name',
    mutate: (h) => (h.spec.policyName = 'EU_HDS'),
    field: 'spec.policyName',
  },
  { what: 'missing storage', mutate: (h) => delete h.spec.storage, field: 'spec.storage' },
  { what: 'missing storage.size', mutate: (h) => delete h.spec.storage.size, field: 'spec.storage.size' },
  { what: 'size not a quantity', mutate: (h) => (h.spec.storage.size = '20GB'), field: 'spec.storage.size' },
  { what: 'negative size', mutate: (h) => (h.spec.storage.size = '-1Gi'), field: 'spec.storage.size' },
  { what: 'size below 1Mi', mutate: (h) => (h.spec.storage.size = '0'), field: 'spec.storage.size' },
  { what: 'size above 64Ti', mutate: (h) => (h.spec.storage.size = '1e20'), field: 'spec.storage.size' },
  {
    what: 'size no quantity holds',
    mutate: (h) => (h.spec.storage.size = '1e9999'),
    field: 'spec.storage.size',
  },
  {
    what: 'missing storageClassName',
    mutate: (h) => delete h.spec.storage.storageClassName,
    field: 'spec.storage.storageClassName',
  },
  {
    what: 'storageClassName not a DNS name',
    mutate: (h) => (h.spec.storage.storageClassName = 'Encrypted_EU'),
    field: 'spec.storage.storageClassName',
  },
  {
    what: 'unknown retention',
    mutate: (h) => (h.spec.storage.retention = 'Forever'),
    field: 'spec.storage.retention',
  },
  {
    what: 'unknown provider',
    mutate: (h) => (h.spec.encryption = { provider: 'kms' }),
    field: 'spec.encryption.provider',
  },
  {
    what: 'unknown onDelete',
    mutate: (h) => (h.spec.encryption = { onDelete: 'Shred' }),
    field: 'spec.encryption.onDelete',
  },
  {
    what: 'rotationInterval in days',
    mutate: (h) => (h.spec.encryption = { rotationInterval: '90d' }),
    field: 'spec.encryption.rotationInterval',
  },
  {
    what: 'rotationInterval below 1h',
    mutate: (h) => (h.spec.encryption = { rotationInterval: '30m' }),
    field: 'spec.encryption.rotationInterval',
  },
  {
    what: 'rotationInterval overflowing a duration',
    mutate: (h) => (h.spec.encryption = { rotationInterval: '99999999999999999999h' }),
    field: 'spec.encryption.rotationInterval',
  },
  {
    what: 'rotationInterval above 87600h',
    mutate: (h) => (h.spec.encryption = { rotationInterval: '87601h' }),
    field: 'spec.encryption.rotationInterval',
  },
  {
    what: 'rotationInterval units out of order',
    mutate: (h) => (h.spec.encryption = { rotationInterval: '30m1h' }),
    field: 'spec.encryption.rotationInterval',
  },
  {
    what: 'transit settings with provider builtin',
    mutate: (h) => (h.spec.encryption.provider = 'builtin'),
    field: 'spec.encryption.transit',
  },
  {
    what: 'provider pkcs11 without pkcs11 settings',
    mutate: (h) => (h.spec.encryption = { provider: 'pkcs11' }),
    field: 'spec.encryption.pkcs11',
  },
  {
    what: 'pkcs11 settings with provider builtin',
    mutate: (h) =>
      (h.spec.encryption = {
        provider: 'builtin',
        pkcs11: { module: '/lib/p11.so', tokenLabel: 't', pinSecretRef: { name: 'p', key: 'k' } },
      }),
    field: 'spec.encryption.pkcs11',
  },
  {
    what: 'provider transit without transit settings',
    mutate: (h) => (h.spec.encryption = { provider: 'transit' }),
    field: 'spec.encryption.transit',
  },
  {
    what: 'transit settings with provider pkcs11',
    mutate: (h) =>
      (h.spec.encryption = {
        provider: 'pkcs11',
        pkcs11: { module: '/lib/p11.so', tokenLabel: 't', pinSecretRef: { name: 'p', key: 'k' } },
        transit: { address: 'https://bao.example', authSecretRef: { name: 'a', key: 'k' } },
      }),
    field: 'spec.encryption.transit',
  },
  {
    what: 'transit address over plain http',
    mutate: (h) => (h.spec.encryption.transit.address = 'http://openbao.sovereign.example:8200'),
    field: 'spec.encryption.transit.address',
  },
  {
    what: 'transit without authSecretRef',
    mutate: (h) => delete h.spec.encryption.transit.authSecretRef,
    field: 'spec.encryption.transit.authSecretRef',
  },
  {
    what: 'transit authSecretRef without key',
    mutate: (h) => delete h.spec.encryption.transit.authSecretRef.key,
    field: 'spec.encryption.transit.authSecretRef.key',
  },
  {
    what: 'pkcs11 module not an absolute path',
    mutate: (h) =>
      (h.spec.encryption = {
        provider: 'pkcs11',
        pkcs11: { module: 'libsofthsm2.so', tokenLabel: 't', pinSecretRef: { name: 'p', key: 'k' } },
      }),
    field: 'spec.encryption.pkcs11.module',
  },
  {
    what: 'pkcs11 token label over 32 characters',
    mutate: (h) =>
      (h.spec.encryption = {
        provider: 'pkcs11',
        pkcs11: { module: '/lib/p11.so', tokenLabel: 'x'.repeat(33), pinSecretRef: { name: 'p', key: 'k' } },
      }),
    field: 'spec.encryption.pkcs11.tokenLabel',
  },
  {
    what: 'pkcs11 without pinSecretRef',
    mutate: (h) =>
      (h.spec.encryption = { provider: 'pkcs11', pkcs11: { module: '/lib/p11.so', tokenLabel: 't' } }),
    field: 'spec.encryption.pkcs11.pinSecretRef',
  },
  {
    what: 'duplicate regions',
    mutate: (h) => (h.spec.placement = { regions: ['fr-par', 'fr-par'] }),
    field: 'spec.placement.regions',
  },
  {
    what: 'empty regions',
    mutate: (h) => (h.spec.placement = { regions: [] }),
    field: 'spec.placement.regions',
  },
  {
    what: 'region not a label value',
    mutate: (h) => (h.spec.placement = { regions: ['fr par'] }),
    field: 'spec.placement.regions[0]',
  },
  {
    what: 'toleration operator In',
    mutate: (h) => (h.spec.placement = { tolerations: [{ key: 'k', operator: 'In', value: 'v' }] }),
    field: 'spec.placement.tolerations[0].operator',
  },
  {
    what: 'unknown toleration effect',
    mutate: (h) => (h.spec.placement = { tolerations: [{ key: 'k', value: 'v', effect: 'NoRun' }] }),
    field: 'spec.placement.tolerations[0].effect',
  },
  {
    what: 'toleration Exists with a value',
    mutate: (h) => (h.spec.placement = { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }),
    field: 'spec.placement.tolerations[0]',
  },
  {
    what: 'toleration without key and operator Equal',
    mutate: (h) => (h.spec.placement = { tolerations: [{ value: 'v' }] }),
    field: 'spec.placement.tolerations[0]',
  },
  {
    what: 'tolerationSeconds without NoExecute',
    mutate: (h) =>
      (h.spec.placement = {
        tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }],
      }),
    field: 'spec.placement.tolerations[0]',
  },
  {
    what: 'zero replicas',
    mutate: (h) => (h.spec.datastore = { replicas: 0 }),
    field: 'spec.datastore.replicas',
  },
  {
    what: 'too many replicas',
    mutate: (h) => (h.spec.datastore = { replicas: 100 }),
    field: 'spec.datastore.replicas',
  },
  { what: 'port 0', mutate: (h) => (h.spec.datastore = { port: 0 }), field: 'spec.datastore.port' },
  {
    what: 'port above 65535',
    mutate: (h) => (h.spec.datastore = { port: 70000 }),
    field: 'spec.datastore.port',
  },
  { what: 'empty image', mutate: (h) => (h.spec.datastore = { image: '' }), field: 'spec.datastore.image' },
  {
    what: 'env with value and valueFrom',
    mutate: (h) =>
      (h.spec.datastore = {
        env: [{ name: 'A', value: 'b', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
      }),
    field: 'spec.datastore.env[0]',
  },
  {
    what: 'duplicate env names',
    mutate: (h) =>
      (h.spec.datastore = {
        env: [
          { name: 'A', value: 'b' },
          { name: 'A', value: 'c' },
        ],
      }),
    field: 'spec.datastore.env[1]',
  },
  {
    what: 'resource request not a quantity',
    mutate: (h) => (h.spec.datastore = { resources: { requests: { cpu: 'lots' } } }),
    field: 'spec.datastore.resources.requests.cpu',
  },
  // What the pod schema would refuse in the StatefulSet the operator renders.
  {
    what: 'toleration key with a 64-character name',
    mutate: (h) =>
      (h.spec.placement = { tolerations: [{ key: `example.com/${'k'.repeat(64)}`, operator: 'Exists' }] }),
    field: 'spec.placement.tolerations[0].key',
  },
  {
    what: 'memory request above its limit',
    mutate: (h) =>
      (h.spec.datastore = { resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } }),
    field: 'spec.datastore.resources.requests',
  },
  {
    what: 'resource name no container can ask for',
    mutate: (h) => (h.spec.datastore = { resources: { limits: { 'a/b/c': '1' } } }),
    field: 'spec.datastore.resources.limits',
  },
  {
    what: 'negative integer quantity',
    mutate: (h) => (h.spec.datastore = { resources: { limits: { cpu: -1 } } }),
    field: 'spec.datastore.resources.limits',
  },
  {
    what: "secretKeyRef key '.'",
    mutate: (h) =>
      (h.spec.datastore = { env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: '.' } } }] }),
    field: 'spec.datastore.env[0].valueFrom.secretKeyRef.key',
  },
  {
    what: 'extended resource requested without an equal limit',
    mutate: (h) => (h.spec.datastore = { resources: { requests: { 'example.com/gpu': '1' } } }),
    field: 'spec.datastore.resources.requests',
  },
  { what: 'suspend not a boolean', mutate: (h) => (h.spec.suspend = 'yes'), field: 'spec.suspend' },
  {
    what: 'hub name not a DNS label',
    mutate: (h) => (h.metadata.name = 'oncology.research'),
    field: 'metadata.name',
  },
  {
    what: 'hub name over 52 characters',
    mutate: (h) => (h.metadata.name = 'h'.repeat(53)),
    field: 'metadata.name',
  },
];

const hubUpdates: InvalidCase[] = [
  { what: 'shrinking size', mutate: (h) => (h.spec.storage.size = '10Gi'), field: 'spec.storage.size' },
  {
    what: 'shrinking size written in other units',
    mutate: (h) => (h.spec.storage.size = '20000Mi'),
    field: 'spec.storage.size',
  },
  { what: 'changing policyName', mutate: (h) => (h.spec.policyName = 'us-any'), field: 'spec.policyName' },
  {
    what: 'changing storageClassName',
    mutate: (h) => (h.spec.storage.storageClassName = 'plain'),
    field: 'spec.storage.storageClassName',
  },
  {
    what: 'changing provider',
    mutate: (h) =>
      (h.spec.encryption = {
        provider: 'transit',
        transit: { address: 'https://bao.example', authSecretRef: { name: 'a', key: 'k' } },
      }),
    field: 'spec.encryption.provider',
  },
];

const policyCreates: InvalidCase[] = [
  { what: 'missing regions', mutate: (p) => delete p.spec.regions, field: 'spec.regions' },
  { what: 'empty regions', mutate: (p) => (p.spec.regions = []), field: 'spec.regions' },
  {
    what: 'duplicate regions',
    mutate: (p) => (p.spec.regions = ['fr-par', 'fr-par']),
    field: 'spec.regions',
  },
  { what: 'unknown enforcement', mutate: (p) => (p.spec.enforcement = 'Strict'), field: 'spec.enforcement' },
  { what: 'unknown onViolation', mutate: (p) => (p.spec.onViolation = 'Delete'), field: 'spec.onViolation' },
  {
    what: 'unknown key provider',
    mutate: (p) => (p.spec.keyProviders = ['aws-kms']),
    field: 'spec.keyProviders[0]',
  },
  {
    what: 'requirement operator Equals',
    mutate: (p) => (p.spec.nodeSelectorRequirements = [{ key: 'k', operator: 'Equals', values: ['v'] }]),
    field: 'spec.nodeSelectorRequirements[0].operator',
  },
  {
    what: 'requirement In without values',
    mutate: (p) => (p.spec.nodeSelectorRequirements = [{ key: 'k', operator: 'In' }]),
    field: 'spec.nodeSelectorRequirements[0]',
  },
  {
    what: 'requirement Exists with values',
    mutate: (p) => (p.spec.nodeSelectorRequirements = [{ key: 'k', operator: 'Exists', values: ['v'] }]),
    field: 'spec.nodeSelectorRequirements[0]',
  },
  {
    what: 'requirement Gt with a non-integer',
    mutate: (p) => (p.spec.nodeSelectorRequirements = [{ key: 'k', operator: 'Gt', values: ['three'] }]),
    field: 'spec.nodeSelectorRequirements[0]',
  },
  {
    what: 'requirement Gt beyond 64 bits',
    mutate: (p) =>
      (p.spec.nodeSelectorRequirements = [{ key: 'k', operator: 'Gt', values: ['99999999999999999999'] }]),
    field: 'spec.nodeSelectorRequirements[0].values',
  },
  {
    what: 'requirement Lt with two values',
    mutate: (p) => (p.spec.nodeSelectorRequirements = [{ key: 'k', operator: 'Lt', values: ['1', '2'] }]),
    field: 'spec.nodeSelectorRequirements[0].values',
  },
  {
    what: 'requirement key name over 63 characters',
    mutate: (p) =>
      (p.spec.nodeSelectorRequirements = [{ key: `example.com/${'n'.repeat(64)}`, operator: 'Exists' }]),
    field: 'spec.nodeSelectorRequirements[0].key',
  },
  {
    what: 'namespaceSelector expression In without values',
    mutate: (p) => (p.spec.namespaceSelector = { matchExpressions: [{ key: 'tier', operator: 'In' }] }),
    field: 'spec.namespaceSelector.matchExpressions[0].values',
  },
  {
    what: 'requirement key not a label key',
    mutate: (p) => (p.spec.nodeSelectorRequirements = [{ key: 'bad key!', operator: 'Exists' }]),
    field: 'spec.nodeSelectorRequirements[0].key',
  },
  {
    what: 'requirement without operator',
    mutate: (p) => (p.spec.nodeSelectorRequirements = [{ key: 'k', values: ['v'] }]),
    field: 'spec.nodeSelectorRequirements[0].operator',
  },
  {
    what: 'storage class not a DNS name',
    mutate: (p) => (p.spec.storage = { allowedStorageClasses: ['Encrypted EU'] }),
    field: 'spec.storage.allowedStorageClasses[0]',
  },
  {
    what: 'unknown toleration effect',
    mutate: (p) => (p.spec.tolerations = [{ key: 'k', value: 'v', effect: 'Sometimes' }]),
    field: 'spec.tolerations[0].effect',
  },
  {
    what: 'toleration key with a 64-character name',
    mutate: (p) => (p.spec.tolerations = [{ key: 'k'.repeat(64), operator: 'Exists' }]),
    field: 'spec.tolerations[0].key',
  },
  {
    what: 'namespaceSelector key with a 64-character name',
    mutate: (p) =>
      (p.spec.namespaceSelector = { matchExpressions: [{ key: 'k'.repeat(64), operator: 'Exists' }] }),
    field: 'spec.namespaceSelector.matchExpressions[0].key',
  },
  {
    what: 'evictionTimeout not a duration',
    mutate: (p) => (p.spec.remediation = { evictionTimeout: '2 minutes' }),
    field: 'spec.remediation.evictionTimeout must be a duration from 0s to 1h',
  },
  {
    what: 'evictionTimeout above 1h',
    mutate: (p) => (p.spec.remediation = { evictionTimeout: '61m' }),
    field: 'spec.remediation.evictionTimeout must be at most 1h',
  },
  {
    what: 'evictionTimeout overflowing a duration',
    mutate: (p) => (p.spec.remediation = { evictionTimeout: '99999999999999999999h' }),
    field: 'spec.remediation.evictionTimeout must be a duration from 0s to 1h',
  },
  {
    what: 'negative evictionTimeout',
    mutate: (p) => (p.spec.remediation = { evictionTimeout: '-1m' }),
    field: 'spec.remediation.evictionTimeout',
  },
  {
    what: 'maxGracePeriodSeconds 0',
    mutate: (p) => (p.spec.remediation = { maxGracePeriodSeconds: 0 }),
    field: 'spec.remediation.maxGracePeriodSeconds',
  },
  {
    what: 'maxGracePeriodSeconds above 3600',
    mutate: (p) => (p.spec.remediation = { maxGracePeriodSeconds: 86_400 }),
    field: 'spec.remediation.maxGracePeriodSeconds',
  },
];

describe('invalid input is refused at admission, naming the field', () => {
  beforeAll(async () => {
    await create(hub('stored'));
  });

  it('covers at least 30 cases', () => {
    expect(hubCreates.length + hubUpdates.length + policyCreates.length + 2).toBeGreaterThanOrEqual(30);
  });

  it.each(hubCreates.map((c) => [c.what, c] as const))('hub create: %s', async (_what, c) => {
    const object = c.field.startsWith('spec.encryption.transit') ? transitHub() : hub();
    c.mutate(object as unknown as Record<string, unknown>);
    const { code, message } = await rejection(create(object, 'All'));
    expect({ code, message }).toEqual({ code: 422, message: expect.stringContaining(c.field) });
  });

  it.each(hubUpdates.map((c) => [c.what, c] as const))('hub update: %s', async (_what, c) => {
    const object = await readHub('stored');
    c.mutate(object as unknown as Record<string, unknown>);
    const { code, message } = await rejection(
      custom.replaceNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: HEALTH_DATA_HUB.plural,
        name: 'stored',
        body: object,
        dryRun: 'All',
      }),
    );
    expect({ code, message }).toEqual({ code: 422, message: expect.stringContaining(c.field) });
  });

  it.each(policyCreates.map((c) => [c.what, c] as const))('policy create: %s', async (_what, c) => {
    const object = policy();
    c.mutate(object as unknown as Record<string, unknown>);
    const { code, message } = await rejection(create(object, 'All'));
    expect({ code, message }).toEqual({ code: 422, message: expect.stringContaining(c.field) });
  });

  it.each([
    [
      'a condition without lastTransitionTime',
      'status.conditions[0].lastTransitionTime',
      { conditions: [{ type: 'Ready', status: 'True', reason: 'AllReady', message: '' }] },
    ],
    [
      'a condition status Maybe',
      'status.conditions[0].status',
      {
        conditions: [
          {
            type: 'Ready',
            status: 'Maybe',
            reason: 'AllReady',
            message: '',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
    ],
  ])('status update: %s', async (_what, field, status) => {
    const object = (await readHub('stored')) as unknown as Record<string, unknown>;
    object['status'] = status;
    const { code, message } = await rejection(
      custom.replaceNamespacedCustomObjectStatus({
        group,
        version,
        namespace: ns,
        plural: HEALTH_DATA_HUB.plural,
        name: 'stored',
        body: object,
        dryRun: 'All',
      }),
    );
    expect({ code, message }).toEqual({ code: 422, message: expect.stringContaining(field) });
  });
});

describe('kubectl', () => {
  it('get hdh prints Ready, Reason, Policy, Compliant, Key and Age', async () => {
    // A status as the operator writes it, through the status subresource.
    const stored = await readHub('oncology');
    const generation = stored.metadata.generation ?? 1;
    const now = new Date();
    let conditions: Condition[] = [];
    for (const [type, reason] of [
      [ConditionType.PlacementCompliant, Reason.Compliant],
      [ConditionType.StorageReady, Reason.ClaimsBound],
      [ConditionType.KeysReady, Reason.KeyAvailable],
      [ConditionType.DatastoreReady, Reason.ReplicasReady],
    ] as const) {
      conditions = setCondition(
        conditions,
        { type, status: 'True', reason, message: 'ok', observedGeneration: generation },
        now,
      );
    }
    conditions = setCondition(conditions, summarizeReady(conditions, generation), now);
    stored.status = {
      observedGeneration: generation,
      conditions,
      encryption: { provider: 'pkcs11', keyRef: `hdh-${stored.metadata.uid}`, activeVersion: 3, versions: 3 },
      datastore: { replicas: 2, readyReplicas: 2 },
    };
    await custom.replaceNamespacedCustomObjectStatus({
      group,
      version,
      namespace: ns,
      plural: HEALTH_DATA_HUB.plural,
      name: 'oncology',
      body: stored,
    });

    const out = await kubectl(['get', 'hdh', '-n', ns]);
    const [header, ...rows] = out.trim().split('\n');
    expect(columns(header!)).toEqual(['NAME', 'READY', 'REASON', 'POLICY', 'COMPLIANT', 'KEY', 'AGE']);
    const oncology = rows.find((row) => row.startsWith('oncology '));
    expect(columns(oncology!).slice(0, 6)).toEqual(['oncology', 'True', 'AllReady', 'eu-hds', 'True', '3']);
  });

  it('get sovpol prints Enforcement, Regions, Eligible Nodes, Hubs and Age', async () => {
    // A status as the operator writes it: the regions as one string (a list column prints as JSON).
    const name = `eu-hds-${suffix}`;
    const stored = (await custom.getClusterCustomObject({
      group,
      version,
      plural: SOVEREIGNTY_POLICY.plural,
      name,
    })) as SovereigntyPolicy;
    stored.status = desiredPolicyStatus(stored, [], 0, new Date());
    await custom.replaceClusterCustomObjectStatus({
      group,
      version,
      plural: SOVEREIGNTY_POLICY.plural,
      name,
      body: stored,
    });
    const out = await kubectl(['get', 'sovpol']);
    const [header, ...rows] = out.trim().split('\n');
    expect(columns(header!)).toEqual(['NAME', 'ENFORCEMENT', 'REGIONS', 'ELIGIBLE NODES', 'HUBS', 'AGE']);
    const sample = rows.find((row) => row.startsWith(`${name} `));
    expect(columns(sample!).slice(0, 5)).toEqual([name, 'Enforce', 'fr-par,eu-west-3,de-fra', '0', '0']);
  });

  it('get sovereign lists hubs through their category', async () => {
    const out = await kubectl(['get', 'sovereign', '-n', ns, '-o', 'name']);
    expect(out).toContain('healthdatahub.hdh.sovereign.eu/oncology');
  });

  it('explain healthdatahub.spec.storage reads like documentation', async () => {
    // The OpenAPI document is published shortly after the CRD is established.
    const out = await eventually('the HealthDataHub OpenAPI schema', async () => {
      const text = await kubectl(['explain', 'healthdatahub.spec.storage']);
      return text.includes('storageClassName') ? text : undefined;
    });
    expect(out).toContain('KIND:       HealthDataHub');
    expect(out).toMatch(/one PersistentVolumeClaim per datastore replica/);
    expect(out).toMatch(/size\s+<string> -required-\s+Requested capacity of each volume/);
    expect(out).toMatch(/retention\s+<string>\s+enum: Retain, Delete\s+What happens to the volumes/);
    expect(out).toContain('Defaults to Retain.');
  });

  it('explain sovereigntypolicy.spec reads like documentation', async () => {
    const out = await eventually('the SovereigntyPolicy OpenAPI schema', async () => {
      const text = await kubectl(['explain', 'sovereigntypolicy.spec']);
      return text.includes('nodeSelectorRequirements') ? text : undefined;
    });
    expect(out).toContain('KIND:       SovereigntyPolicy');
    expect(out).toMatch(/regions\s+<\[\]string> -required-\s+Allowed regions/);
    expect(out).toMatch(/enforcement\s+<string>\s+enum: Enforce, Audit/);
    expect(out).toMatch(/keyProviders\s+<\[\]string>\s+Key providers hubs may choose/);
  });
});

/** Splits a kubectl table line into cells (columns are separated by at least two spaces). */
function columns(line: string): string[] {
  return line.trim().split(/\s{2,}/);
}
