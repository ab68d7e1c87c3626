// Watches cut without a word: the API server frozen (SIGSTOP) for longer than the informers'
// staleness timer, so every open watch goes silent and is cut by the operator itself, then thawed
// (SIGCONT). The operator must not exit, every watch must be established again within seconds (its
// /readyz says so), and changes made once the server answers again must be reconciled within
// seconds: a new hub, a changed hub, a node that starts satisfying the policy.
import { setTimeout as sleep } from 'node:timers/promises';
import { seconds, type Experiment } from '../harness/experiment.js';
import { newHubReconciled, nodeCertificationSeen, specChangeReconciled } from '../harness/changes.js';
import { createHubs, prepareFleet, waitReady } from '../harness/fleet.js';

/**
 * The informer's staleness timer (src/runtime/informer.ts) cuts a watch silent for its server-side
 * timeout plus 30 s, the timeout drawn in [w, 2w): at most 2w + 30 s. Small scale shortens w to 3 s
 * through the `run` module (no flag sets it), and the time a failing watch takes to make /readyz
 * fail to 3 s (60 s by default, longer than the pause), so that /readyz says when every watch is
 * back; full scale runs the command line with its defaults, and so pauses the API server for over
 * ten minutes.
 */
const SIZES: Record<
  'small' | 'full',
  { hubs: number; informer?: { watchTimeoutSeconds: number; unhealthyAfterMs: number } }
> = {
  small: { hubs: 5, informer: { watchTimeoutSeconds: 3, unhealthyAfterMs: 3_000 } },
  full: { hubs: 20 },
};
const DEFAULT_WATCH_TIMEOUT_S = 300;
/** Past the longest staleness timer by this much. */
const MARGIN_MS = 5_000;
/** "Within seconds": a change after the thaw reconciled within this. */
const RECONCILED_WITHIN_MS = 30_000;

interface LogLine {
  msg?: string;
  resource?: string;
  error?: string;
  informers?: string[];
}

function logLines(text: string): LogLine[] {
  return text.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as LogLine];
    } catch {
      return [];
    }
  });
}

export const watchCut: Experiment = {
  name: 'watch-cut',
  title: "API server paused (SIGSTOP) for longer than the informers' staleness timer, then resumed",
  proves:
    'silent watches are cut and re-established by the operator itself, which never exits: every watch is back and changes made after the resumption are reconciled within seconds',
  async run({ scale, cluster, operators, log, figure, check }) {
    const size = SIZES[scale];
    const kc = cluster.kc;
    const fleet = await prepareFleet(kc, size.hubs + 1);
    const [added, ...hubs] = [fleet.hubs[size.hubs]!, ...fleet.hubs.slice(0, size.hubs)];
    await createHubs(kc, fleet, hubs);
    const op = await operators.start(
      size.informer ? { informer: size.informer } : { args: ['--leader-elect=false'] },
    );
    await waitReady(kc, fleet, 180_000, hubs);
    const informers = logLines(op.output()).find((l) => l.msg === 'caches synced')?.informers ?? [];
    const w = size.informer?.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_S;
    const pauseMs = (2 * w + 30) * 1000 + MARGIN_MS;

    const mark = op.output().length;
    const stoppedAt = Date.now();
    cluster.signal('kube-apiserver', 'SIGSTOP');
    log(`kube-apiserver paused for ${seconds(pauseMs)} s`);
    let unreadyAfter: number | undefined;
    while (Date.now() - stoppedAt < pauseMs) {
      if (!op.running) break;
      if (unreadyAfter === undefined && !(await op.probe('/readyz'))) unreadyAfter = Date.now() - stoppedAt;
      await sleep(1000);
    }
    cluster.signal('kube-apiserver', 'SIGCONT');
    const resumedAt = Date.now();
    check(op.running, 'the operator exited while the API server was paused');
    const apiserverMs = await cluster.ready(60_000);

    const [changed, created, node, readyzMs] = await Promise.all([
      specChangeReconciled(kc, hubs[0]!, 'after-thaw'),
      newHubReconciled(kc, fleet, added),
      nodeCertificationSeen(kc, 'eu-hds'),
      op.readyWithin(60_000).then((ok) => (ok ? Date.now() - resumedAt : undefined)),
    ]);
    // /readyz fails while any watch does: back means every watch is established again.
    check(
      readyzMs !== undefined && readyzMs <= RECONCILED_WITHIN_MS,
      `operator /readyz (every watch established) ${readyzMs === undefined ? 'not back 60 s' : `back ${seconds(readyzMs)} s`} after the resumption (limit ${seconds(RECONCILED_WITHIN_MS)} s)`,
    );
    await waitReady(kc, fleet, 120_000);

    const cut = new Set(
      logLines(op.output().slice(mark))
        .filter((l) => l.msg === 'watch failed, reconnecting' && l.error?.includes('silent for more than'))
        .map((l) => l.resource ?? '?'),
    );
    check(cut.size > 0, 'no watch was cut by the staleness timer: the pause proved nothing');
    for (const [what, ms] of [
      ['changed hub', changed],
      ['new hub', created],
      ['node certified', node.certified],
      ['node uncertified', node.uncertified],
    ] as const) {
      check(
        ms <= RECONCILED_WITHIN_MS,
        `${what} reconciled ${seconds(ms)} s after the change (limit ${seconds(RECONCILED_WITHIN_MS)} s)`,
      );
    }

    figure('hubs', size.hubs);
    figure('watch timeout (s)', w);
    figure('pause (s)', seconds(pauseMs));
    figure('watches cut by the staleness timer', `${cut.size} of ${informers.length} informers`);
    figure('informers not cut', informers.filter((i) => !cut.has(i)).join(', ') || 'none');
    figure('operator unready after (s)', unreadyAfter === undefined ? 'never' : seconds(unreadyAfter));
    figure('kube-apiserver ready after resumption (s)', seconds(apiserverMs));
    figure('operator /readyz after resumption (s)', readyzMs === undefined ? 'never' : seconds(readyzMs));
    figure('changed hub reconciled (s)', seconds(changed));
    figure('new hub reconciled (s)', seconds(created));
    figure('node certified seen by the policy (s)', seconds(node.certified));
    figure('node uncertified seen by the policy (s)', seconds(node.uncertified));
  },
};
