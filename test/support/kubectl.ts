import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testCluster } from './cluster.js';

const run = promisify(execFile);

/** Runs the real kubectl of the test cluster; rejects with its stderr on a non-zero exit. */
export async function kubectl(args: string[], input?: string): Promise<string> {
  const c = testCluster();
  const child = run(c.kubectl, ['--kubeconfig', c.kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  const { stdout } = await child;
  return stdout;
}
