// One image, one source of truth: `hdh-operator run` inside a Pod learns its own image from that
// Pod (POD_NAME/POD_NAMESPACE from the downward API), so whatever set the Deployment's image sets
// the datastore's unwrap-dek init container too; --image overrides; with neither it refuses to
// start and says what to set.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { testCluster, testKubeConfig } from '../../support/cluster.js';
import { createHub, deleteHubAndWait, hubManifest, prepareHubNamespace } from '../../support/hubs.js';
import { startOperatorProcess, type OperatorProcess } from '../../support/operator.js';
import { createStorageFixtures, type StorageFixtures } from '../../support/storage.js';
import { eventually } from '../../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

const POD_IMAGE = 'registry.example.eu/platform/hdh-operator:9.8.7';
const OVERRIDE = 'mirror.example.eu/hdh-operator@sha256:' + 'ab'.repeat(32);

describe("the operator's image", () => {
  let ns: string;
  let opNs: string;
  let fixtures: StorageFixtures;
  let op: OperatorProcess | undefined;
  const podName = 'hdh-operator-5c7f9-x2k4q';

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-image');
    // The class only: the StatefulSet's template is what is checked, its pods need not start.
    fixtures = await createStorageFixtures(kc, { perNode: 0 });
    // The operator's Pod as a Deployment would create it, a sidecar injected before it.
    opNs = `${ns}-op`;
    await core.createNamespace({ body: { metadata: { name: opNs } } });
    await core.createNamespacedPod({
      namespace: opNs,
      body: {
        metadata: { name: podName },
        spec: {
          containers: [
            { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.26.0' },
            { name: 'operator', image: POD_IMAGE, args: ['run'] },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    if (op) await deleteHubAndWait(kc, ns, 'ledger');
    await op?.stop();
    // With the hub gone nothing holds them; no volume was bound (the class only), so the fixtures
    // go at once and the namespaces finish terminating on their own.
    await fixtures?.cleanup();
    for (const name of [ns, opNs]) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  const initImage = async (): Promise<string | undefined> => {
    const sts = await apps
      .readNamespacedStatefulSet({ name: 'ledger', namespace: ns })
      .catch(() => undefined);
    return sts?.spec?.template.spec?.initContainers?.find((c) => c.name === 'unwrap-dek')?.image;
  };

  const inPod = () => ({ POD_NAME: podName, POD_NAMESPACE: opNs });
  const args = () => [`--namespace=${ns}`, '--leader-elect=false'];

  it("is read from the operator's own Pod for the datastore's init container", async () => {
    op = await startOperatorProcess(args(), inPod());
    const hub = hubManifest('ledger', ns);
    hub.spec.storage.storageClassName = fixtures.encryptedClass;
    await createHub(kc, hub);
    await eventually('unwrap-dek runs the Pod image', async () => (await initImage()) === POD_IMAGE, 30_000);
  });

  it('is --image when given, over the Pod', async () => {
    await op!.stop();
    op = await startOperatorProcess([...args(), `--image=${OVERRIDE}`], inPod());
    await eventually(
      'unwrap-dek runs the --image image',
      async () => (await initImage()) === OVERRIDE,
      30_000,
    );
  });

  it('must be told: with neither, or a Pod that cannot be read, `run` exits 1 and says what to set', async () => {
    const run = (env: Record<string, string>) =>
      promisify(execFile)(
        process.execPath,
        [cli, 'run', `--kubeconfig=${testCluster().kubeconfig}`, ...args()],
        {
          env: { ...process.env, ...env },
          timeout: 20_000,
        },
      ).then(
        () => ({ code: 0, output: '' }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          output: e.stdout + e.stderr,
        }),
      );
    const neither = await run({});
    expect(neither.code).toBe(1);
    expect(neither.output).toContain('POD_NAME and POD_NAMESPACE unset');
    expect(neither.output).toContain('or pass --image=');
    const missing = await run({ POD_NAME: 'no-such-pod', POD_NAMESPACE: opNs });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain(`cannot read the operator's Pod ${opNs}/no-such-pod`);
    expect(missing.output).toContain('404');
  });
});
