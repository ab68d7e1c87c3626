// Builds the Go-built check tools into the cache when missing (returns at once when they are
// there): helm, promtool, actionlint and hack/tools. Shared by every jest project.
import { spawnSync } from 'node:child_process';

export function buildTools() {
  const built = spawnSync('bash', ['hack/build-tools.sh'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building the check tools (hack/build-tools.sh) failed');
}

export default async function toolsSetup() {
  buildTools();
}
