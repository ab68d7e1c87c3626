// Admission gaps, tried as those who could open them: a platform team's policy the API server
// cannot enforce, a platform admin removing a namespace's policy label (a tenant cannot: the
// built-in `admin` role has no write on Namespaces), a tenant naming a policy not meant for its
// namespace, and a tenant deleting a hub whose claims stay. Each time, a pod of the tenant naming a
// US node in spec.nodeName must not be admitted.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  ConditionType,
  getCondition,
  SOVEREIGNTY_POLICY,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import { admissionObjectNames, policyNamespaceLabelKey } from '../../../src/placement/admission.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteHubAndWait,
  deleteNamespaceAndWait,
  getHub,
  hubCondition,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { startOperatorProcess } from '../../support/operator.js';
import { tenantAdmin } from '../../support/tenant.js';
import { eventually } from '../../support/wait.js';
import { percentiles, recordWatch } from '../../support/watch.js';

const US_NODE = 'us-east-1a';
const EU_SPEC = {
  regions: ['fr-par', 'eu-west-3', 'de-fra'],
  nodeSelectorRequirements: [
    { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
    { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
  ],
};
const suffix = Date.now().toString(36);

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

async function createPolicy(name: string, spec: object): Promise<void> {
  await custom.createClusterCustomObject({
    ...SOVEREIGNTY_POLICY,
    body: {
      apiVersion: SOVEREIGNTY_POLICY.apiVersion,
      kind: SOVEREIGNTY_POLICY.kind,
      metadata: { name },
      spec,
    },
  });
}

async function getPolicy(name: string): Promise<SovereigntyPolicy> {
  return (await custom.getClusterCustomObject({ ...SOVEREIGNTY_POLICY, name })) as SovereigntyPolicy;
}

async function deletePolicy(name: string): Promise<void> {
  await custom.deleteClusterCustomObject({ ...SOVEREIGNTY_POLICY, name }).catch(() => undefined);
}

function pod(name: string, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'registry.example.eu/app:1' }], ...extra },
  };
}

/** Whether the tenant may create the pod (server-side dry run: admission runs, nothing is stored). */
async function admits(
  tenant: KubeConfig,
  namespace: string,
  body: V1Pod,
): Promise<{ ok: boolean; message: string }> {
  return tenant
    .makeApiClient(CoreV1Api)
    .createNamespacedPod({ namespace, body, dryRun: 'All' })
    .then(
      () => ({ ok: true, message: '' }),
      (e: { code?: number; body?: unknown }) => ({ ok: false, message: `${e.code}: ${String(e.body)}` }),
    );
}

const usPod = (name = 'pinned-us') => pod(name, { nodeName: US_NODE });

/** A pod on a US node mounting the deleted hub's retained claim is refused under its eu-hds policy. */
async function expectRetainedClaimHeldToEuHds(tenant: KubeConfig, namespace: string): Promise<void> {
  const mounting = pod('reads-retained', {
    nodeName: US_NODE,
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-research-0' } }],
  });
  const verdict = await admits(tenant, namespace, mounting);
  expect(verdict.ok).toBe(false);
  expect(verdict.message).toContain('eu-hds');
}

/** The Events about an object, as a list of `reason: note`. */
async function eventsAbout(namespace: string, name: string): Promise<string[]> {
  const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.regarding?.name === name).map((e) => `${e.reason}: ${e.note}`);
}

const labelPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const escapeKey = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

