import type { V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import {
  datastoreReport,
  datastoreSelector,
  immutableStatefulSetChanges,
  keepLegacyTemplateLabels,
  renderDatastore,
  type DatastoreObjects,
} from '../../../src/storage/datastore.js';
import { LEGACY_INSTANCE_LABEL } from '../../../src/storage/claims.js';
import { podSatisfiesPolicy } from '../../../src/placement/render.js';
import { hubPlacementConstraints } from '../../../src/placement/constraints.js';
import { hub, policy, UID, ZONE } from './fixtures.js';

function render(h = hub(), keyDelivery?: Parameters<typeof renderDatastore>[2]): DatastoreObjects {
  const result = renderDatastore(h, policy().spec, keyDelivery);
  if (!result.ok) throw new Error(result.message);
  return result.objects;
}
const pod = (o: DatastoreObjects): V1PodSpec => o.statefulSet.spec!.template.spec!;
const container = (o: DatastoreObjects) => pod(o).containers[0]!;

describe('renderDatastore', () => {
  it('names, labels and owns every object after the hub', () => {
    const o = render(hub({ datastore: { replicas: 2 } }));
    for (const obj of [o.statefulSet, o.service, o.podDisruptionBudget!]) {
      expect(obj.metadata).toMatchObject({
        name: 'oncology',
        namespace: 'research',
        labels: {
          'app.kubernetes.io/managed-by': 'hdh-operator',
          'hdh.sovereign.eu/hub': 'oncology',
          'app.kubernetes.io/name': 'hdh-datastore',
        },
        ownerReferences: [
          {
            apiVersion: 'hdh.sovereign.eu/v1alpha1',
            kind: 'HealthDataHub',
            name: 'oncology',
            uid: UID,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      });
    }
    expect(o.statefulSet.spec!.template.metadata!.labels).toMatchObject(
      datastoreSelector('oncology').matchLabels!,
    );
  });

  it('leaves app.kubernetes.io/instance (Argo CD’s tracking label) off every object, pod and claim', () => {
    const o = render(hub({ datastore: { replicas: 2 } }));
    const labelled = [
      o.statefulSet.metadata,
      o.statefulSet.spec!.template.metadata,
      ...o.statefulSet.spec!.volumeClaimTemplates!.map((t) => t.metadata),
      o.service.metadata,
      o.podDisruptionBudget!.metadata,
    ];
    for (const m of labelled) {
      expect(m!.labels!['hdh.sovereign.eu/hub']).toBe('oncology');
      expect(m!.labels).not.toHaveProperty('app.kubernetes.io/instance');
    }
    expect(JSON.stringify(o)).not.toContain('app.kubernetes.io/instance');
  });

  it('takes image, replicas, port, env and resources from spec.datastore', () => {
    const o = render(
      hub({
        datastore: {
          image: 'registry.example.eu/pg@sha256:abc',
          replicas: 3,
          port: 6432,
          env: [
            { name: 'POSTGRES_DB', value: 'onco' },
            { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
          ],
          resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: 2 } },
        },
      }),
    );
    expect(o.statefulSet.spec!.replicas).toBe(3);
    const c = container(o);
    expect(c.image).toBe('registry.example.eu/pg@sha256:abc');
    expect(c.ports).toEqual([{ name: 'datastore', containerPort: 6432, protocol: 'TCP' }]);
    expect(c.env).toEqual([
      { name: 'POSTGRES_DB', value: 'onco' },
      { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
    ]);
    expect(c.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2' } });
    expect(o.service.spec!.ports).toEqual([
      { name: 'datastore', port: 6432, targetPort: 'datastore', protocol: 'TCP' },
    ]);
  });

  it('uses the API defaults when spec.datastore is empty', () => {
    const o = render();
    expect(o.statefulSet.spec!.replicas).toBe(1);
    expect(container(o).image).toBe('docker.io/library/postgres:17');
    expect(container(o).ports![0]!.containerPort).toBe(5432);
    expect(container(o).env).toBeUndefined();
    expect(container(o).resources).toBeUndefined();
  });

  it('claims one ReadWriteOnce volume per replica from spec.storage, kept on delete and scale-down', () => {
    const s = render().statefulSet.spec!;
    expect(s.volumeClaimTemplates).toHaveLength(1);
    expect(s.volumeClaimTemplates![0]).toMatchObject({
      metadata: { name: 'data', labels: { 'hdh.sovereign.eu/hub': 'oncology' } },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'encrypted-eu',
        resources: { requests: { storage: '20Gi' } },
      },
    });
    expect(s.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(container(render()).volumeMounts).toContainEqual({
      name: 'data',
      mountPath: '/var/lib/postgresql',
    });
  });

  it('gives the StatefulSet a headless Service of the same name', () => {
    const o = render();
    expect(o.statefulSet.spec!.serviceName).toBe('oncology');
    expect(o.service.spec).toMatchObject({
      clusterIP: 'None',
      selector: datastoreSelector('oncology').matchLabels,
    });
  });

  it('adds a PodDisruptionBudget only with more than one replica, and asks to remove a stale one', () => {
    const one = renderDatastore(hub(), policy().spec);
    const two = renderDatastore(hub({ datastore: { replicas: 2 } }), policy().spec);
    if (!one.ok || !two.ok) throw new Error('render failed');
    expect(one.objects.podDisruptionBudget).toBeUndefined();
    expect(one.absent).toEqual([
      { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name: 'oncology', namespace: 'research' },
    ]);
    expect(two.absent).toEqual([]);
    expect(two.objects.podDisruptionBudget!.spec).toEqual({
      selector: datastoreSelector('oncology'),
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });

  it('runs under the restricted Pod Security profile with writable /tmp and /var/run only', () => {
    const o = render();
    const p = pod(o);
    expect(p.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, fsGroup: 999 });
    expect(p.securityContext!.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(p.automountServiceAccountToken).toBe(false);
    expect(container(o).securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(p.volumes).toEqual([
      { name: 'tmp', emptyDir: {} },
      { name: 'run', emptyDir: {} },
    ]);
    expect(container(o).volumeMounts!.map((m) => m.mountPath)).toEqual([
      '/var/lib/postgresql',
      '/tmp',
      '/var/run',
    ]);
  });

  it('probes the port over TCP', () => {
    const c = container(render());
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      expect(probe!.tcpSocket).toEqual({ port: 'datastore' });
    }
  });

  it('places the pods with the hub placement constraints, spread across zones over the datastore pods', () => {
    const p = pod(render());
    const result = hubPlacementConstraints(policy().spec, undefined, datastoreSelector('oncology'));
    if (!result.ok) throw new Error(result.message);
    expect(podSatisfiesPolicy(p, result.constraints).ok).toBe(true);
    expect(p.topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: ZONE, labelSelector: datastoreSelector('oncology') }),
    ]);
    const narrowed = pod(render(hub({ placement: { regions: ['fr-par'], spreadAcrossZones: false } })));
    expect(
      narrowed.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!
        .matchExpressions![0],
    ).toEqual({ key: 'topology.kubernetes.io/region', operator: 'In', values: ['fr-par'] });
    expect(narrowed.topologySpreadConstraints).toBeUndefined();
  });

  it('renders nothing for a hub region outside the policy', () => {
    const result = renderDatastore(hub({ placement: { regions: ['us-east-1'] } }), policy().spec);
    expect(result).toMatchObject({ ok: false, reason: 'RegionNotAllowed' });
  });

  it('adds the key delivery, holding its containers to the same security context', () => {
    const o = render(hub(), {
      keyDelivery: {
        volumes: [{ name: 'hdh-keys', emptyDir: { medium: 'Memory' } }],
        initContainers: [
          {
            name: 'unwrap-keys',
            image: 'hdh-operator:dev',
            securityContext: { privileged: true },
            volumeMounts: [{ name: 'hdh-keys', mountPath: '/keys' }],
          },
        ],
        datastoreMounts: [{ name: 'hdh-keys', mountPath: '/etc/hdh/keys', readOnly: true }],
        serviceAccountName: 'oncology-keys',
        podAnnotations: { 'hdh.sovereign.eu/key-version': '2' },
      },
    });
    const p = pod(o);
    expect(p.volumes).toContainEqual({ name: 'hdh-keys', emptyDir: { medium: 'Memory' } });
    expect(p.initContainers![0]!.securityContext).toEqual(container(o).securityContext);
    expect(p.serviceAccountName).toBe('oncology-keys');
    expect(p.automountServiceAccountToken).toBe(false);
    expect(container(o).volumeMounts).toContainEqual({
      name: 'hdh-keys',
      mountPath: '/etc/hdh/keys',
      readOnly: true,
    });
    expect(o.statefulSet.spec!.template.metadata!.annotations).toMatchObject({
      'hdh.sovereign.eu/key-version': '2',
    });
    expect(() => render(hub(), { keyDelivery: { volumes: [{ name: 'data', emptyDir: {} }] } })).toThrow(
      /reserved/,
    );
    expect(() =>
      render(hub(), { keyDelivery: { datastoreMounts: [{ name: 'hdh-keys', mountPath: '/k' }] } }),
    ).toThrow(/readOnly/);
  });

  it('is deterministic and leaves its input alone', () => {
    const h = hub({ datastore: { replicas: 2, env: [{ name: 'A', value: '1' }] } });
    const before = structuredClone(h);
    expect(render(h)).toEqual(render(h));
    expect(h).toEqual(before);
  });
});

describe('immutableStatefulSetChanges', () => {
  const desired = render().statefulSet;
  const live = (): V1StatefulSet => {
    // What the API server returns: map keys in its own order, quantities normalised, defaults set.
    const s = structuredClone(desired);
    s.spec!.selector = {
      matchLabels: { 'app.kubernetes.io/name': 'hdh-datastore', 'hdh.sovereign.eu/hub': 'oncology' },
    };
    s.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests!['storage'] = '20480Mi';
    s.spec!.volumeClaimTemplates![0]!.spec!.volumeMode = 'Filesystem';
    return s;
  };

  it('sees no change in what the API server normalised or defaulted', () => {
    expect(immutableStatefulSetChanges(live(), desired)).toEqual([]);
  });

  it('sees a grown claim template', () => {
    const grown = render(hub({ storage: { size: '30Gi', storageClassName: 'encrypted-eu' } })).statefulSet;
    expect(immutableStatefulSetChanges(live(), grown)).toEqual(['spec.volumeClaimTemplates']);
  });

  it('ignores the mutable fields (replicas, template)', () => {
    const scaled = render(hub({ datastore: { replicas: 5, image: 'other' } })).statefulSet;
    expect(immutableStatefulSetChanges(live(), scaled)).toEqual([]);
  });
});

describe('keepLegacyTemplateLabels', () => {
  const desired = render().statefulSet;
  // A StatefulSet as the versions that labelled the hub's objects with app.kubernetes.io/instance
  // rendered it (the selector never had the label).
  const old = (): V1StatefulSet => {
    const s = structuredClone(desired);
    s.metadata!.labels = { ...s.metadata!.labels, [LEGACY_INSTANCE_LABEL]: 'oncology' };
    s.spec!.template.metadata!.labels = {
      ...s.spec!.template.metadata!.labels,
      [LEGACY_INSTANCE_LABEL]: 'oncology',
    };
    const claim = s.spec!.volumeClaimTemplates![0]!.metadata!;
    claim.labels = { ...claim.labels, [LEGACY_INSTANCE_LABEL]: 'oncology' };
    return s;
  };

  it('keeps the label where the live templates have it: no rollout, no refused claim template', () => {
    const kept = keepLegacyTemplateLabels(old(), desired);
    expect(kept.spec!.template).toEqual(old().spec!.template);
    expect(kept.spec!.volumeClaimTemplates).toEqual(old().spec!.volumeClaimTemplates);
    expect(kept.spec!.selector).toEqual(desired.spec!.selector);
    // The StatefulSet's own labels are mutable and cost nothing to change: the label goes.
    expect(kept.metadata!.labels).not.toHaveProperty(LEGACY_INSTANCE_LABEL);
    expect(immutableStatefulSetChanges(old(), kept)).toEqual([]);
    // The input is left alone.
    expect(JSON.stringify(desired)).not.toContain(LEGACY_INSTANCE_LABEL);
  });

  it('adds nothing for a new hub or a StatefulSet rendered without the label', () => {
    expect(keepLegacyTemplateLabels(undefined, desired)).toBe(desired);
    expect(keepLegacyTemplateLabels(structuredClone(desired), desired)).toBe(desired);
  });

  it("takes nothing from a StatefulSet the hub does not own: a former same-named hub's, or anyone else's", () => {
    const former = old();
    former.metadata!.ownerReferences = [
      { ...former.metadata!.ownerReferences![0]!, uid: 'uid-of-a-deleted-hub' },
    ];
    expect(keepLegacyTemplateLabels(former, desired)).toBe(desired);
    const foreign = old();
    delete foreign.metadata!.ownerReferences;
    expect(keepLegacyTemplateLabels(foreign, desired)).toBe(desired);
  });

  it('keeps the pod template label and the claim template label each on their own', () => {
    const podOnly = old();
    delete podOnly.spec!.volumeClaimTemplates![0]!.metadata!.labels![LEGACY_INSTANCE_LABEL];
    const kept = keepLegacyTemplateLabels(podOnly, desired);
    expect(kept.spec!.template.metadata!.labels![LEGACY_INSTANCE_LABEL]).toBe('oncology');
    expect(kept.spec!.volumeClaimTemplates![0]!.metadata!.labels).not.toHaveProperty(LEGACY_INSTANCE_LABEL);
  });
});

describe('datastoreReport', () => {
  const sts = (replicas: number, ready: number, generation = 1, observed = 1): V1StatefulSet => ({
    metadata: { name: 'oncology', generation },
    spec: { replicas, selector: {}, serviceName: 'oncology', template: {} },
    status: { replicas, readyReplicas: ready, observedGeneration: observed },
  });

  it('is ready when every requested replica is ready', () => {
    const r = datastoreReport(hub({ datastore: { replicas: 2 } }), sts(2, 2));
    expect(r.status).toEqual({ replicas: 2, readyReplicas: 2 });
    expect(r.condition).toMatchObject({
      type: 'DatastoreReady',
      status: 'True',
      reason: 'ReplicasReady',
      observedGeneration: 3,
    });
  });

  it('is not ready with fewer ready replicas, a StatefulSet not created, or one not caught up', () => {
    const h = hub({ datastore: { replicas: 2 } });
    expect(datastoreReport(h, sts(2, 1)).condition).toMatchObject({
      status: 'False',
      reason: 'ReplicasNotReady',
    });
    expect(datastoreReport(h, sts(2, 1)).condition.message).toMatch(/1\/2/);
    expect(datastoreReport(h, undefined)).toMatchObject({
      status: { replicas: 2, readyReplicas: 0 },
      condition: { status: 'False', reason: 'ReplicasNotReady' },
    });
    expect(datastoreReport(h, sts(1, 1)).condition.status).toBe('False');
    expect(datastoreReport(h, sts(2, 2, 2, 1)).condition.status).toBe('False');
  });
});
