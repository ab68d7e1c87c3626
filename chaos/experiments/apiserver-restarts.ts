// The API server SIGKILLed and restarted several times, etcd once, under a running operator. The
// cluster's supervisor brings each back (the experiment does it itself, and says so, if the
// supervisor has not in time). The operator must never exit, its /readyz must recover, and a change
// made right after each restart must be acted on within seconds: a node under a hub's pod leaving
// the policy's regions (reported, as the policy only reports), and a new hub.
import { patchPolicy } from '../../test/support/placement.js';
import { newHubReconciled, violationSeen } from '../harness/changes.js';
import type { Component } from '../harness/cluster.js';
import { seconds, type Experiment } from '../harness/experiment.js';
import { createHubs, prepareFleet, waitReady } from '../harness/fleet.js';

const SIZES: Record<'small' | 'full', { hubs: number; faults: Component[] }> = {
  small: { hubs: 3, faults: ['kube-apiserver', 'etcd', 'kube-apiserver'] },
  full: {
    hubs: 6,
    faults: [
      'kube-apiserver',
      'kube-apiserver',
      'etcd',
      'kube-apiserver',
      'kube-apiserver',
      'kube-apiserver',
    ],
  },
};
/** How long the supervisor gets to restart a component (its backoff reaches 16 s by the 5th). */
const SUPERVISOR_WITHIN_MS = 45_000;
/** "Within seconds": a change after a restart acted on within this. */
const RECONCILED_WITHIN_MS = 30_000;

export const apiserverRestarts: Experiment = {
  name: 'apiserver-restarts',
  title: 'API server SIGKILLed and restarted (5 times at full scale), etcd once, under a running operator',
  proves:
    'the operator rides out control-plane restarts without exiting, its /readyz recovers, and changes made right after each restart are acted on within seconds',
  async run({ scale, cluster, operators, log, figure, check }) {
    const size = SIZES[scale];
    const kc = cluster.kc;
    const fleet = await prepareFleet(kc, size.hubs + size.faults.length);
    const hubs = fleet.hubs.slice(0, size.hubs);
    const added = fleet.hubs.slice(size.hubs);
    // Relabelled nodes are reported, not evicted from: the pods stay where the test can find them.
    await patchPolicy(kc, 'eu-hds', { onViolation: 'Report' });
    await createHubs(kc, fleet, hubs);
    const op = await operators.start({ args: ['--leader-elect=false'] });
    await waitReady(kc, fleet, 180_000, hubs);

    const rounds: Record<string, number[]> = {
      'back (s)': [],
      'API server ready (s)': [],
      'operator /readyz (s)': [],
      'violation reported (s)': [],
      'compliant again (s)': [],
      'new hub reconciled (s)': [],
    };
    const by: string[] = [];
    for (const [i, component] of size.faults.entries()) {
      const t0 = Date.now();
      const pid = cluster.signal(component, 'SIGKILL');
      const restart = await cluster.restarted(component, pid, t0, SUPERVISOR_WITHIN_MS);
      by.push(restart.by);
      await cluster.ready(120_000);
      const apiReady = Date.now() - t0;
      const [violation, created, readyz] = await Promise.all([
        violationSeen(kc, hubs[i % hubs.length]!),
        newHubReconciled(kc, fleet, added[i]!),
        op.readyWithin(60_000).then((ok) => (ok ? Date.now() - t0 - apiReady : undefined)),
      ]);
      check(op.running, `the operator exited after the restart of ${component} (round ${i + 1})`);
      check(
        readyz !== undefined,
        `operator /readyz not back 60 s after ${component} restarted (round ${i + 1})`,
      );
      check(
        violation.reported <= RECONCILED_WITHIN_MS && created <= RECONCILED_WITHIN_MS,
        `round ${i + 1} (${component}): changes acted on after ${seconds(violation.reported)} s (violation) and ` +
          `${seconds(created)} s (new hub), limit ${seconds(RECONCILED_WITHIN_MS)} s`,
      );
      rounds['back (s)']!.push(seconds(restart.afterMs));
      rounds['API server ready (s)']!.push(seconds(apiReady));
      rounds['operator /readyz (s)']!.push(readyz === undefined ? -1 : seconds(readyz));
      rounds['violation reported (s)']!.push(seconds(violation.reported));
      rounds['compliant again (s)']!.push(seconds(violation.resolved));
      rounds['new hub reconciled (s)']!.push(seconds(created));
      log(
        `round ${i + 1}: ${component} back in ${seconds(restart.afterMs)} s (${restart.by}), ` +
          `violation reported in ${seconds(violation.reported)} s, new hub in ${seconds(created)} s`,
      );
    }
    await waitReady(kc, fleet, 180_000);

    figure('hubs', size.hubs);
    figure('faults', size.faults.join(', '));
    figure('restarted by', by.join(', '));
    for (const [k, v] of Object.entries(rounds)) figure(`per round: ${k}`, v);
    figure('operator restarts', operators.all.length - 1);
  },
};
