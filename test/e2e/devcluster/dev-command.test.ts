import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/wait.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
}

describe('hdh-operator dev', () => {
  it('starts a cluster, applies the samples, lists the hubs, and exits 0 on Ctrl-C leaving nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdh-dev-'));
    const child = spawn(process.execPath, [cli, 'dev', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // The status table lists both sample hubs once the operator has reported on them.
      await eventually(
        'hub table with both samples',
        async () => /research\s+minimal\s+\S+/.test(out) && /research\s+oncology\s+\S+/.test(out),
        120_000,
        250,
      );
      expect(out).toMatch(/NAMESPACE\s+NAME\s+READY\s+REASON\s+POLICY\s+COMPLIANT\s+KEY/);
      // The minimal sample goes all the way: storage bound, its own keys, datastore running.
      await eventually(
        'minimal hub Ready',
        async () => /research\s+minimal\s+True\s+AllReady\s+eu-hds\s+True\s+1/.test(out),
        120_000,
        250,
      );
      // The full sample names an HSM whose PIN Secret does not exist here: it fails closed.
      expect(out).toMatch(/research\s+oncology\s+False\s+\S+/);
      expect(out).toMatch(/caches synced/);
      const pids = (
        JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { processes: { pid: number }[] }
      ).processes.map((p) => p.pid);
      expect(pids.length).toBe(5);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(pids.some(alive)).toBe(false);
      expect(existsSync(join(dir, 'cluster.json'))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});
