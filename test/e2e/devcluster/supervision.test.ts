import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readClusterState, startComponent, stopComponent } from '../../../src/devcluster/cluster.js';
import { KWOK_NODE_ANNOTATION, renderNode } from '../../../src/devcluster/nodes.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import { eventually } from '../../support/wait.js';

// The local control plane keeps itself up: a component that exits on its own is restarted by the
// cluster's supervisor, one stopped on purpose stays down, and kwok gives running pods their
// readiness back once the node lifecycle controller has taken it away.

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
}

function component(name: string) {
  const rec = readClusterState(testCluster().dir)?.processes.find((p) => p.name === name);
  if (!rec) throw new Error(`no ${name} in the cluster state`);
  return rec;
}

const ready = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;

describe('a local control plane that survives its components', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `e2e-supervision-${Date.now()}`;
  const pod = (name: string, spec: Partial<V1Pod['spec']> = {}): V1Pod => ({
    metadata: { name, namespace: ns },
    spec: { containers: [{ name: 'c', image: 'registry.example.eu/app:1' }], ...spec },
  });
  const scheduledTo = async (name: string) => {
    const p = await core.readNamespacedPod({ name, namespace: ns });
    return p.status?.phase === 'Running' && p.spec?.nodeName ? p.spec.nodeName : undefined;
  };

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });
  afterAll(async () => {
    // Whatever happened, leave the components running for the tests after this one.
    for (const name of ['kube-scheduler', 'kwok']) await startComponent(testCluster().dir, name);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('restarts kube-scheduler after a SIGKILL, logs it, and the new one schedules pods', async () => {
    const before = component('kube-scheduler');
    expect(alive(before.pid)).toBe(true);
    const t0 = Date.now();
    process.kill(before.pid, 'SIGKILL');

    const after = await eventually(
      'kube-scheduler restarted under a new PID',
      async () => {
        const rec = component('kube-scheduler');
        return rec.pid !== before.pid && alive(rec.pid) ? rec : undefined;
      },
      30_000,
    );
    const restartedMs = Date.now() - t0;
    expect(after.binary).toBe(before.binary);
    expect(after.args).toEqual(before.args);
    const supervisorLog = readFileSync(join(testCluster().dir, 'logs', 'supervisor.log'), 'utf8');
    expect(supervisorLog).toMatch(new RegExp(`kube-scheduler \\(pid ${before.pid}\\) exited`));
    expect(supervisorLog).toMatch(new RegExp(`kube-scheduler restarted as pid ${after.pid}`));

    await core.createNamespacedPod({ namespace: ns, body: pod('after-sigkill') });
    const node = await eventually('pod scheduled and Running', () => scheduledTo('after-sigkill'), 60_000);
    expect(node).toBeTruthy();
    process.stderr.write(
      `supervision: kube-scheduler back ${restartedMs} ms after SIGKILL, pod Running ${Date.now() - t0} ms after it\n`,
    );
  }, 120_000);

  it('keeps a component stopped on purpose down until it is started again', async () => {
    const dir = testCluster().dir;
    const before = component('kube-scheduler');
    await stopComponent(dir, 'kube-scheduler');
    await core.createNamespacedPod({ namespace: ns, body: pod('while-stopped') });
    // Longer than the supervisor's first restart delay and several of its polls.
    await sleep(4_000);
    const still = component('kube-scheduler');
    expect(still.pid).toBe(before.pid);
    expect(alive(still.pid)).toBe(false);
    expect(
      (await core.readNamespacedPod({ name: 'while-stopped', namespace: ns })).spec?.nodeName,
    ).toBeFalsy();

    await startComponent(dir, 'kube-scheduler');
    expect(alive(component('kube-scheduler').pid)).toBe(true);
    await eventually('pod scheduled once kube-scheduler is back', () => scheduledTo('while-stopped'), 60_000);
  }, 120_000);

  it('gives running pods their readiness back when their node recovers', async () => {
    const dir = testCluster().dir;
    // A node of its own (tainted so nothing else lands on it): only this test's pod is affected.
    const nodeName = `supervision-${Date.now()}`;
    const taint = { key: 'hdh.test/dedicated', value: 'supervision', effect: 'NoSchedule' };
    const node = renderNode({ name: nodeName, labels: {} });
    node.spec = { taints: [taint] };
    await core.createNode({ body: node });
    try {
      expect(node.metadata?.annotations?.[KWOK_NODE_ANNOTATION]).toBe('fake');
      await core.createNamespacedPod({
        namespace: ns,
        body: pod('recovers', { nodeName, tolerations: [{ ...taint, operator: 'Equal' }] }),
      });
      await eventually('pod Running and Ready', async () => {
        const p = await core.readNamespacedPod({ name: 'recovers', namespace: ns });
        return p.status?.phase === 'Running' && ready(p) === 'True';
      });

      // The node goes down: kwok (its kubelet) stops and the node reports NotReady; the node
      // lifecycle controller then sets Ready=False on the node's pods (MarkPodsNotReady). It does
      // so once the node's lease has been silent for its grace period (50 s), so the test makes
      // the same status update itself rather than wait.
      await stopComponent(dir, 'kwok');
      // Read and replaced until no other write (kwok's last heartbeat) lands in between (409).
      await eventually('node marked NotReady', async () => {
        const n = await core.readNode({ name: nodeName });
        const conditions = (n.status?.conditions ?? []).map((c) =>
          c.type === 'Ready'
            ? { ...c, status: 'False', reason: 'KubeletNotReady', lastTransitionTime: new Date() }
            : c,
        );
        await core.replaceNodeStatus({ name: nodeName, body: { ...n, status: { ...n.status, conditions } } });
        return true;
      });
      await eventually('pod marked not ready', async () => {
        const running = await core.readNamespacedPod({ name: 'recovers', namespace: ns });
        running.status!.conditions = running.status!.conditions!.map((c) =>
          c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: new Date() } : c,
        );
        await core.replaceNamespacedPodStatus({ name: 'recovers', namespace: ns, body: running });
        return true;
      });
      await sleep(2_000); // nothing brings it back while the node is down
      expect(ready(await core.readNamespacedPod({ name: 'recovers', namespace: ns }))).toBe('False');

      // The node comes back: kwok runs again and reports it Ready.
      const t0 = Date.now();
      await startComponent(dir, 'kwok');
      await eventually(
        'node Ready again',
        async () =>
          (await core.readNode({ name: nodeName })).status?.conditions?.find((c) => c.type === 'Ready')
            ?.status === 'True',
      );
      await eventually(
        'pod Ready again',
        async () => ready(await core.readNamespacedPod({ name: 'recovers', namespace: ns })) === 'True',
        30_000,
      );
      const p = await core.readNamespacedPod({ name: 'recovers', namespace: ns });
      expect(p.status?.phase).toBe('Running');
      expect(p.status?.conditions?.find((c) => c.type === 'ContainersReady')?.status).toBe('True');
      process.stderr.write(
        `supervision: pod Ready ${Date.now() - t0} ms after its node's kubelet came back\n`,
      );
    } finally {
      await startComponent(dir, 'kwok');
      await core
        .deleteNamespacedPod({ name: 'recovers', namespace: ns, gracePeriodSeconds: 0 })
        .catch(() => undefined);
      await core.deleteNode({ name: nodeName }).catch(() => undefined);
    }
  }, 120_000);
});
