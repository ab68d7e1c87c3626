// Policy reports end to end, with the CRDs as their projects publish them (copied from their Go
// modules by hack/build-tools.sh): without them the operator runs, the hub gets Ready and nothing
// about reports is logged as a failure, and a CRD installed later is picked up by the periodic
// discovery; with them installed first, a Report holds a pass for the hub's pod and claim, turns
// to fail when the pod's node is relabelled out of the policy (onViolation: Report, so the pod
// stays), and back when the label is restored; deleted or edited, it is put back.
// The nodes of the shared test cluster relabelled here are put back after each test, whatever happens.
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { LABEL_HUB } from '../../../src/api/index.js';
import {
  OPEN_REPORT,
  POLICY_REPORT,
  REPORT_NAME,
  type PolicyReportObject,
  type ReportKind,
  type ReportResult,
} from '../../../src/controllers/policyreport/render.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  deleteNamespaceAndWait,
  hubCondition,
  getHub,
  hubManifest,
  prepareHubNamespace,
} from '../../support/hubs.js';
import { createPolicy, deletePolicy, NodeRelabeller } from '../../support/placement.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { deleteReportCrds, installReportCrds } from '../../support/report-crds.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const relabel = new NodeRelabeller(kc);
const REGIONS = ['fr-par', 'eu-west-3', 'de-fra'];

async function readReport(kind: ReportKind, namespace: string): Promise<PolicyReportObject | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({
      group: kind.group,
      version: kind.version,
      plural: kind.plural,
      namespace,
      name: REPORT_NAME,
    })) as PolicyReportObject;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

const resultFor = (report: PolicyReportObject | undefined, rule: string, name: string) =>
  report?.results?.find((r) => r.rule === rule && r.resources[0]?.name === name);

/** Waits until the report's result for `rule` on `name` is `status`; returns the report. */
async function waitForResult(
  kind: ReportKind,
  namespace: string,
  rule: string,
  name: string,
  check: (r: ReportResult) => boolean,
  timeoutMs = 60_000,
): Promise<PolicyReportObject> {
  return eventually(
    `${kind.kind} ${namespace}/${REPORT_NAME}: ${rule} of ${name}`,
    async () => {
      const report = await readReport(kind, namespace);
      const r = resultFor(report, rule, name);
      return r && check(r) ? report : undefined;
    },
    timeoutMs,
    300,
  );
}

async function waitReady(namespace: string, name: string): Promise<void> {
  await eventually(
    `${namespace}/${name} Ready`,
    async () => hubCondition(await getHub(kc, namespace, name), 'Ready')?.status === 'True',
    150_000,
    500,
  );
}

/** The operator's log lines at one of `levels` that speak of reports. */
function reportLines(output: string, levels: readonly string[] = ['error']): string[] {
  return output
    .split('\n')
    .filter((line) => /report|openreports|wgpolicyk8s/i.test(line))
    .filter((line) => {
      try {
        return levels.includes((JSON.parse(line) as { level?: string }).level ?? '');
      } catch {
        return levels.some((l) => line.includes(` ${l.toUpperCase()} `));
      }
    });
}

let fixtures: StorageFixtures;

beforeAll(async () => {
  fixtures = await createStorageFixtures(kc, { perNode: 1, capacity: '1Gi' });
  // Left over by an earlier run: this file starts without them.
  await deleteReportCrds(kc, 'openreports');
  await deleteReportCrds(kc, 'wgpolicyk8s');
}, 150_000);

afterAll(async () => {
  await relabel.restore();
  await deleteReportCrds(kc, 'openreports').catch(() => undefined);
  await deleteReportCrds(kc, 'wgpolicyk8s').catch(() => undefined);
  await fixtures?.cleanup();
}, 150_000);

describe('without the policy report CRDs', () => {
  let ns: string;
  let op: OperatorProcess;

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'e2e-sovrep-absent');
    // Discovery every 2 s instead of 60 s: the test waits for the next one.
    op = await startOperatorProcess([
      `--namespace=${ns}`,
      '--leader-elect=false',
      '--report-discovery-interval=2s',
    ]);
  });
  afterAll(async () => {
    if (ns) await deleteNamespaceAndWait(kc, ns).catch(() => undefined);
    await op?.stop();
  }, 120_000);

  it('runs, gets the hub Ready and logs nothing about reports as a failure; a CRD installed later is used', async () => {
    const hub = hubManifest('quiet', ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    await createHub(kc, hub);
    await waitReady(ns, 'quiet');
    expect(op.output()).toContain('no report kind is served');
    // Not even a warning while they are absent.
    expect(reportLines(op.output(), ['error', 'warn'])).toEqual([]);

    // Installed while the operator runs: found by the next discovery.
    await installReportCrds(kc, 'wgpolicyk8s');
    const report = await waitForResult(
      POLICY_REPORT,
      ns,
      'placement',
      'quiet-0',
      (r) => r.result === 'pass',
      30_000,
    );
    expect(report.kind).toBe('PolicyReport');
    expect(report.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'hdh-operator' });
    expect(reportLines(op.output())).toEqual([]);
  }, 300_000);
});

