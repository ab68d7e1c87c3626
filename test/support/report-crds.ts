// The policy report CRDs, as their projects publish them in Go modules, copied by
// hack/build-tools.sh into the tools cache (crds/<name>-v<version>, beside bin/); the jest global
// setups run it. No copy of them is kept in the repository.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { installCrds } from '../../src/api/install-crds.js';
import { parseEnvFile } from '../../src/devcluster/versions.js';
import { toolsBinDir } from './tools.js';
import { eventually } from './wait.js';

/** openreports.io/v1alpha1 (Report, ClusterReport), and wgpolicyk8s.io/v1alpha2 (PolicyReport, …). */
export type ReportCrds = 'openreports' | 'wgpolicyk8s';

const VERSION_KEY: Record<ReportCrds, string> = {
  openreports: 'OPENREPORTS_VERSION',
  wgpolicyk8s: 'KYVERNO_VERSION',
};

/** The CRD names each folder holds. */
export const REPORT_CRD_NAMES: Record<ReportCrds, readonly string[]> = {
  openreports: ['reports.openreports.io', 'clusterreports.openreports.io'],
  wgpolicyk8s: ['policyreports.wgpolicyk8s.io', 'clusterpolicyreports.wgpolicyk8s.io'],
};

/** The folder holding one project's CRD files; throws saying how to get it when it is missing. */
export function reportCrdDir(which: ReportCrds): string {
  const env = parseEnvFile(readFileSync(join(process.cwd(), 'hack', 'versions.env'), 'utf8'));
  const dir = join(dirname(toolsBinDir()), 'crds', `${which}-v${env[VERSION_KEY[which]]}`);
  if (!existsSync(join(dir, '.complete'))) {
    throw new Error(
      `no ${which} CRDs at ${dir}: run hack/build-tools.sh (copies them from the Go module proxy)`,
    );
  }
  return dir;
}

/** Installs one project's CRDs and waits until they are served. */
export async function installReportCrds(kc: KubeConfig, which: ReportCrds): Promise<void> {
  await installCrds(kc, reportCrdDir(which));
}

/** Deletes one project's CRDs (and so every object of their kinds) and waits until they are gone. */
export async function deleteReportCrds(kc: KubeConfig, which: ReportCrds): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const name of REPORT_CRD_NAMES[which]) {
    await api.deleteCustomResourceDefinition({ name }).catch(() => undefined);
  }
  await eventually(
    `${which} CRDs gone`,
    async () => {
      for (const name of REPORT_CRD_NAMES[which]) {
        const found = await api.readCustomResourceDefinition({ name }).then(
          () => true,
          () => false,
        );
        if (found) return false;
      }
      return true;
    },
    60_000,
    300,
  );
}
