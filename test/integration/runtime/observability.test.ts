// What a platform team reads from a running operator, from the outside: its log lines (JSON with
// controller-runtime's keys, a reconcileID per reconcile, start failures and shutdown included),
// a SovereigntyPolicy's Events and its printed columns. One operator process for all of them.
import { CustomObjectsApi, EventsV1Api } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SOVEREIGNTY_POLICY } from '../../../src/api/index.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import { createHub, hubManifest, prepareHubNamespace } from '../../support/hubs.js';
import { kubectl } from '../../support/kubectl.js';
import { createPolicy } from '../../support/placement.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { eventually } from '../../support/wait.js';

type Line = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every line of the operator's output, parsed; fails naming a line that is not JSON. */
function jsonLines(output: string): Line[] {
  return output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
}

describe('an operator seen from outside', () => {
  const kc = testKubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const policy = `it-observed-${Date.now().toString(36)}`;
  let op: OperatorProcess;
  let ns: string;

  const policyEvents = async () =>
    (await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: 'default' })).items.filter(
      (e) => e.regarding?.kind === 'SovereigntyPolicy' && e.regarding?.name === policy,
    );
  const patchRegions = (regions: string[]) =>
    kubectl([
      'patch',
      'sovereigntypolicy',
      policy,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { regions } }),
    ]);

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-observed');
    await createPolicy(kc, policy, {
      regions: ['fr-par', 'de-fra'],
      nodeSelectorRequirements: [
        { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
        { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
      ],
    });
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
  });
  afterAll(async () => {
    await op?.stop();
    await custom
      .deleteClusterCustomObject({
        group: SOVEREIGNTY_POLICY.group,
        version: SOVEREIGNTY_POLICY.version,
        plural: SOVEREIGNTY_POLICY.plural,
        name: policy,
      })
      .catch(() => undefined);
  });

  it('logs JSON lines, and each line of a reconcile names its controller, object and reconcileID', async () => {
    await createHub(kc, hubManifest('logged', ns));
    const reconcileLines = await eventually(
      'a line logged during a reconcile of the hub',
      async () => {
        const mine = jsonLines(op.output()).filter(
          (l) => l.controller === 'healthdatahub' && l.namespace === ns && l.name === 'logged',
        );
        return mine.length > 0 ? mine : undefined;
      },
      30_000,
    );
    for (const l of reconcileLines) {
      expect(l.reconcileID).toMatch(UUID);
      expect(Object.keys(l).slice(0, 4)).toEqual(['ts', 'level', 'logger', 'msg']);
    }
    const all = jsonLines(op.output());
    expect(all.find((l) => l.msg === 'starting hdh-operator')).toBeDefined();
    for (const l of all) {
      expect(Date.parse(String(l.ts))).not.toBeNaN();
      expect(l).not.toHaveProperty('message');
    }
  });

  it('records Events on a SovereigntyPolicy as it becomes Ready, its eligible nodes change and it loses them', async () => {
    const noted = async (reason: string, type: string) =>
      eventually(
        `${type} Event ${reason} on SovereigntyPolicy ${policy}`,
        async () => (await policyEvents()).find((e) => e.reason === reason && e.type === type),
        15_000,
      );
    // fr-par and de-fra: the three certified EU nodes of the test cluster.
    expect((await noted('PolicyValid', 'Normal')).note).toBe('Ready: 3 node(s) satisfy the policy');
    await patchRegions(['fr-par']);
    expect((await noted('EligibleNodesChanged', 'Normal')).note).toBe(
      '2 node(s) satisfy the policy (3 before)',
    );
    await patchRegions(['eu-west-3']);
    expect((await noted('NoEligibleNodes', 'Warning')).note).toContain('label compliant nodes');
    const e = (await policyEvents())[0]!;
    expect(e.regarding).toMatchObject({ apiVersion: 'hdh.sovereign.eu/v1alpha1', kind: 'SovereigntyPolicy' });
    expect(e.reportingController).toBe('hdh.sovereign.eu/hdh-operator');
  });

  it('prints a policy’s regions as a list, not as JSON', async () => {
    await patchRegions(['fr-par', 'de-fra']);
    const regionsColumn = async () => {
      const [header, row] = (await kubectl(['get', 'sovereigntypolicy', policy])).trim().split('\n');
      return row!.split(/\s{2,}/)[header!.split(/\s{2,}/).indexOf('REGIONS')];
    };
    // The column shows the status the operator writes for the new spec.
    await eventually(
      'REGIONS column of the patched policy',
      async () => (await regionsColumn()) === 'fr-par,de-fra',
      15_000,
    );
    expect(await kubectl(['get', 'sovereigntypolicy', policy])).not.toContain('[');
  });

  it('logs its shutdown as JSON and exits 0', async () => {
    expect(await op.stop('SIGTERM')).toBe(0);
    const lines = jsonLines(op.output());
    const shutdown = lines.findIndex((l) => l.msg === 'shutting down');
    expect(lines[shutdown]).toMatchObject({ level: 'info', signal: 'SIGTERM' });
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'stopped', exitCode: 0 });
  });

  it('logs a failure to start as JSON and exits 1, a usage error included', () => {
    const run = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [
          join(process.cwd(), 'dist', 'src', 'cli', 'main.js'),
          'run',
          `--kubeconfig=${testCluster().kubeconfig}`,
          '--image=hdh-operator:test',
          '--metrics-bind-address=0',
          '--health-probe-bind-address=0',
          ...args,
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
    const cases: [string[], string][] = [
      // Checked by the operator as it starts.
      [['--leader-elect=true', '--leader-elect-lease-duration=fifteen'], '--leader-elect-lease-duration'],
      // Refused by the command line parser.
      [['--concurrency=0'], "option '--concurrency <n>' argument '0' is invalid"],
    ];
    for (const [args, says] of cases) {
      const r = run(...args);
      expect(r.status).toBe(1);
      const lines = jsonLines(r.stdout + r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'error', logger: 'hdh-operator', msg: 'could not start' });
      expect(lines[0]!.error).toContain(says);
    }
  });
});
