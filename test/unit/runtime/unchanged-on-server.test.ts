// Whether a server-side apply would change nothing, read from the live object's values and its
// managedFields. The fieldsV1 shapes are those the API server records (keyed lists with defaulted
// key fields, atomic lists and structs as leaves, set lists).
import type { KubernetesObject, V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { AppliedCache } from '../../../src/runtime/apply-cache.js';
import { unchangedOnServer } from '../../../src/runtime/unchanged-on-server.js';

const MANAGER = 'hdh-operator';
const UID = '913954ee-9494-4cf4-9201-e47e5dbe48e9';

const labels = { 'app.kubernetes.io/managed-by': 'hdh-operator', 'hdh.sovereign.eu/hub': 'h' };

/** A headless Service as the datastore step renders it. */
function desiredService(): KubernetesObject & Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'h',
      namespace: 'ns',
      labels: { ...labels },
      ownerReferences: [
        { apiVersion: 'hdh.sovereign.eu/v1alpha1', kind: 'HealthDataHub', name: 'h', uid: UID },
      ],
    },
    spec: {
      clusterIP: 'None',
      selector: { 'hdh.sovereign.eu/hub': 'h' },
      ports: [{ name: 'postgres', port: 5432, targetPort: 'postgres' }],
    },
  };
}

/** What the API server records for that apply. */
function serviceFields(): Record<string, unknown> {
  return {
    'f:metadata': {
      'f:labels': { 'f:app.kubernetes.io/managed-by': {}, 'f:hdh.sovereign.eu/hub': {} },
      'f:ownerReferences': { [`k:{"uid":"${UID}"}`]: {} },
    },
    'f:spec': {
      'f:clusterIP': {},
      'f:ports': {
        // The key names the protocol the server defaulted; the fields are those applied.
        'k:{"port":5432,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:targetPort': {} },
      },
      'f:selector': {},
    },
  };
}

const entry = (fieldsV1: unknown, over: Partial<V1ManagedFieldsEntry> = {}): V1ManagedFieldsEntry => ({
  manager: MANAGER,
  operation: 'Apply',
  apiVersion: 'v1',
  fieldsType: 'FieldsV1',
  fieldsV1: fieldsV1 as object,
  ...over,
});

/** The live Service: the desired values, the server's defaults, and the managedFields given. */
function liveService(managedFields: V1ManagedFieldsEntry[] = [entry(serviceFields())]) {
  const d = desiredService();
  const spec = d.spec as Record<string, unknown>;
  return {
    ...d,
    metadata: {
      ...d.metadata,
      uid: 'svc-uid',
      resourceVersion: '42',
      labels: { ...labels, 'kubernetes.io/other': 'x' },
      managedFields,
    },
    spec: {
      ...spec,
      clusterIPs: ['None'],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ports: [{ name: 'postgres', port: 5432, protocol: 'TCP', targetPort: 'postgres' }],
    },
    status: { loadBalancer: {} },
  } as KubernetesObject & Record<string, unknown>;
}

