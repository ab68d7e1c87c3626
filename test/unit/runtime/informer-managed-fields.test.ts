// An informer keeps only the managedFields entries it is told to: the operator's caches drop the
// entries of other managers, which nothing reads and which make up much of many objects.
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClients } from '../../../src/runtime/client.js';
import { Informer } from '../../../src/runtime/informer.js';
import { createLogger } from '../../../src/runtime/logging.js';

const entry = (manager: string, subresource?: string) => ({
  manager,
  operation: subresource ? 'Update' : 'Apply',
  ...(subresource ? { subresource } : {}),
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': {} },
});

const items: KubernetesObject[] = [
  {
    metadata: {
      name: 'a',
      namespace: 'ns',
      resourceVersion: '1',
      managedFields: [entry('hdh-operator'), entry('kube-controller-manager', 'status'), entry('kubectl')],
    },
  },
  { metadata: { name: 'b', namespace: 'ns', resourceVersion: '2', managedFields: [entry('kubectl')] } },
];

describe('an informer with a managedFields filter', () => {
  let server: Server;
  let clients: ApiClients;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.includes('watch=true')) return void res.flushHeaders(); // held open
      res.end(JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: '3' }, items }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'f',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'f' }],
      contexts: [{ name: 'f', cluster: 'f', user: 'f' }],
      currentContext: 'f',
    });
    clients = new ApiClients(kc);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('caches the entries kept, and no managedFields at all when none is', async () => {
    const inf = new Informer(
      clients,
      { group: '', version: 'v1', kind: 'Service', plural: 'services', namespace: 'ns' },
      createLogger('error', 'json'),
      { managedFields: (e) => e.manager?.startsWith('hdh-operator') ?? false },
    );
    inf.start();
    try {
      await inf.waitForSync();
      expect(inf.get('ns/a')?.metadata?.managedFields?.map((e) => e.manager)).toEqual(['hdh-operator']);
      expect(inf.get('ns/b')?.metadata).not.toHaveProperty('managedFields');
      expect(inf.get('ns/b')?.metadata?.resourceVersion).toBe('2');
    } finally {
      inf.stop();
    }
  });
});
