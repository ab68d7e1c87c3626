// Generated hubs and policies, hostile values included, sent through the API server with the
// operator running: whatever the schema admits must get a status (Ready, for its generation, with a
// reason) within 60 s — an object the API server then refuses to realise (a toleration key the
// pod schema refuses, requests above limits, a resource name no container can ask for) must
// become a condition saying so, never a silent retry loop — and whatever the schema refuses must
// be refused naming the field. Counts: HDH_FUZZ_HUBS (default 150) and HDH_FUZZ_POLICIES
// (default 20); HDH_FUZZ_SEED picks another sequence.
import { CoreV1Api, CustomObjectsApi, StorageV1Api } from '@kubernetes/client-node';
import {
  ConditionType,
  getCondition,
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../../src/api/index.js';
import { noProvisionerClass } from '../../../src/devcluster/storage.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteNamespaceAndWait,
  hubCondition,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { deletePolicy, hubEvents } from '../../support/placement.js';
import {
  fuzzHub,
  fuzzPolicy,
  generator,
  hubStatusProblem,
  namesField,
  policyStatusProblem,
  refusalOf,
  type Refusal,
} from '../../support/fuzz.js';
import { eventually } from '../../support/wait.js';

const HUBS = Number(process.env.HDH_FUZZ_HUBS ?? 150);
const POLICIES = Number(process.env.HDH_FUZZ_POLICIES ?? 20);
const SEED = Number(process.env.HDH_FUZZ_SEED ?? 12);
const HUBS_PER_NAMESPACE = 50;
/** Hubs created at once. */
const CREATE_BATCH = 10;
/** How long an admitted object may go without a status. */
const STATUS_WITHIN_MS = 60_000;

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const run = Date.now().toString(36);

describe('generated hubs and policies through the API server', () => {
  let ns: string;
  /** The namespaces the hubs are spread over, ns first: tenants rarely keep hundreds in one. */
  const namespaces: string[] = [];
  let op: OperatorProcess;
  const storageClass = `hdh-fuzz-${run}`;
  const g = generator(SEED);
  const policyNames = Array.from({ length: POLICIES }, (_, i) => `fuzz-${run}-${i}`);

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'adv-fuzz');
    namespaces.push(ns);
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 1; i < Math.ceil(HUBS / HUBS_PER_NAMESPACE); i++) {
      await core.createNamespace({ body: { metadata: { name: `${ns}-${i}` } } });
      namespaces.push(`${ns}-${i}`);
    }
    await kc.makeApiClient(StorageV1Api).createStorageClass({
      body: noProvisionerClass(storageClass, { 'test.hdh.sovereign.eu/fuzz': run }, true),
    });
    op = await startOperatorProcess(
      namespaces.length === 1 ? [`--namespace=${ns}`, '--leader-elect=false'] : ['--leader-elect=false'],
    );
  });

  afterAll(async () => {
    // Hubs go with their namespace while the operator runs (their finalizers need it).
    await Promise.all(namespaces.map((n) => deleteNamespaceAndWait(kc, n)));
    await op?.stop();
    for (const name of policyNames) {
      await deletePolicy(kc, name);
    }
    await kc
      .makeApiClient(StorageV1Api)
      .deleteStorageClass({ name: storageClass })
      .catch(() => undefined);
  });

  it(
    `gives each admitted one of ${HUBS} hubs and ${POLICIES} policies a status within 60 s, and names the field of each refusal`,
    async () => {
      const refusals: { object: string; refusal: Refusal }[] = [];
      const admittedPolicies: string[] = [];
      for (const name of policyNames) {
        const policy = fuzzPolicy(g, name);
        try {
          await custom.createClusterCustomObject({ ...SOVEREIGNTY_POLICY, body: policy });
          admittedPolicies.push(name);
        } catch (e) {
          refusals.push({ object: `SovereigntyPolicy ${name}`, refusal: refusalOf(e) });
        }
      }
      // Hubs name the sample policy, an admitted generated one, or (hostile) one that does not exist.
      const names = admittedPolicies.length ? admittedPolicies : ['eu-hds'];
      // Generated in sequence (one seed, one sequence), sent a batch at a time.
      const generated = Array.from({ length: HUBS }, (_, i) => {
        const name = g.either([() => `h${i}-${g.label(g.int(1, 20))}`], [() => `h${i}-${g.label(52)}`]);
        return fuzzHub(g, name, namespaces[i % namespaces.length]!, names, storageClass);
      });
      const admittedHubs = new Set<string>();
      const started = Date.now();
      for (let i = 0; i < generated.length; i += CREATE_BATCH) {
        await Promise.all(
          generated.slice(i, i + CREATE_BATCH).map(async (hub) => {
            const { name, namespace } = hub.metadata;
            try {
              await custom.createNamespacedCustomObject({
                ...HEALTH_DATA_HUB,
                namespace: namespace!,
                body: hub,
              });
              admittedHubs.add(name!);
            } catch (e) {
              refusals.push({ object: `HealthDataHub ${name}`, refusal: refusalOf(e) });
            }
          }),
        );
      }
      const created = Date.now() - started;

      // Every admitted object: Ready for its current generation, with a reason.
      const unreported = async () => {
        const hubs = (
          (await custom.listClusterCustomObject({ ...HEALTH_DATA_HUB })) as { items: HealthDataHub[] }
        ).items.filter((h) => namespaces.includes(h.metadata.namespace!));
        const policies = (
          (await custom.listClusterCustomObject({ ...SOVEREIGNTY_POLICY })) as { items: SovereigntyPolicy[] }
        ).items;
        // Unknown only for a suspended hub, which says so: every other one gets a verdict.
        const hubsWithout = hubs.filter((h) => hubStatusProblem(h) !== undefined);
        const policiesWithout = policies.filter(
          (p) => admittedPolicies.includes(p.metadata.name!) && policyStatusProblem(p) !== undefined,
        );
        return { hubs, hubsWithout, policiesWithout };
      };
      let last = await unreported();
      await eventually(
        'a status on every admitted hub and policy',
        async () => {
          last = await unreported();
          return last.hubsWithout.length === 0 && last.policiesWithout.length === 0;
        },
        STATUS_WITHIN_MS,
        500,
      ).catch(() => undefined);
      const statusAfter = Date.now() - started;

      const byReason = new Map<string, number>();
      for (const h of last.hubs) {
        const ready = getCondition(h.status?.conditions, ConditionType.Ready);
        const k = `${ready?.status ?? 'none'}/${ready?.reason ?? 'none'}`;
        byReason.set(k, (byReason.get(k) ?? 0) + 1);
      }
      const unnamed = refusals.filter((r) => !namesField(r.refusal));
      console.log(
        [
          `seed ${SEED}: ${admittedHubs.size} of ${HUBS} hubs and ${admittedPolicies.length} of ${POLICIES} policies admitted, ` +
            `created in ${(created / 1000).toFixed(1)} s; status checked after ${(statusAfter / 1000).toFixed(1)} s`,
          `admitted hubs without status: ${last.hubsWithout.length}; admitted policies without status: ${last.policiesWithout.length}`,
          `hub Ready by status/reason: ${[...byReason].map(([k, v]) => `${k} ${v}`).join(', ')}`,
          `refusals not naming a field: ${unnamed.length} of ${refusals.length}`,
          ...last.hubs
            .map((h) => getCondition(h.status?.conditions, ConditionType.Ready))
            .filter((c) => c?.reason === 'ApiServerRefused')
            .slice(0, 3)
            .map((c) => `  refused after admission: ${c!.message.slice(0, 600)}`),
          ...last.hubsWithout
            .slice(0, 5)
            .map((h) => `  no status: hub ${h.metadata.name} ${JSON.stringify(h.spec)}`),
          ...unnamed.slice(0, 5).map((r) => `  unnamed: ${r.object}: ${r.refusal.message.slice(0, 400)}`),
        ].join('\n'),
      );
      // Hostile enough to be refused often, not so hostile that little is admitted.
      expect(admittedHubs.size).toBeGreaterThan(HUBS / 10);
      expect(refusals.length).toBeGreaterThan(0);
      expect(last.hubsWithout.map((h) => h.metadata.name)).toEqual([]);
      expect(last.policiesWithout.map((p) => p.metadata.name)).toEqual([]);
      expect(unnamed.map((r) => `${r.object}: ${r.refusal.message}`)).toEqual([]);
    },
    120_000 + 100 * (HUBS + POLICIES),
  );

  it('reports a datastore the API server refuses, and recovers by itself once it is accepted', async () => {
    // A quota of the platform refuses every StatefulSet of the namespace (403): what no schema
    // can foresee, and the hub's spec cannot fix.
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedResourceQuota({
      namespace: ns,
      body: { metadata: { name: 'no-statefulsets' }, spec: { hard: { 'count/statefulsets.apps': '0' } } },
    });
    const hub = hubManifest('refused', ns);
    hub.spec.storage.storageClassName = storageClass;
    await createHub(kc, hub);
    const refused = await waitForHubCondition(kc, ns, 'refused', 'DatastoreReady', {
      status: 'False',
      reason: 'ApiServerRefused',
    });
    const datastore = hubCondition(refused, 'DatastoreReady')!;
    expect(datastore.message).toContain(`the API server refused StatefulSet ${ns}/refused (403)`);
    expect(datastore.message).toContain('exceeded quota: no-statefulsets');
    expect(datastore.message).toContain('ask the platform team');
    expect(hubCondition(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'ApiServerRefused' });
    expect(hubCondition(refused, 'Stalled')).toMatchObject({ status: 'True', reason: 'ApiServerRefused' });
    await eventually(
      'a Warning Event ApiServerRefused',
      async () =>
        (await hubEvents(kc, ns, 'refused')).some(
          (e) => e.type === 'Warning' && e.reason === 'ApiServerRefused',
        ),
      10_000,
    );
    // Reported, not thrown: the refusal is no reconcile error (those are retried as failures, a
    // defect of the code logged as a panic).
    const failures = op
      .output()
      .split('\n')
      .filter(
        (l) =>
          (l.includes('reconcile failed') || l.includes('observed a panic in reconciler')) &&
          l.includes(`"namespace":"${ns}"`) &&
          l.includes('"name":"refused"'),
      );
    expect(failures).toEqual([]);

    await core.deleteNamespacedResourceQuota({ name: 'no-statefulsets', namespace: ns });
    const recovered = await waitForHubCondition(kc, ns, 'refused', 'DatastoreReady', {
      reason: 'ReplicasNotReady',
    });
    expect(hubCondition(recovered, 'Stalled')).toBeUndefined();
    expect(hubCondition(recovered, 'Ready')?.reason).not.toBe('ApiServerRefused');
  });
});
