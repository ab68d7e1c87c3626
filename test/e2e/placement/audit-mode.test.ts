// Audit mode end to end: a pod that Enforce would refuse is admitted (with a warning) and then
// reported on the hub by the continuous audit — never evicted, never refused.
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { SOVEREIGNTY_POLICY } from '../../../src/api/index.js';
import { policyNamespaceLabelKey } from '../../../src/placement/admission.js';
import { testKubeConfig } from '../../support/cluster.js';
import {
  createHub,
  hubCondition,
  hubManifest,
  prepareHubNamespace,
  waitForHubCondition,
} from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { eventually } from '../../support/wait.js';

describe('a hub under an Audit policy', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  let ns: string;
  let policy: string;
  let op: OperatorProcess;

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'e2e-audit');
    policy = `${ns}-audit`;
    await custom.createClusterCustomObject({
      ...SOVEREIGNTY_POLICY,
      body: {
        apiVersion: SOVEREIGNTY_POLICY.apiVersion,
        kind: SOVEREIGNTY_POLICY.kind,
        metadata: { name: policy },
        spec: {
          regions: ['fr-par', 'de-fra'],
          nodeSelectorRequirements: [
            { key: 'sovereign.node-restriction.kubernetes.io/jurisdiction', operator: 'In', values: ['EU'] },
            { key: 'sovereign.node-restriction.kubernetes.io/hds', operator: 'In', values: ['true'] },
          ],
          enforcement: 'Audit',
          onViolation: 'Evict',
        },
      },
    });
    op = await startOperatorProcess([`--namespace=${ns}`, '--leader-elect=false']);
    await createHub(kc, hubManifest('audited', ns, policy));
    await eventually(
      'namespace labelled for the audit policy',
      async () =>
        (await core.readNamespace({ name: ns })).metadata?.labels?.[policyNamespaceLabelKey(policy)] ===
        'true',
      30_000,
    );
  });
  afterAll(async () => {
    await op.stop();
    await core
      .deleteNamespacedPod({ name: 'pinned-us', namespace: ns, gracePeriodSeconds: 0 })
      .catch(() => undefined);
    await custom.deleteClusterCustomObject({ ...SOVEREIGNTY_POLICY, name: policy }).catch(() => undefined);
  });

  it('admits a pod pinned to a non-EU node, then reports it on the hub without evicting it', async () => {
    // Admission objects for the policy exist once the operator reconciled it; in Audit mode the
    // pod is admitted either way, so only the report matters.
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'pinned-us' },
        spec: { nodeName: 'us-east-1a', containers: [{ name: 'c', image: 'registry.example.eu/app:1' }] },
      },
    });
    const hub = await waitForHubCondition(
      kc,
      ns,
      'audited',
      'PlacementCompliant',
      { status: 'False' },
      30_000,
    );
    const c = hubCondition(hub, 'PlacementCompliant')!;
    expect(c.reason).toBe('PodsOutsidePolicy');
    expect(c.message).toContain('pinned-us');
    expect(c.message).toContain('us-east-1a');
    expect(hub.status?.placement?.violations).toEqual(
      expect.arrayContaining([expect.objectContaining({ pod: 'pinned-us', node: 'us-east-1a' })]),
    );
    // Audit reports; it does not remediate.
    await new Promise((r) => setTimeout(r, 3000));
    const pod = await core.readNamespacedPod({ name: 'pinned-us', namespace: ns });
    expect(pod.metadata?.deletionTimestamp).toBeUndefined();
    expect(pod.status?.phase).toBe('Running');
  }, 90_000);
});