describe('unchangedOnServer', () => {
  it('is true when our Apply entry owns exactly the desired fields and the values hold (defaults aside)', () => {
    expect(unchangedOnServer(desiredService(), liveService(), MANAGER)).toBe(true);
  });

  it('is false without a live object, or for one being deleted', () => {
    expect(unchangedOnServer(desiredService(), undefined, MANAGER)).toBe(false);
    const live = liveService();
    live.metadata!.deletionTimestamp = new Date();
    expect(unchangedOnServer(desiredService(), live, MANAGER)).toBe(false);
  });

  it('is false when our manager has no Apply entry for the object itself', () => {
    expect(unchangedOnServer(desiredService(), liveService([]), MANAGER)).toBe(false);
    // Another manager applied the same fields: an apply of ours would take them over.
    expect(
      unchangedOnServer(
        desiredService(),
        liveService([entry(serviceFields(), { manager: 'kubectl' })]),
        MANAGER,
      ),
    ).toBe(false);
    // An Update (kubectl edit under our name) or an entry of the status subresource is not our apply.
    expect(
      unchangedOnServer(
        desiredService(),
        liveService([entry(serviceFields(), { operation: 'Update' })]),
        MANAGER,
      ),
    ).toBe(false);
    expect(
      unchangedOnServer(
        desiredService(),
        liveService([entry(serviceFields(), { subresource: 'status' })]),
        MANAGER,
      ),
    ).toBe(false);
  });

  it('is false when the entry was made at another apiVersion', () => {
    const live = liveService([entry(serviceFields(), { apiVersion: 'v2' })]);
    expect(unchangedOnServer(desiredService(), live, MANAGER)).toBe(false);
  });

  it('is false when someone changed a value we set', () => {
    const live = liveService();
    (live.metadata!.labels as Record<string, string>)['hdh.sovereign.eu/hub'] = 'other';
    expect(unchangedOnServer(desiredService(), live, MANAGER)).toBe(false);
    const moved = liveService();
    (moved.spec as { ports: { port: number }[] }).ports[0]!.port = 5433;
    expect(unchangedOnServer(desiredService(), moved, MANAGER)).toBe(false);
  });

  it('is false when we own a field the desired object no longer sets (the apply would remove it)', () => {
    const fields = serviceFields();
    (fields['f:metadata'] as { 'f:labels': Record<string, unknown> })['f:labels']['f:old-label'] = {};
    const live = liveService([entry(fields)]);
    (live.metadata!.labels as Record<string, string>)['old-label'] = 'v';
    expect(unchangedOnServer(desiredService(), live, MANAGER)).toBe(false);
  });

  it('is false when the desired object sets a field we do not own, even at the same value', () => {
    const desired = desiredService();
    desired.metadata!.labels!['kubernetes.io/other'] = 'x'; // live has it, under another manager
    expect(unchangedOnServer(desired, liveService(), MANAGER)).toBe(false);
  });

  it('matches keyed list items whose key fields the server defaulted, and no more items than owned', () => {
    const twoPorts = desiredService();
    (twoPorts.spec as { ports: object[] }).ports.push({ name: 'metrics', port: 9187 });
    const live = liveService();
    (live.spec as { ports: object[] }).ports.push({ name: 'metrics', port: 9187, protocol: 'TCP' });
    // The second port is live, but not owned by our entry: an apply would take it.
    expect(unchangedOnServer(twoPorts, live, MANAGER)).toBe(false);
    const fields = serviceFields();
    const ports = (fields['f:spec'] as { 'f:ports': Record<string, unknown> })['f:ports'];
    ports['k:{"port":9187,"protocol":"TCP"}'] = { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {} };
    live.metadata!.managedFields = [entry(fields)];
    // Owned now, but the item of our entry also owns protocol, which the desired item leaves out.
    expect(unchangedOnServer(twoPorts, live, MANAGER)).toBe(false);
    (twoPorts.spec as { ports: object[] }).ports[1] = { name: 'metrics', port: 9187, protocol: 'TCP' };
    expect(unchangedOnServer(twoPorts, live, MANAGER)).toBe(true);
  });

  it('compares atomic lists and structs (leaves of fieldsV1) by value', () => {
    const role = (rules: object[]) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'r', namespace: 'hdh-system', labels: { a: '1' } },
      rules,
    });
    const rules = [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['k'], verbs: ['get'] }];
    const live = {
      ...role(rules),
      metadata: {
        ...role(rules).metadata,
        managedFields: [
          entry(
            { 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:rules': {} },
            { apiVersion: role(rules).apiVersion },
          ),
        ],
      },
    };
    expect(unchangedOnServer(role(rules), live, MANAGER)).toBe(true);
    expect(unchangedOnServer(role([{ ...rules[0], verbs: ['get', 'list'] }]), live, MANAGER)).toBe(false);
    expect(unchangedOnServer(role([...rules, ...rules]), live, MANAGER)).toBe(false);
  });

  it('matches set lists (v:) by value', () => {
    const desired = {
      apiVersion: 'v1',
      kind: 'X',
      metadata: { name: 'x' },
      spec: { finalizers: ['a', 'b'] },
    };
    const fields = { 'f:spec': { 'f:finalizers': { '.': {}, 'v:"a"': {}, 'v:"b"': {} } } };
    const live = { ...desired, metadata: { name: 'x', managedFields: [entry(fields)] } };
    expect(unchangedOnServer(desired, live, MANAGER)).toBe(true);
    const other = { ...desired, spec: { finalizers: ['a', 'c'] } };
    const changed = { ...live, spec: other.spec };
    expect(unchangedOnServer(other, changed, MANAGER)).toBe(false);
  });

  it('answers false on fieldsV1 it does not recognise', () => {
    const fields = serviceFields();
    (fields['f:spec'] as Record<string, unknown>)['f:ports'] = { 'x:unknown': {} };
    expect(unchangedOnServer(desiredService(), liveService([entry(fields)]), MANAGER)).toBe(false);
  });
});

describe('AppliedCache with the live object', () => {
  it('remembers an object found unchanged on the server as applied, without a request', () => {
    const cache = new AppliedCache(MANAGER);
    const live = liveService();
    expect(cache.needsApply('Service/ns/h', desiredService(), live)).toBe(false);
    // Remembered: no live object needed any more, and a drift of the live object drops it.
    expect(cache.needsApply('Service/ns/h', desiredService())).toBe(false);
    expect(cache.observe('Service/ns/h', { resourceVersion: '43' })).toBe(true);
    expect(cache.needsApply('Service/ns/h', desiredService())).toBe(true);
  });

  it('applies what differs from the live object, and everything without a field manager', () => {
    const changed = desiredService();
    (changed.spec as { selector: Record<string, string> }).selector = { other: 'x' };
    expect(new AppliedCache(MANAGER).needsApply('k', changed, liveService())).toBe(true);
    expect(new AppliedCache().needsApply('k', desiredService(), liveService())).toBe(true);
  });
});
