import { CustomObjectsApi, EventsV1Api } from '@kubernetes/client-node';
import { SOVEREIGNTY_POLICY } from '../../../src/api/index.js';
import { startOperator, type OperatorHandle } from '../../../src/cli/run.js';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import { createHub, getHub, hubCondition, hubManifest, prepareHubNamespace } from '../../support/hubs.js';
import { kubectl } from '../../support/kubectl.js';
import { eventually } from '../../support/wait.js';

describe('rules that depend on other objects are reported as conditions and events', () => {
  const kc = testKubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  let ns: string;
  let op: OperatorHandle;

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-refs');
    op = await startOperator(
      {
        kubeconfig: testCluster().kubeconfig,
        namespace: ns,
        leaderElect: false,
        metricsBindAddress: '0',
        healthProbeBindAddress: '0',
        logLevel: 'error',
        logFormat: 'json',
        concurrency: 2,
      },
      () => undefined,
    );
  });
  afterAll(async () => {
    await op.stop();
    await custom
      .deleteClusterCustomObject({ ...SOVEREIGNTY_POLICY, name: `${ns}-late` })
      .catch(() => undefined);
  });

  it('a missing policy stalls the hub with a fix, an Event, and recovers once the policy exists', async () => {
    const policyName = `${ns}-late`;
    await createHub(kc, hubManifest('orphan', ns, policyName));
    // kubectl wait understands the conditions (kstatus).
    await kubectl(['wait', '-n', ns, `hdh/orphan`, '--for=condition=Stalled', '--timeout=30s']);
    const hub = await getHub(kc, ns, 'orphan');
    expect(hubCondition(hub, 'Ready')).toMatchObject({ status: 'False', reason: 'PolicyNotFound' });
    expect(hubCondition(hub, 'Ready')!.message).toContain(`SovereigntyPolicy "${policyName}" does not exist`);
    expect(hubCondition(hub, 'Ready')!.observedGeneration).toBe(hub.metadata.generation);

    const events = kc.makeApiClient(EventsV1Api);
    const ev = await eventually('PolicyNotFound event', async () => {
      const list = await events.listNamespacedEvent({ namespace: ns });
      return list.items.find((e) => e.reason === 'PolicyNotFound' && e.regarding?.name === 'orphan');
    });
    expect(ev.type).toBe('Warning');
    expect(ev.reportingController).toBe('hdh.sovereign.eu/hdh-operator');

    await custom.createClusterCustomObject({
      ...SOVEREIGNTY_POLICY,
      body: {
        apiVersion: SOVEREIGNTY_POLICY.apiVersion,
        kind: SOVEREIGNTY_POLICY.kind,
        metadata: { name: policyName },
        spec: { regions: ['fr-par'], keyProviders: ['pkcs11'] },
      },
    });
    const recovered = await eventually('hub no longer stalled on the policy', async () => {
      const h = await getHub(kc, ns, 'orphan');
      return hubCondition(h, 'Ready')?.reason !== 'PolicyNotFound' ? h : undefined;
    });
    // builtin (the default) is not among this policy's providers.
    expect(hubCondition(recovered, 'KeysReady')).toMatchObject({
      status: 'False',
      reason: 'KeyProviderNotAllowed',
    });
    // The placement verdict does not wait for the keys: the namespace has no pod outside the policy.
    expect(hubCondition(recovered, 'PlacementCompliant')).toMatchObject({
      status: 'True',
      reason: 'Compliant',
    });
  });

  it('a hub region outside its policy is RegionNotAllowed', async () => {
    const hub = hubManifest('wide', ns);
    hub.spec.placement = { regions: ['us-east-1'] };
    await createHub(kc, hub);
    // Two controllers report it (placement: PlacementCompliant; hub: Ready), each in its own write.
    const got = await eventually('RegionNotAllowed', async () => {
      const h = await getHub(kc, ns, 'wide');
      return hubCondition(h, 'PlacementCompliant')?.reason === 'RegionNotAllowed' &&
        hubCondition(h, 'Ready')?.reason === 'RegionNotAllowed'
        ? h
        : undefined;
    });
    expect(hubCondition(got, 'PlacementCompliant')!.message).toContain('[us-east-1]');
    expect(hubCondition(got, 'Ready')).toMatchObject({ status: 'False', reason: 'RegionNotAllowed' });
    const table = await kubectl(['get', 'hdh', '-n', ns, 'wide']);
    expect(table).toMatch(/wide\s+False\s+RegionNotAllowed\s+eu-hds\s+False/);
  });
});
