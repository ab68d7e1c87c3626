// The operator SIGKILLed at random moments while hubs converge and some rotate their keys. Keys are
// the one thing that can never be re-made: after every kill the stored keys are compared with all
// seen before (only additions allowed), and in the end every hub is Ready with exactly one
// key-encryption key and exactly one new key version per rotation request.
import { setTimeout as sleep } from 'node:timers/promises';
import { ANNOTATION_ROTATE_KEY } from '../../src/api/index.js';
import { rotationToken } from '../../src/keys/dek.js';
import { patchHub } from '../../test/support/hubs.js';
import { seconds, type Experiment } from '../harness/experiment.js';
import { createHubs, fleetHubs, prepareFleet, waitReady, type HubId } from '../harness/fleet.js';
import { KeyLedger, lookAtKeys } from '../harness/keys.js';

const SIZES = {
  small: { hubs: 20, kills: 5, rotations: 2 },
  full: { hubs: 200, kills: 50, rotations: 20 },
};
/** A kill comes at a uniformly random moment this long after the operator serves /healthz. */
const MAX_LIFETIME_MS = 5_000;

export const operatorKills: Experiment = {
  name: 'operator-kills',
  title: 'Operator SIGKILLed at random moments while hubs converge and rotate',
  proves:
    'no key version is ever changed or lost, no hub gets a second key-encryption key, each rotation request makes exactly one new version, and every hub ends Ready',
  async run({ scale, cluster, operators, log, figure, check }) {
    const size = SIZES[scale];
    const kc = cluster.kc;
    const fleet = await prepareFleet(kc, size.hubs);
    const ledger = new KeyLedger();
    const look = async () => {
      for (const v of ledger.record(await lookAtKeys(kc, fleet.namespaces))) check(false, v);
    };
    /** Rotation requests by hub UID: the annotation value asked for. */
    const rotations = new Map<string, { id: HubId; value: string }>();
    const rotate = async () => {
      // A hub with its first version stored: its rotation is a request for exactly one more.
      const hubs = await fleetHubs(kc, fleet);
      const candidates = hubs.filter(
        (h) => !rotations.has(h.metadata.uid!) && ledger.versionCount(h.metadata.uid!) === 1,
      );
      const hub = candidates[Math.floor(Math.random() * candidates.length)];
      if (!hub) return;
      const id = { namespace: hub.metadata.namespace!, name: hub.metadata.name! };
      const value = `chaos-${rotations.size + 1}`;
      await patchHub(kc, id.namespace, id.name, {
        metadata: { annotations: { [ANNOTATION_ROTATE_KEY]: value } },
      });
      rotations.set(hub.metadata.uid!, { id, value });
    };

    // The hubs arrive while the operator is being killed: creation, first keys and rotations all
    // race the kills.
    const t0 = Date.now();
    const creating = createHubs(kc, fleet, fleet.hubs, 4);
    creating.catch(() => undefined); // awaited after the kills; a failure is reported there
    let lifetimes = 0;
    for (let kill = 1; kill <= size.kills; kill++) {
      const op = await operators.start({ args: ['--leader-elect=false'] });
      // Rotations are spread over the kills: each lands at a random moment of a run.
      const due = Math.ceil((kill * size.rotations) / size.kills) - rotations.size;
      const life = Math.floor(Math.random() * MAX_LIFETIME_MS);
      lifetimes += life;
      await Promise.all([
        sleep(life),
        (async () => {
          for (let i = 0; i < due; i++) {
            await sleep(Math.floor((Math.random() * life) / Math.max(due, 1)));
            await rotate();
          }
        })(),
      ]);
      await op.kill();
      await look();
      if (kill % 10 === 0 || kill === size.kills) log(`${kill} kills, ${rotations.size} rotations requested`);
    }
    const lastKill = Date.now();
    await creating;
    // Rotations the kills left unasked (hubs without keys yet) are asked of the last operator.
    await operators.start({ args: ['--leader-elect=false'] });
    for (let tries = 0; rotations.size < size.rotations && tries < 600; tries++) {
      await look();
      await rotate();
      if (rotations.size < size.rotations) await sleep(200);
    }
    await waitReady(kc, fleet, scale === 'full' ? 900_000 : 240_000);
    const readyMs = Date.now() - lastKill;
    // Ready follows KeysReady of the current generation; the keys of a rotation are then stored.
    await look();
    const look2 = await lookAtKeys(kc, fleet.namespaces);
    let versions = 0;
    for (const hub of await fleetHubs(kc, fleet)) {
      const uid = hub.metadata.uid!;
      const where = `${hub.metadata.namespace}/${hub.metadata.name}`;
      const stored = look2.keys.get(uid);
      const keks = look2.keks.get(uid) ?? [];
      const asked = rotations.get(uid);
      const expected = asked ? 2 : 1;
      versions += stored?.versions.size ?? 0;
      check(keks.length === 1, `${where}: ${keks.length} key-encryption keys, expected exactly 1`);
      check(
        stored?.versions.size === expected,
        `${where}: ${stored?.versions.size ?? 0} key versions, expected ${expected} (${asked ? `rotation ${asked.value} requested` : 'never rotated'})`,
      );
      check(
        stored?.activeVersion === expected,
        `${where}: active version ${stored?.activeVersion}, expected ${expected}`,
      );
      if (asked) {
        check(
          stored?.honoured === rotationToken(asked.value),
          `${where}: rotation ${asked.value} not recorded as the last one honoured`,
        );
      }
    }
    check(rotations.size === size.rotations, `${rotations.size} rotations requested of ${size.rotations}`);
    figure('hubs', size.hubs);
    figure('kills', size.kills);
    figure('operator processes', operators.all.length);
    figure('mean lifetime before a kill (s)', seconds(lifetimes / size.kills));
    figure('rotations requested', rotations.size);
    figure('key versions stored', versions);
    figure('key checks (looks at every Secret)', ledger.looks);
    figure('max key-encryption keys per hub seen', ledger.maxKeksPerHub);
    figure('violations', ledger.violations.length);
    figure('kill phase (s)', seconds(lastKill - t0));
    figure('all Ready after the last kill (s)', seconds(readyMs));
  },
};
