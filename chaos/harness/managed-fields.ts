// The operator's entries of managedFields on the objects it writes: the witness the objects keep
// themselves of when they were last written, and by which field manager.
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PolicyV1Api,
  type KubeConfig,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { HEALTH_DATA_HUB, type HealthDataHub } from '../../src/api/index.js';
import { LEADER_LEASE } from '../../test/support/operator.js';
import type { ManagedWrite } from './audit.js';
import { OPERATOR_NAMESPACE } from './fleet.js';

/** The operator's entries of managedFields on what it writes in `namespace`, and its lease. */
export async function managedWrites(
  kc: KubeConfig,
  namespace: string,
  leaseNamespace: string,
): Promise<ManagedWrite[]> {
  const of = (resource: string, items: { metadata?: V1ObjectMeta }[]) =>
    items.flatMap((o) =>
      (o.metadata?.managedFields ?? [])
        .filter((f) => f.manager?.startsWith('hdh-operator') && f.time)
        .map((f) => ({
          resource,
          namespace: o.metadata!.namespace,
          name: o.metadata!.name!,
          ...(f.subresource ? { subresource: f.subresource } : {}),
          manager: f.manager!,
          time: new Date(f.time!).toISOString(),
        })),
    );
  const core = kc.makeApiClient(CoreV1Api);
  const hubs = (await kc
    .makeApiClient(CustomObjectsApi)
    .listNamespacedCustomObject({ ...HEALTH_DATA_HUB, namespace })) as { items: HealthDataHub[] };
  return [
    ...of('healthdatahubs', hubs.items),
    ...of('statefulsets', (await kc.makeApiClient(AppsV1Api).listNamespacedStatefulSet({ namespace })).items),
    ...of('services', (await core.listNamespacedService({ namespace })).items),
    ...of(
      'poddisruptionbudgets',
      (await kc.makeApiClient(PolicyV1Api).listNamespacedPodDisruptionBudget({ namespace })).items,
    ),
    ...of('secrets', (await core.listNamespacedSecret({ namespace })).items),
    ...of('secrets', (await core.listNamespacedSecret({ namespace: OPERATOR_NAMESPACE })).items),
    ...of('leases', [
      await kc
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: LEADER_LEASE, namespace: leaseNamespace }),
    ]),
  ];
}
