// The built `kubectl hdh` plugin run as a child process against the test cluster, for tests that
// check what an auditor would read.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ComplianceReport, ReportHub } from '../../src/report/compliance/index.js';
import { testCluster } from './cluster.js';

const execFileP = promisify(execFile);
const plugin = join(process.cwd(), 'dist', 'src', 'cli', 'kubectl-hdh.js');

/** The JSON compliance report of one namespace, as `kubectl hdh report -n NS --format json` writes it. */
export async function complianceReport(namespace: string): Promise<ComplianceReport> {
  const { stdout } = await execFileP(
    process.execPath,
    [plugin, 'report', '-n', namespace, '--format', 'json'],
    {
      env: { ...process.env, KUBECONFIG: testCluster().kubeconfig },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout) as ComplianceReport;
}

/** One hub of a report; throws when the report does not list it. */
export function reportedHub(report: ComplianceReport, namespace: string, name: string): ReportHub {
  const hub = report.hubs.find((h) => h.namespace === namespace && h.name === name);
  if (!hub) throw new Error(`the report lists no hub ${namespace}/${name}`);
  return hub;
}