describe('with the policy report CRDs installed before the operator starts', () => {
  let ns: string;
  let op: OperatorProcess;
  let policy: string;

  beforeAll(async () => {
    await installReportCrds(kc, 'openreports');
    await installReportCrds(kc, 'wgpolicyk8s');
    ns = await prepareHubNamespace(kc, 'e2e-sovrep');
    policy = `${ns}-report-only`;
    await createPolicy(kc, policy, {
      regions: REGIONS,
      nodeSelectorRequirements: [
        { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
        { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
      ],
      // Reported, never evicted: the pod stays on its relabelled node.
      onViolation: 'Report',
    });
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
  }, 120_000);
  afterEach(async () => {
    await relabel.restore();
  });
  afterAll(async () => {
    if (ns) await deleteNamespaceAndWait(kc, ns).catch(() => undefined);
    await op?.stop();
    if (policy) await deletePolicy(kc, policy).catch(() => undefined);
  }, 120_000);

  it('reports the pod and claim, fail while the node is outside the policy, pass again after', async () => {
    const hub = hubManifest('ledger', ns, policy);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    await createHub(kc, hub);
    await waitReady(ns, 'ledger');

    // Report (OpenReports) is preferred; no PolicyReport of ours beside it.
    let report = await waitForResult(OPEN_REPORT, ns, 'placement', 'ledger-0', (r) => r.result === 'pass');
    report = await waitForResult(
      OPEN_REPORT,
      ns,
      'storage-location',
      'data-ledger-0',
      (r) => r.result === 'pass',
    );
    expect(await readReport(POLICY_REPORT, ns)).toBeUndefined();
    const [pod] = (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_HUB}=ledger` }))
      .items;
    const node = pod!.spec!.nodeName!;
    expect(resultFor(report, 'placement', 'ledger-0')).toMatchObject({
      policy,
      source: 'hdh-operator',
      resources: [
        { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: 'ledger-0', uid: pod!.metadata!.uid },
      ],
      properties: { node },
    });
    expect(resultFor(report, 'storage-class-encrypted', 'data-ledger-0')?.result).toBe('pass');
    expect(report.summary).toMatchObject({ fail: 0, error: 0 });
    expect(report.source).toBe('hdh-operator');

    // At rest the report is not rewritten.
    const version = (await readReport(OPEN_REPORT, ns))!.metadata.resourceVersion;
    await sleep(5000);
    expect((await readReport(OPEN_REPORT, ns))!.metadata.resourceVersion).toBe(version);

    // The pod's node leaves the policy: its result fails, and so does the volume pinned there.
    await relabel.setRegion(node, 'us-east-1');
    report = await waitForResult(OPEN_REPORT, ns, 'placement', 'ledger-0', (r) => r.result === 'fail');
    expect(resultFor(report, 'placement', 'ledger-0')?.message).toContain('us-east-1');
    report = await waitForResult(
      OPEN_REPORT,
      ns,
      'storage-location',
      'data-ledger-0',
      (r) => r.result === 'fail',
    );
    expect(report.summary.fail).toBeGreaterThanOrEqual(2);
    const still = await core.readNamespacedPod({ name: 'ledger-0', namespace: ns });
    expect(still.metadata?.uid).toBe(pod!.metadata!.uid);
    expect(still.metadata?.deletionTimestamp).toBeUndefined();

    await relabel.restore();
    await waitForResult(OPEN_REPORT, ns, 'placement', 'ledger-0', (r) => r.result === 'pass');
    await waitForResult(OPEN_REPORT, ns, 'storage-location', 'data-ledger-0', (r) => r.result === 'pass');
  }, 300_000);

  it('puts its report back when someone edits or deletes it', async () => {
    const ref = { group: OPEN_REPORT.group, version: OPEN_REPORT.version, plural: OPEN_REPORT.plural };
    // A failure hidden by an edit comes back.
    await custom.patchNamespacedCustomObject(
      {
        ...ref,
        namespace: ns,
        name: REPORT_NAME,
        body: { summary: { pass: 0 }, scope: { kind: 'Namespace', name: ns } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(
      'edited report restored',
      async () => {
        const r = (await readReport(OPEN_REPORT, ns)) as
          (PolicyReportObject & { scope?: unknown }) | undefined;
        return !!r && r.summary.pass > 0 && r.scope === undefined;
      },
      30_000,
      300,
    );
    await custom.deleteNamespacedCustomObject({ ...ref, namespace: ns, name: REPORT_NAME });
    const back = await eventually('deleted report recreated', () => readReport(OPEN_REPORT, ns), 30_000, 300);
    expect((back as KubernetesObject).metadata?.labels?.['app.kubernetes.io/managed-by']).toBe(
      'hdh-operator',
    );
    expect(reportLines(op.output())).toEqual([]);
  }, 90_000);
});
