// Hubs deleted without a confirmation while the operator is SIGKILLed twice in the middle of their
// deletion: the data and the keys outlive the hubs. Every claim stays (same UID, marked retained
// from its hub, still bound), every key version and key-encryption key stays as it was, and every
// hub is gone in the end.
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEALTH_DATA_HUB, LABEL_RETAINED_FROM } from '../../src/api/index.js';
import { historyConfigMapName, parseHistory } from '../../src/api/history.js';
import { claimName } from '../../src/storage/claims.js';
import { seconds, type Experiment } from '../harness/experiment.js';
import { createHubs, fleetHubs, OPERATOR_NAMESPACE, prepareFleet, waitReady } from '../harness/fleet.js';
import { KeyLedger, lookAtKeys } from '../harness/keys.js';

const HUBS = 10;
const KILLS = 2;
/** The first kill comes at a uniformly random moment this long after the first deletion… */
const FIRST_KILL_WITHIN_MS = 800;
/** …the next ones this long after the restarted operator serves /healthz. */
const MAX_LIFETIME_MS = 1_500;

export const unconfirmedDeletion: Experiment = {
  name: 'unconfirmed-deletion',
  title: `${HUBS} hubs deleted without confirmation while the operator is SIGKILLed ${KILLS} times`,
  proves:
    'a deletion without confirmation keeps every claim and every key whatever crashes interrupt it, and still removes every hub',
  async run({ cluster, operators, figure, check }) {
    const kc = cluster.kc;
    const core = kc.makeApiClient(CoreV1Api);
    const fleet = await prepareFleet(kc, HUBS);
    await createHubs(kc, fleet, fleet.hubs);
    let op = await operators.start({ args: ['--leader-elect=false'] });
    await waitReady(kc, fleet, 180_000);

    const hubs = await fleetHubs(kc, fleet);
    const claims = new Map<string, { name: string; namespace: string; uid: string; volume: string }>();
    for (const h of hubs) {
      const name = claimName(h.metadata.name!, 0);
      const c = await core.readNamespacedPersistentVolumeClaim({ name, namespace: h.metadata.namespace! });
      claims.set(h.metadata.uid!, {
        name,
        namespace: h.metadata.namespace!,
        uid: c.metadata!.uid!,
        volume: c.spec!.volumeName!,
      });
    }
    const ledger = new KeyLedger();
    ledger.record(await lookAtKeys(kc, fleet.namespaces));
    check(ledger.violations.length === 0, 'the keys were inconsistent before the deletion');

    const custom = kc.makeApiClient(CustomObjectsApi);
    const t0 = Date.now();
    for (const h of hubs) {
      await custom.deleteNamespacedCustomObject({
        ...HEALTH_DATA_HUB,
        namespace: h.metadata.namespace!,
        name: h.metadata.name!,
      });
    }
    // The first kill at a random moment of the deletions' processing, the second at a random
    // moment of the restarted operator's first seconds.
    const lives: number[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      const life = Math.floor(Math.random() * (kill === 1 ? FIRST_KILL_WITHIN_MS : MAX_LIFETIME_MS));
      lives.push(life);
      await sleep(kill === 1 ? Math.max(0, t0 + life - Date.now()) : life);
      const left = (await fleetHubs(kc, fleet)).length;
      await op.kill();
      figure(`hubs left at kill ${kill}`, left);
      op = await operators.start({ args: ['--leader-elect=false'] });
    }
    for (;;) {
      if ((await fleetHubs(kc, fleet)).length === 0) break;
      if (Date.now() - t0 > 120_000) throw new Error('hubs still there 120 s after their deletion');
      await sleep(200);
    }
    const goneMs = Date.now() - t0;

    for (const v of ledger.record(await lookAtKeys(kc, fleet.namespaces))) check(false, v);
    const keys = await lookAtKeys(kc, fleet.namespaces);
    let claimsKept = 0;
    let keysKept = 0;
    for (const h of hubs) {
      const uid = h.metadata.uid!;
      const where = `${h.metadata.namespace}/${h.metadata.name}`;
      const want = claims.get(uid)!;
      const c = await core
        .readNamespacedPersistentVolumeClaim({ name: want.name, namespace: want.namespace })
        .catch(() => undefined);
      const kept =
        check(!!c, `${where}: claim ${want.name} is gone`) &&
        check(c!.metadata?.uid === want.uid, `${where}: claim ${want.name} was replaced`) &&
        check(!c!.metadata?.deletionTimestamp, `${where}: claim ${want.name} is being deleted`) &&
        check(
          c!.metadata?.labels?.[LABEL_RETAINED_FROM] === uid,
          `${where}: claim ${want.name} not labelled ${LABEL_RETAINED_FROM}=${uid}`,
        ) &&
        check(
          c!.spec?.volumeName === want.volume && c!.status?.phase === 'Bound',
          `${where}: claim ${want.name} no longer bound to ${want.volume}`,
        );
      if (kept) claimsKept++;
      const stored = keys.keys.get(uid);
      const dekKept =
        check(!!stored, `${where}: wrapped keys gone`) &&
        check(stored!.retainedFrom === uid, `${where}: keys not labelled ${LABEL_RETAINED_FROM}=${uid}`);
      const kekKept = check(
        (keys.keks.get(uid) ?? []).length === 1,
        `${where}: ${(keys.keks.get(uid) ?? []).length} key-encryption keys, expected the 1 it had`,
      );
      if (dekKept && kekKept) keysKept++;
    }
    // The durable record of the retention (figure only: Events expire, this does not).
    let recorded = 0;
    for (const ns of fleet.namespaces) {
      const cm = await core
        .readNamespacedConfigMap({ name: historyConfigMapName(ns), namespace: OPERATOR_NAMESPACE })
        .catch(() => undefined);
      recorded += parseHistory(cm).filter((e) => e.type === 'KeysRetained').length;
    }

    figure('hubs', HUBS);
    figure('kills', KILLS);
    figure('kill moments after the deletion, then after the restart (ms)', lives);
    figure('all hubs gone after (s)', seconds(goneMs));
    figure('claims kept', claimsKept);
    figure('keys kept (wrapped keys and key-encryption key)', keysKept);
    figure('KeysRetained entries in the history', recorded);
    figure('key violations', ledger.violations.length);
  },
};
