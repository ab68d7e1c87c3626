// Generated hubs and policies (random types, sizes, unicode, boundaries; the generator of the
// status-fuzz e2e test) sent through the API server to a running operator. Every refusal must name
// the field; every admitted object must get a Ready condition (True, or False with a reason) for
// its generation within 60 s of its creation; the operator must neither crash nor log an unhandled
// rejection (the shared checks of every experiment).
import { CoreV1Api, CustomObjectsApi, StorageV1Api } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConditionType,
  getCondition,
  HEALTH_DATA_HUB,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../src/api/index.js';
import { noProvisionerClass } from '../../src/devcluster/storage.js';
import { prepareHubNamespace } from '../../test/support/hubs.js';
import {
  fuzzHub,
  fuzzPolicy,
  generator,
  hubStatusProblem,
  namesField,
  policyStatusProblem,
  refusalOf,
  type Refusal,
} from '../../test/support/fuzz.js';
import { seconds, type Experiment } from '../harness/experiment.js';
import { inPool } from '../harness/fleet.js';
import { FirstSeen, percentile } from '../harness/first-seen.js';

const SIZES = { small: { hubs: 500, policies: 50 }, full: { hubs: 10_000, policies: 1_000 } };
const SEED = Number(process.env.HDH_FUZZ_SEED ?? 16);
const HUBS_PER_NAMESPACE = 50;
/** Creations in flight at once. */
const CONCURRENCY = 10;
/** How long an admitted object may go without a status. */
const STATUS_WITHIN_MS = 60_000;

