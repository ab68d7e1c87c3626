import { readFileSync } from 'node:fs';
import { assetEnvName, resolveBinary } from '../../../src/devcluster/binaries.js';
import { loadNodeSet, parseNodeSet, renderNode } from '../../../src/devcluster/nodes.js';
import { controlPlaneVersions, parseEnvFile } from '../../../src/devcluster/versions.js';
import { parseBindAddress } from '../../../src/runtime/http-server.js';

describe('control-plane configuration', () => {
  it('pins one Kubernetes version in hack/versions.env, shared with the build script', () => {
    const v = controlPlaneVersions();
    expect(v.kubernetes).toMatch(/^1\.\d+\.\d+$/);
    expect(v.etcd).toMatch(/^3\.6\.\d+$/);
    expect(readFileSync('hack/build-control-plane.sh', 'utf8')).toContain(
      'go-build-env.sh" build-control-plane k8s-v K8S_VERSION',
    );
    expect(readFileSync('hack/go-build-env.sh', 'utf8')).toContain('source "$here/versions.env"');
    expect(parseEnvFile('# c\nA=1\n\nB = two\n')).toEqual({ A: '1', B: 'two' });
  });

  it('resolves binaries in envtest order: TEST_ASSET_*, KUBEBUILDER_ASSETS, cache', () => {
    expect(assetEnvName('kube-apiserver')).toBe('TEST_ASSET_KUBE_APISERVER');
    const sh = '/bin/sh';
    expect(
      resolveBinary('etcd', {
        TEST_ASSET_ETCD: sh,
        KUBEBUILDER_ASSETS: '/bin',
        HDH_CACHE_DIR: '/nonexistent',
      }),
    ).toEqual({
      path: sh,
      source: 'env',
    });
    expect(
      resolveBinary('sh' as never, { KUBEBUILDER_ASSETS: '/bin', HDH_CACHE_DIR: '/nonexistent' }),
    ).toEqual({
      path: '/bin/sh',
      source: 'kubebuilder-assets',
    });
    expect(resolveBinary('etcd', { HDH_CACHE_DIR: '/nonexistent' })).toBeUndefined();
  });

  it('keeps the simulated node set as data with compliant, uncertified and non-EU nodes', () => {
    const nodes = loadNodeSet();
    const region = (n: { labels: Record<string, string> }) => n.labels['topology.kubernetes.io/region'];
    const certified = nodes.filter(
      (n) => n.labels['sovereign.node-restriction.kubernetes.io/hds'] === 'true',
    );
    expect(certified.length).toBeGreaterThanOrEqual(3);
    expect(new Set(certified.map(region)).size).toBeGreaterThanOrEqual(2);
    expect(
      new Set(certified.map((n) => n.labels['topology.kubernetes.io/zone'])).size,
    ).toBeGreaterThanOrEqual(3);
    expect(nodes.some((n) => region(n) === 'us-east-1')).toBe(true);
    const node = renderNode(nodes[0]!);
    expect(node.metadata?.annotations?.['kwok.x-k8s.io/node']).toBe('fake');
    expect(node.spec?.taints).toBeUndefined();
    expect(() => parseNodeSet('nodes: [{name: Bad_Name}]')).toThrow(/DNS-1123/);
    expect(() => parseNodeSet('nope: 1')).toThrow(/nodes/);
  });

  it('parses bind addresses like controller-runtime', () => {
    expect(parseBindAddress(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseBindAddress('127.0.0.1:8081')).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(parseBindAddress('0.0.0.0:9090')).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(parseBindAddress('0')).toBeUndefined();
    expect(() => parseBindAddress(':99999')).toThrow(/invalid/);
  });
});
