import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { describeError } from '../runtime/errors.js';

// The operator's own image, which each datastore pod's `unwrap-dek` init container runs, is
// taken from the operator's Pod so that whatever set the Deployment's image (a kustomize
// `images:` entry, a Helm value, a registry mirror) also sets the init container's. `--image`
// overrides it.

/** The name of the operator's container in the shipped manifests and chart. */
export const OPERATOR_CONTAINER = 'operator';

export const IMAGE_HELP =
  'set POD_NAME and POD_NAMESPACE from the downward API (fieldRef metadata.name and ' +
  "metadata.namespace) so the operator reads its image from its Pod, or pass --image=<the operator's image>";

/**
 * The image of the container running the operator: the Pod's only container, else the one
 * named `operator` (a Pod with injected sidecars). Throws saying what to fix.
 */
export function imageOfPod(pod: V1Pod): string {
  const where = `Pod ${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const containers = pod.spec?.containers ?? [];
  const own = containers.length === 1 ? containers[0] : containers.find((c) => c.name === OPERATOR_CONTAINER);
  if (!own) {
    throw new Error(
      `${where} has containers ${containers.map((c) => c.name).join(', ') || '(none)'}; ` +
        `name the operator's container "${OPERATOR_CONTAINER}", or pass --image`,
    );
  }
  if (!own.image) throw new Error(`${where}: container ${own.name} has no image; pass --image`);
  return own.image;
}

/** What decides the image: the --image flag and the downward-API variables. */
export interface ImageInputs {
  flag?: string;
  podName?: string;
  podNamespace?: string;
}

/** --image, else the operator's Pod's image (read by readPod); throws saying what to set. */
export async function resolveOperatorImage(
  inputs: ImageInputs,
  readPod: (namespace: string, name: string) => Promise<V1Pod>,
): Promise<string> {
  if (inputs.flag) return inputs.flag;
  const { podName, podNamespace } = inputs;
  if (!podName || !podNamespace) {
    const missing = [!podName && 'POD_NAME', !podNamespace && 'POD_NAMESPACE'].filter(Boolean);
    throw new Error(`cannot tell the operator's own image (${missing.join(' and ')} unset): ${IMAGE_HELP}`);
  }
  let pod: V1Pod;
  try {
    pod = await readPod(podNamespace, podName);
  } catch (e) {
    throw new Error(
      `cannot read the operator's Pod ${podNamespace}/${podName} (from POD_NAMESPACE/POD_NAME) ` +
        `to learn its image: ${describeError(e)}; check those variables and that the operator may get pods, or pass --image`,
    );
  }
  return imageOfPod(pod);
}

/** resolveOperatorImage against the cluster, with the environment's POD_NAME/POD_NAMESPACE. */
export function operatorImage(flag: string | undefined, kc: KubeConfig): Promise<string> {
  const api = kc.makeApiClient(CoreV1Api);
  return resolveOperatorImage(
    { flag, podName: process.env.POD_NAME, podNamespace: process.env.POD_NAMESPACE },
    (namespace, name) => api.readNamespacedPod({ namespace, name }),
  );
}
