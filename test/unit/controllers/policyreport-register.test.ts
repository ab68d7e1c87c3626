// The policy report controller as the operator composes it: the caches of its own reports hold the
// one object of the report's name that carries the operator's label, and nothing else a tenant can
// label (anyone who may write reports can set app.kubernetes.io/managed-by).
import type {
  KubernetesObject,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../../src/api/index.js';
import { registerPolicyReports } from '../../../src/controllers/policyreport/register.js';
import { REPORT_KINDS, REPORT_NAME } from '../../../src/controllers/policyreport/render.js';
import type { Informer, InformerOptions, ResourceRef } from '../../../src/runtime/informer.js';
import type { Manager } from '../../../src/runtime/manager.js';
import { podIndexers } from '../../../src/placement/pod-index.js';
import { FakeCache } from '../../support/fake-cluster.js';
import { quiet } from './fixtures.js';

/** Registers the controller on a manager that records the informers asked of it. */
function register(namespace?: string) {
  const informers: { ref: ResourceRef; opts: InformerOptions }[] = [];
  const enqueued: string[] = [];
  const mgr = {
    log: quiet,
    clients: { make: () => ({}) },
    informer: (ref: ResourceRef, opts: InformerOptions = {}) => {
      informers.push({ ref, opts });
      return new FakeCache<KubernetesObject>() as unknown as Informer;
    },
    controller: () => ({ enqueue: (key: string) => enqueued.push(key) }),
  } as unknown as Manager;
  const cache = <T extends KubernetesObject>() => new FakeCache<T>() as unknown as Informer<T>;
  registerPolicyReports(
    mgr,
    { namespace, operatorNamespace: 'hdh-system' },
    {
      hubs: cache<HealthDataHub>(),
      policies: cache<SovereigntyPolicy>(),
      nodes: cache<V1Node>(),
      pods: new FakeCache<V1Pod>(podIndexers) as unknown as Informer<V1Pod>,
      claims: cache<V1PersistentVolumeClaim>(),
      volumes: cache<V1PersistentVolume>(),
      storageClasses: cache<V1StorageClass>(),
    },
  );
  return { informers, enqueued };
}

describe('registerPolicyReports', () => {
  it.each([
    ['every namespace', undefined],
    ['one namespace (--namespace)', 'research'],
  ])("caches, in %s, only the report of the operator's name and label, of each kind", (_what, namespace) => {
    const { informers } = register(namespace);
    expect(informers).toEqual(
      REPORT_KINDS.map((kind) => ({
        ref: {
          group: kind.group,
          version: kind.version,
          kind: kind.kind,
          plural: kind.plural,
          namespace,
          labelSelector: 'app.kubernetes.io/managed-by=hdh-operator',
          fieldSelector: `metadata.name=${REPORT_NAME}`,
        },
        // A kind not served is an empty cache, listed again later.
        opts: { optional: true },
      })),
    );
  });

  it('asks which kinds are served at once', () => {
    expect(register().enqueued).toEqual(['~discovery']);
  });
});
