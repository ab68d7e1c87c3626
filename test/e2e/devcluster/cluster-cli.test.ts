import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testCluster } from '../../support/cluster.js';

const run = promisify(execFile);
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
}

describe('hdh-operator cluster up/status/down', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdh-cli-cluster-'));

  afterAll(async () => {
    await run(process.execPath, [cli, 'cluster', 'down', '--dir', dir]).catch(() => undefined);
  });

  it('starts a second, independent cluster, lists Ready nodes with kubectl and stops without leftovers', async () => {
    const up = await run(process.execPath, [cli, 'cluster', 'up', '--dir', dir], { timeout: 180_000 });
    expect(up.stdout).toContain(`export KUBECONFIG=${join(dir, 'kubeconfig')}`);

    const { stdout } = await run(testCluster().kubectl, [
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      'get',
      'nodes',
      '-L',
      'topology.kubernetes.io/region',
      '--no-headers',
    ]);
    const rows = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    expect(rows.length).toBe(6);
    for (const r of rows) expect(r[1]).toBe('Ready');
    expect(new Set(rows.map((r) => r[r.length - 1]))).toEqual(new Set(['fr-par', 'de-fra', 'us-east-1']));

    const state = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as {
      processes: { pid: number }[];
      supervisor: { pid: number };
    };
    const pids = [...state.processes.map((p) => p.pid), state.supervisor.pid];
    expect(pids.every(alive)).toBe(true);

    const status = await run(process.execPath, [cli, 'cluster', 'status', '--dir', dir]);
    expect(status.stdout).toContain('running');
    expect(status.stdout).toMatch(new RegExp(`supervisor +pid ${state.supervisor.pid} +running`));

    await run(process.execPath, [cli, 'cluster', 'down', '--dir', dir]);
    expect(pids.some(alive)).toBe(false);
    expect(existsSync(join(dir, 'cluster.json'))).toBe(false);

    await expect(run(process.execPath, [cli, 'cluster', 'status', '--dir', dir])).rejects.toMatchObject({
      code: 1,
    });
  });
});