export const generatedObjects: Experiment = {
  name: 'generated-objects',
  title: 'Generated hubs and policies, hostile values included, through the API server',
  proves:
    'every refusal names the field, every admitted object gets a Ready condition with a reason within 60 s, and the operator never crashes',
  async run({ scale, cluster, operators, log, figure, check }) {
    const size = SIZES[scale];
    const kc = cluster.kc;
    const custom = kc.makeApiClient(CustomObjectsApi);
    const first = await prepareHubNamespace(kc, 'fuzz');
    const namespaces = [first];
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 1; i < Math.ceil(size.hubs / HUBS_PER_NAMESPACE); i++) {
      await core.createNamespace({ body: { metadata: { name: `${first}-${i}` } } });
      namespaces.push(`${first}-${i}`);
    }
    const storageClass = 'fuzz-encrypted';
    await kc
      .makeApiClient(StorageV1Api)
      .createStorageClass({ body: noProvisionerClass(storageClass, {}, true) });
    await operators.start({ args: ['--leader-elect=false'] });

    const hubsOk = await FirstSeen.watch<HealthDataHub>(
      kc,
      `/apis/${HEALTH_DATA_HUB.group}/${HEALTH_DATA_HUB.version}/${HEALTH_DATA_HUB.plural}`,
      (h) => hubStatusProblem(h) === undefined,
    );
    const policiesOk = await FirstSeen.watch<SovereigntyPolicy>(
      kc,
      `/apis/${SOVEREIGNTY_POLICY.group}/${SOVEREIGNTY_POLICY.version}/${SOVEREIGNTY_POLICY.plural}`,
      (p) => policyStatusProblem(p) === undefined,
    );
    /** UID → when its creation was answered, for every admitted object. */
    const created = new Map<string, { at: number; what: string }>();
    const refusals: { object: string; refusal: Refusal }[] = [];
    const g = generator(SEED);
    const t0 = Date.now();
    try {
      const policies = Array.from({ length: size.policies }, (_, i) => fuzzPolicy(g, `fuzz-${i}`));
      const admittedPolicies: string[] = [];
      await inPool(policies, CONCURRENCY, async (p) => {
        try {
          const made = (await custom.createClusterCustomObject({
            ...SOVEREIGNTY_POLICY,
            body: p,
          })) as SovereigntyPolicy;
          created.set(made.metadata.uid!, { at: Date.now(), what: `SovereigntyPolicy ${p.metadata.name}` });
          admittedPolicies.push(p.metadata.name!);
        } catch (e) {
          refusals.push({ object: `SovereigntyPolicy ${p.metadata.name}`, refusal: refusalOf(e) });
        }
      });
      const names = admittedPolicies.length ? admittedPolicies : ['eu-hds'];
      const hubs = Array.from({ length: size.hubs }, (_, i) => {
        const name = g.either([() => `h${i}-${g.label(g.int(1, 20))}`], [() => `h${i}-${g.label(52)}`]);
        return fuzzHub(g, name, namespaces[i % namespaces.length]!, names, storageClass);
      });
      let sent = 0;
      await inPool(hubs, CONCURRENCY, async (hub) => {
        const what = `HealthDataHub ${hub.metadata.namespace}/${hub.metadata.name}`;
        try {
          const made = (await custom.createNamespacedCustomObject({
            ...HEALTH_DATA_HUB,
            namespace: hub.metadata.namespace!,
            body: hub,
          })) as HealthDataHub;
          created.set(made.metadata.uid!, { at: Date.now(), what });
        } catch (e) {
          refusals.push({ object: what, refusal: refusalOf(e) });
        }
        if (++sent % 1000 === 0) log(`${sent} hubs sent, ${created.size} objects admitted`);
      });
      const createdMs = Date.now() - t0;

      // Every admitted object's deadline has passed once the last one's has.
      const lastCreated = Math.max(...[...created.values()].map((c) => c.at));
      while (Date.now() < lastCreated + STATUS_WITHIN_MS) {
        const waiting = [...created.keys()].filter((uid) => !hubsOk.at.has(uid) && !policiesOk.at.has(uid));
        if (waiting.length === 0) break;
        await sleep(1000);
      }
      const latencies: number[] = [];
      const late: string[] = [];
      const without: string[] = [];
      for (const [uid, c] of created) {
        const ok = hubsOk.at.get(uid) ?? policiesOk.at.get(uid);
        if (ok === undefined) without.push(c.what);
        else {
          latencies.push(Math.max(0, ok - c.at));
          if (ok - c.at > STATUS_WITHIN_MS) late.push(`${c.what} (${seconds(ok - c.at)} s)`);
        }
      }
      const unnamed = refusals.filter((r) => !namesField(r.refusal));
      const admittedHubs = created.size - admittedPolicies.length;
      check(
        admittedHubs > size.hubs / 10,
        `only ${admittedHubs} of ${size.hubs} hubs admitted: too hostile to test`,
      );
      check(refusals.length > 0, 'nothing refused: not hostile enough to test');
      check(
        unnamed.length === 0,
        `${unnamed.length} refusals name no field:\n${unnamed
          .slice(0, 5)
          .map((r) => `${r.object}: ${r.refusal.message.slice(0, 300)}`)
          .join('\n')}`,
      );
      check(
        without.length === 0,
        `${without.length} admitted objects without a status: ${without.slice(0, 5).join(', ')}`,
      );
      check(
        late.length === 0,
        `${late.length} admitted objects got their status after 60 s: ${late.slice(0, 5).join(', ')}`,
      );

      const byReason = new Map<string, number>();
      const hubList = (await custom.listClusterCustomObject({ ...HEALTH_DATA_HUB })) as {
        items: HealthDataHub[];
      };
      for (const h of hubList.items) {
        const ready = getCondition(h.status?.conditions, ConditionType.Ready);
        const k = `${ready?.status ?? 'none'}/${ready?.reason ?? 'none'}`;
        byReason.set(k, (byReason.get(k) ?? 0) + 1);
      }
      figure('seed', SEED);
      figure('hubs admitted', `${admittedHubs} of ${size.hubs}`);
      figure('policies admitted', `${admittedPolicies.length} of ${size.policies}`);
      figure('refusals', refusals.length);
      figure('refusals naming no field', unnamed.length);
      figure('sent in (s)', seconds(createdMs));
      figure('status latency median (s)', seconds(percentile(latencies, 0.5)));
      figure('status latency p95 (s)', seconds(percentile(latencies, 0.95)));
      figure('status latency max (s)', seconds(percentile(latencies, 1)));
      figure('admitted objects without status / late', `${without.length} / ${late.length}`);
      figure(
        'hub Ready by status/reason',
        [...byReason]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      );
    } finally {
      hubsOk.stop();
      policiesOk.stop();
    }
  },
};
