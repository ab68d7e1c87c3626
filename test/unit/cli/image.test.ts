import type { V1Pod } from '@kubernetes/client-node';
import { imageOfPod, resolveOperatorImage } from '../../../src/cli/image.js';

/** A readPod that records what it was asked and answers with `answer`. */
const reader = (answer?: V1Pod) => {
  const calls: [string, string][] = [];
  const readPod = async (namespace: string, name: string): Promise<V1Pod> => {
    calls.push([namespace, name]);
    if (!answer) throw new Error('no Pod here');
    return answer;
  };
  return { calls, readPod };
};

const pod = (...containers: { name: string; image?: string }[]): V1Pod => ({
  metadata: { name: 'hdh-operator-7d9f-abcde', namespace: 'hdh-system' },
  spec: { containers },
});

describe("the operator's own image", () => {
  it("is the Pod's only container's image", () => {
    expect(imageOfPod(pod({ name: 'manager', image: 'registry.example.eu/hdh-operator:1.2.3' }))).toBe(
      'registry.example.eu/hdh-operator:1.2.3',
    );
  });

  it('is the image of the container named operator when sidecars were injected', () => {
    const p = pod(
      { name: 'istio-proxy', image: 'proxyv2:1.26' },
      { name: 'operator', image: 'registry.example.eu/hdh-operator@sha256:0123' },
    );
    expect(imageOfPod(p)).toBe('registry.example.eu/hdh-operator@sha256:0123');
  });

  it('is refused, naming the containers, when none is the operator', () => {
    expect(() => imageOfPod(pod({ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1' }))).toThrow(
      'Pod hdh-system/hdh-operator-7d9f-abcde has containers a, b; name the operator\'s container "operator", or pass --image',
    );
  });

  it('comes from --image first, without reading the Pod', async () => {
    const { calls, readPod } = reader();
    await expect(
      resolveOperatorImage({ flag: 'mirror.example.eu/hdh:1', podName: 'p', podNamespace: 'n' }, readPod),
    ).resolves.toBe('mirror.example.eu/hdh:1');
    expect(calls).toEqual([]);
  });

  it('comes from the Pod named by POD_NAMESPACE and POD_NAME', async () => {
    const { calls, readPod } = reader(pod({ name: 'operator', image: 'r.example.eu/hdh:2' }));
    await expect(resolveOperatorImage({ podName: 'p', podNamespace: 'n' }, readPod)).resolves.toBe(
      'r.example.eu/hdh:2',
    );
    expect(calls).toEqual([['n', 'p']]);
  });

  it('says what to set when neither --image nor the Pod variables are given', async () => {
    const { calls, readPod } = reader();
    await expect(resolveOperatorImage({ podNamespace: 'n' }, readPod)).rejects.toThrow(
      /POD_NAME unset\): set POD_NAME and POD_NAMESPACE from the downward API .* or pass --image=/,
    );
    await expect(resolveOperatorImage({}, readPod)).rejects.toThrow('(POD_NAME and POD_NAMESPACE unset)');
    expect(calls).toEqual([]);
  });

  it('names the Pod it could not read and the way out', async () => {
    const gone = Object.assign(new Error('not found'), {
      code: 404,
      body: '{"message":"pods \\"p\\" not found"}',
    });
    await expect(
      resolveOperatorImage({ podName: 'p', podNamespace: 'n' }, () => Promise.reject(gone)),
    ).rejects.toThrow(/cannot read the operator's Pod n\/p .*404: pods "p" not found.*or pass --image/);
  });
});