describe('a hub namespace is never left without admission', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('refuses a policy the admission policies cannot express, and fails closed when the API server refuses them', async () => {
    // The reported attack: an int64 overflow in a Gt requirement, accepted by the CRD, refused by
    // the API server as a ValidatingAdmissionPolicy.
    await prepareHubNamespace(kc, 'adv-adm-crd').then((ns) =>
      cleanups.push(() => deleteNamespaceAndWait(kc, ns)),
    );
    const unexpressible: [string, object, string][] = [
      [
        'Gt beyond int64',
        { key: 'example.com/tier', operator: 'Gt', values: ['99999999999999999999'] },
        'values',
      ],
      [
        'Lt below int64',
        { key: 'example.com/tier', operator: 'Lt', values: ['9223372036854775808000'] },
        'values',
      ],
      ['Gt with two values', { key: 'example.com/tier', operator: 'Gt', values: ['1', '2'] }, 'values'],
      ['Lt without values', { key: 'example.com/tier', operator: 'Lt' }, 'values'],
      ['In with no value', { key: 'example.com/tier', operator: 'In', values: [] }, 'values'],
      ['Exists with a value', { key: 'example.com/tier', operator: 'Exists', values: ['x'] }, 'values'],
      ['key name over 63 characters', { key: `example.com/${'n'.repeat(64)}`, operator: 'Exists' }, 'key'],
    ];
    for (const [what, requirement, field] of unexpressible) {
      const name = `adv-unexpressible-${suffix}`;
      const refused = await createPolicy(name, { ...EU_SPEC, nodeSelectorRequirements: [requirement] }).then(
        () => undefined,
        (e: { code?: number; body?: unknown }) => ({ code: e.code, body: String(e.body) }),
      );
      if (!refused) await deletePolicy(name);
      expect({ what, refused: refused?.code }).toEqual({ what, refused: 422 });
      expect(refused!.body).toContain(`spec.nodeSelectorRequirements[0].${field}`);
    }
    // The largest and smallest int64 are expressible, and accepted.
    const edge = `adv-int64-edge-${suffix}`;
    await createPolicy(edge, {
      ...EU_SPEC,
      nodeSelectorRequirements: [
        { key: 'example.com/tier', operator: 'Gt', values: ['9223372036854775807'] },
        { key: 'example.com/rank', operator: 'Lt', values: ['0009223372036854775807'] },
      ],
    });
    await deletePolicy(edge);

    // Any other refusal fails closed. Here the operator runs as an identity that may not update the
    // policy's placement ValidatingAdmissionPolicy, found with stale content (RBAC, as a platform
    // admin might leave it).
    const policy = `adv-refused-${suffix}`;
    const placement = admissionObjectNames(policy).placement;
    await kc.makeApiClient(AdmissionregistrationV1Api).createValidatingAdmissionPolicy({
      body: {
        metadata: { name: placement },
        spec: {
          matchConstraints: {
            resourceRules: [
              { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
            ],
          },
          validations: [{ expression: 'true' }],
        },
      },
    });
    cleanups.push(() => deleteAdmissionObjects(policy));
    await createPolicy(policy, EU_SPEC);
    cleanups.push(() => deletePolicy(policy));
    const ns = await prepareHubNamespace(kc, 'adv-adm-closed');
    cleanups.push(() => deleteNamespaceAndWait(kc, ns));
    const limited = await limitedOperatorKubeConfig(placement);
    cleanups.push(limited.cleanup);
    const op = await startOperatorProcess([
      `--kubeconfig=${limited.path}`,
      `--namespace=${ns}`,
      '--leader-elect=false',
    ]);
    cleanups.push(() => op.stop());
    const tenant = await tenantAdmin(ns);
    await createHub(tenant, hubManifest('research', ns, policy));
    cleanups.push(() => deleteHubAndWait(kc, ns, 'research'));

    const ready = await eventually(
      'policy Ready=False AdmissionFailed',
      async () => {
        const c = getCondition((await getPolicy(policy)).status?.conditions, ConditionType.Ready);
        return c?.reason === 'AdmissionFailed' ? c : undefined;
      },
      30_000,
    );
    expect(ready.status).toBe('False');
    // Stalled too, so kstatus-based tools read the policy as Failed rather than Current (a first
    // attempt the API server did not answer in time reads Reconciling until the refusal comes).
    const stalled = await eventually(
      'policy Stalled=True AdmissionFailed',
      async () => {
        const c = getCondition((await getPolicy(policy)).status?.conditions, ConditionType.Stalled);
        return c?.status === 'True' ? c : undefined;
      },
      30_000,
    );
    expect(stalled.reason).toBe('AdmissionFailed');
    expect(ready.message).toMatch(/forbidden/i); // the API server's own words
    expect(ready.message).toContain(placement);
    expect(ready.message).toContain('fail closed');
    await eventually('AdmissionFailed Event on the policy', async () =>
      (await eventsAbout('default', policy)).some((e) => e.startsWith('AdmissionFailed: ')),
    );
    const hub = await waitForHubCondition(kc, ns, 'research', ConditionType.PlacementCompliant, {
      status: 'False',
      reason: 'AdmissionFailed',
    });
    expect(hubCondition(hub, ConditionType.PlacementCompliant)?.message).toContain(policy);
    // Ready, Reconciling and Stalled follow from the hub controller, woken by that condition.
    await waitForHubCondition(kc, ns, 'research', ConditionType.Stalled, {
      status: 'True',
      reason: 'AdmissionFailed',
    });
    // Fail closed: the namespace is labelled for the policy, and no pod of the tenant is admitted.
    expect((await core.readNamespace({ name: ns })).metadata?.labels?.[policyNamespaceLabelKey(policy)]).toBe(
      'true',
    );
    const refused = await eventually(
      'the US-pinned pod refused',
      async () => {
        const r = await admits(tenant, ns, usPod());
        return r.ok ? undefined : r;
      },
      30_000,
    );
    expect(refused.message).toContain(`SovereigntyPolicy ${policy}`);
    expect((await admits(tenant, ns, pod('compliant', { nodeName: 'eu-fr-par-1' }))).ok).toBe(false);

    // Once the cause is gone (the permission granted, the policy touched to retry at once), the
    // policy's own checks are in force and the fail-closed pair is gone.
    await limited.allow(placement);
    await custom.patchClusterCustomObject(
      {
        ...SOVEREIGNTY_POLICY,
        name: policy,
        body: { metadata: { annotations: { 'example.com/retry': '1' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(
      'compliant pod admitted again',
      async () => (await admits(tenant, ns, pod('compliant', { nodeName: 'eu-fr-par-1' }))).ok,
      30_000,
    );
    expect((await admits(tenant, ns, usPod())).message).toContain('spec.nodeName names node');
    await waitForHubCondition(kc, ns, 'research', ConditionType.PlacementCompliant, { status: 'True' });
    await eventually(
      'policy no longer Stalled',
      async () => !getCondition((await getPolicy(policy)).status?.conditions, ConditionType.Stalled),
      30_000,
    );
    expect(op.output()).not.toMatch(/Unhandled|TypeError/);
  }, 180_000);

  it('restores a policy label removed from a hub namespace within 1 s (median), with an Event', async () => {
    const ns = await prepareHubNamespace(kc, 'adv-label');
    cleanups.push(() => deleteNamespaceAndWait(kc, ns));
    const op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    cleanups.push(() => op.stop());
    const tenant = await tenantAdmin(ns);
    await createHub(tenant, hubManifest('research', ns));
    cleanups.push(() => deleteHubAndWait(kc, ns, 'research'));
    const key = policyNamespaceLabelKey('eu-hds');
    const labelled = async () => (await core.readNamespace({ name: ns })).metadata?.labels?.[key] === 'true';
    await eventually('namespace labelled', labelled, 30_000);
    await eventually('US-pinned pod refused', async () => !(await admits(tenant, ns, usPod())).ok, 30_000);

    // The tenant (namespace admin) cannot remove it: the built-in admin role does not write Namespaces.
    const byTenant = await tenant
      .makeApiClient(CoreV1Api)
      .patchNamespace(
        { name: ns, body: [{ op: 'remove', path: `/metadata/labels/${escapeKey(key)}` }] },
        labelPatch,
      )
      .then(
        () => 'patched',
        (e: { code?: number }) => e.code,
      );
    expect(byTenant).toBe(403);

    // A careless platform admin can (`kubectl label ns <ns> <key>-`): measured over several removals.
    const watch = await recordWatch<{ metadata?: { labels?: Record<string, string> } }>(
      kc,
      '/api/v1/namespaces',
      {
        fieldSelector: `metadata.name=${ns}`,
      },
    );
    cleanups.push(async () => watch.stop());
    const latencies: number[] = [];
    for (let i = 0; i < 7; i++) {
      const since = Date.now();
      await core.patchNamespace(
        { name: ns, body: [{ op: 'remove', path: `/metadata/labels/${escapeKey(key)}` }] },
        labelPatch,
      );
      const removed = await watch.first(since, (o) => o.metadata?.labels?.[key] === undefined);
      const restored = await watch.first(removed.at, (o) => o.metadata?.labels?.[key] === 'true', 15_000);
      latencies.push(restored.at - removed.at);
      await sleep(200);
    }
    const { median } = percentiles(latencies);
    const max = Math.max(...latencies);
    process.stderr.write(
      `[adversary] label restore latency over ${latencies.length} removals: median ${median} ms, max ${max} ms (${latencies.join(', ')})\n`,
    );
    expect(median).toBeLessThanOrEqual(1000);
    // Changed rather than removed: restored too.
    await core.patchNamespace(
      { name: ns, body: [{ op: 'replace', path: `/metadata/labels/${escapeKey(key)}`, value: 'no' }] },
      labelPatch,
    );
    await eventually('changed label restored', labelled, 5_000, 50);
    expect((await admits(tenant, ns, usPod())).ok).toBe(false);
    // The Event says what happened, on the namespace and where the tenant looks (its hub).
    await eventually('NamespaceLabelRestored Events', async () => {
      const onNs = await eventsAbout('default', ns);
      const onHub = await eventsAbout(ns, 'research');
      return (
        onNs.some((e) => e.startsWith('NamespaceLabelRestored: ') && e.includes(key)) &&
        onHub.some((e) => e.startsWith('NamespaceLabelRestored: '))
      );
    });
  }, 180_000);

  it('stalls a hub naming a policy whose namespaceSelector does not select its namespace (PolicyNotAllowed)', async () => {
    const policy = `adv-selective-${suffix}`;
    const tierLabel = 'tier.example.com/sovereign';
    await prepareHubNamespace(kc, 'adv-sel-setup').then((ns) =>
      cleanups.push(() => deleteNamespaceAndWait(kc, ns)),
    );
    await createPolicy(policy, { ...EU_SPEC, namespaceSelector: { matchLabels: { [tierLabel]: 'true' } } });
    cleanups.push(() => deletePolicy(policy));
    expect((await getPolicy(policy)).spec.namespaceSelector).toEqual({
      matchLabels: { [tierLabel]: 'true' },
    });
    const ns = await prepareHubNamespace(kc, 'adv-selector');
    cleanups.push(() => deleteNamespaceAndWait(kc, ns));
    const op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    cleanups.push(() => op.stop());
    const tenant = await tenantAdmin(ns);
    await createHub(tenant, hubManifest('research', ns, policy));
    cleanups.push(() => deleteHubAndWait(kc, ns, 'research'));

    const stalled = await waitForHubCondition(kc, ns, 'research', ConditionType.Stalled, {
      status: 'True',
      reason: 'PolicyNotAllowed',
    });
    const message = hubCondition(stalled, ConditionType.Stalled)!.message;
    expect(message).toContain(policy);
    expect(message).toContain(`${tierLabel}=true`);
    // Nothing of the hub is created meanwhile (no finalizer: no claims, keys or datastore).
    expect(stalled.metadata.finalizers ?? []).toEqual([]);
    // The tenant cannot make its namespace eligible; the platform team can, and the hub goes on.
    const byTenant = await tenant
      .makeApiClient(CoreV1Api)
      .patchNamespace(
        { name: ns, body: [{ op: 'add', path: `/metadata/labels/${escapeKey(tierLabel)}`, value: 'true' }] },
        labelPatch,
      )
      .then(
        () => 'patched',
        (e: { code?: number }) => e.code,
      );
    expect(byTenant).toBe(403);
    await core.patchNamespace(
      { name: ns, body: [{ op: 'add', path: `/metadata/labels/${escapeKey(tierLabel)}`, value: 'true' }] },
      labelPatch,
    );
    await eventually(
      'hub no longer PolicyNotAllowed',
      async () => {
        const hub = await getHub(kc, ns, 'research');
        const c = hubCondition(hub, ConditionType.PlacementCompliant);
        return (
          c &&
          c.reason !== 'PolicyNotAllowed' &&
          hubCondition(hub, ConditionType.Stalled)?.reason !== 'PolicyNotAllowed'
        );
      },
      30_000,
    );
    // And the policy changing its mind is noticed too.
    await custom.patchClusterCustomObject(
      {
        ...SOVEREIGNTY_POLICY,
        name: policy,
        body: { spec: { namespaceSelector: { matchLabels: { [tierLabel]: 'gold' } } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitForHubCondition(
      kc,
      ns,
      'research',
      ConditionType.Stalled,
      { status: 'True', reason: 'PolicyNotAllowed' },
      30_000,
    );
  }, 180_000);

  it('keeps the namespace held to the policy while a claim retained from a deleted hub remains', async () => {
    const ns = await prepareHubNamespace(kc, 'adv-retain');
    cleanups.push(() => deleteNamespaceAndWait(kc, ns));
    const op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    cleanups.push(() => op.stop());
    const tenant = await tenantAdmin(ns);
    const tenantCore = tenant.makeApiClient(CoreV1Api);
    await createHub(tenant, hubManifest('research', ns)); // retention defaults to Retain
    const key = policyNamespaceLabelKey('eu-hds');
    const labelled = async () => (await core.readNamespace({ name: ns })).metadata?.labels?.[key] === 'true';
    await eventually('namespace labelled', labelled, 30_000);
    await deleteHubKeepingItsClaim(tenant, ns);
    const claim = await tenantCore.readNamespacedPersistentVolumeClaim({
      namespace: ns,
      name: 'data-research-0',
    });
    expect(claim.metadata?.labels?.['hdh.sovereign.eu/retained-from']).toBeDefined();
    // Give a wrong removal time to happen, then check: the label stays, the data stays held.
    await sleep(3000);
    expect(await labelled()).toBe(true);
    await expectRetainedClaimHeldToEuHds(tenant, ns);
    // Once the retained data is gone, the namespace is released.
    await tenantCore.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data-research-0' });
    await eventually('namespace released', async () => !(await labelled()), 30_000);
  }, 180_000);

  it('keeps the namespace held to the deleted hub policy whatever the tenant does to the retained claim labels', async () => {
    const ns = await prepareHubNamespace(kc, 'adv-retain-edit');
    cleanups.push(() => deleteNamespaceAndWait(kc, ns));
    // A laxer policy the tenant would rather be held to: any region, no namespace it selects.
    const lax = `adv-lax-${suffix}`;
    await createPolicy(lax, {
      regions: ['us-east-1', 'fr-par'],
      namespaceSelector: { matchLabels: { 'tier.example.com/lax': 'true' } },
    });
    cleanups.push(() => deleteAdmissionObjects(lax));
    cleanups.push(() => deletePolicy(lax));
    const op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    cleanups.push(() => op.stop());
    const tenant = await tenantAdmin(ns);
    const tenantCore = tenant.makeApiClient(CoreV1Api);
    await createHub(tenant, hubManifest('research', ns));
    const key = policyNamespaceLabelKey('eu-hds');
    const labels = async () => (await core.readNamespace({ name: ns })).metadata?.labels ?? {};
    await eventually('namespace labelled', async () => (await labels())[key] === 'true', 30_000);
    await deleteHubKeepingItsClaim(tenant, ns);
    const retainedFrom = escapeKey('hdh.sovereign.eu/retained-from');
    const policyKey = escapeKey('hdh.sovereign.eu/policy');
    const editClaim = (body: object[]) =>
      tenantCore.patchNamespacedPersistentVolumeClaim(
        { namespace: ns, name: 'data-research-0', body },
        labelPatch,
      );

    // The tenant names the laxer policy on its claim: the namespace is not relabelled for it.
    await editClaim([{ op: 'replace', path: `/metadata/labels/${policyKey}`, value: lax }]);
    await sleep(3000);
    expect(await labels()).toMatchObject({ [key]: 'true' });
    expect((await labels())[policyNamespaceLabelKey(lax)]).toBeUndefined();
    // ... then strips the retained mark and recreates the hub under the laxer policy, as if it had
    // adopted the claim: the namespace stays held to the deleted hub's policy all the same.
    await editClaim([
      { op: 'remove', path: `/metadata/labels/${retainedFrom}` },
      { op: 'remove', path: `/metadata/labels/${policyKey}` },
    ]);
    await createHub(tenant, hubManifest('research', ns, lax));
    cleanups.push(() => deleteHubAndWait(kc, ns, 'research'));
    await eventually(
      'successor hub seen',
      async () => (await labels())[policyNamespaceLabelKey(lax)] === 'true',
    );
    await sleep(3000);
    expect((await labels())[key]).toBe('true');
    await expectRetainedClaimHeldToEuHds(tenant, ns);
    // Deleting the claim is what releases it, marked or not.
    await tenantCore.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data-research-0' });
    await eventually('namespace released', async () => (await labels())[key] === undefined, 30_000);
  }, 180_000);
});

/**
 * Gives the hub `research` of `ns` its claim (named for it, as its StatefulSet would make it), then
 * deletes the hub as the tenant: retention defaults to Retain, so the claim is kept.
 */
async function deleteHubKeepingItsClaim(tenant: KubeConfig, ns: string): Promise<void> {
  await eventually(
    'finalizer on the hub',
    async () => !!(await getHub(kc, ns, 'research')).metadata.finalizers?.length,
    30_000,
  );
  await tenant.makeApiClient(CoreV1Api).createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name: 'data-research-0' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'encrypted-eu',
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  await deleteHubAndWait(tenant, ns, 'research');
}

/** Deletes the admission objects of a test policy (the operator keeps them after the policy). */
async function deleteAdmissionObjects(policy: string): Promise<void> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  for (const name of Object.values(admissionObjectNames(policy))) {
    await api.deleteValidatingAdmissionPolicyBinding({ name }).catch(() => undefined);
    await api.deleteValidatingAdmissionPolicy({ name }).catch(() => undefined);
  }
}

/**
 * A kubeconfig for an operator identity with everything it needs except updating (server-side
 * apply to an existing object) the admission object `refused`: what a platform admin's RBAC
 * mistake looks like.
 */
async function limitedOperatorKubeConfig(
  refused: string,
): Promise<{ path: string; allow: (name: string) => Promise<void>; cleanup: () => Promise<void> }> {
  const user = `hdh-limited-operator-${suffix}`;
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const shipped = parseAllDocuments(readFileSync(join('config', 'rbac', 'role.yaml'), 'utf8'))
    .map(
      (d) =>
        d.toJS() as { kind: string; rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] },
    )
    .find((o) => o.kind === 'ClusterRole')!;
  const policies = (await custom.listClusterCustomObject({ ...SOVEREIGNTY_POLICY })) as {
    items: SovereigntyPolicy[];
  };
  const allowed = policies.items
    .flatMap((p) => Object.values(admissionObjectNames(p.metadata.name!)))
    .filter((n) => n !== refused);
  const rules = shipped.rules.flatMap((r) =>
    r.apiGroups.includes('admissionregistration.k8s.io')
      ? [
          { ...r, verbs: ['get', 'list', 'watch', 'create', 'delete'] },
          { ...r, verbs: ['patch', 'update'], resourceNames: allowed },
        ]
      : [r],
  );
  rules.push(
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['*'] },
    // The retained-claim records (Role hdh-operator-retained-claims in the operator's namespace).
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'patch', 'delete'] },
  );
  const name = user;
  await rbac.createClusterRole({ body: { metadata: { name }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
  const base = new KubeConfig();
  base.loadFromFile(testCluster().kubeconfig);
  const limited = new KubeConfig();
  limited.loadFromOptions({
    clusters: base.clusters,
    contexts: base.contexts,
    currentContext: base.currentContext,
    users: base.users.map((u) => ({ ...u, impersonateUser: user })),
  });
  const dir = mkdtempSync(join(tmpdir(), 'hdh-limited-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, limited.exportConfig(), { mode: 0o600 });
  return {
    path,
    allow: async (name: string) => {
      const role = await rbac.readClusterRole({ name: user });
      for (const r of role.rules ?? []) if (r.resourceNames) r.resourceNames.push(name);
      await rbac.replaceClusterRole({ name: user, body: role });
    },
    cleanup: async () => {
      rmSync(dir, { recursive: true, force: true });
      await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
      await rbac.deleteClusterRole({ name }).catch(() => undefined);
    },
  };
}
