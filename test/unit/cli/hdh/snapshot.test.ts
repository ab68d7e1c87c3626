// What the snapshot reader takes from the operator's namespace: the version of its Deployment
// (informative: a refusal is said, not fatal) and only the history ConfigMaps the operator wrote.
import type { KubernetesObject } from '@kubernetes/client-node';
import { UserError } from '../../../../src/cli/hdh/errors.js';
import type { ListOptions, Reader } from '../../../../src/cli/hdh/reads.js';
import {
  findOperator,
  historySource,
  operatorVersion,
  readHistories,
} from '../../../../src/cli/hdh/snapshot.js';

/** A Reader answering lists from a table keyed by resource, and failing where told. */
function fakeReader(objects: Record<string, KubernetesObject[] | Error>): Reader & { calls: string[] } {
  const calls: string[] = [];
  const answer = (resource: string) => {
    const v = objects[resource];
    if (v instanceof Error) throw v;
    return v ?? [];
  };
  return {
    calls,
    list: async (_model: unknown, resource: string, opts: ListOptions = {}) => {
      calls.push(`list ${resource} ${opts.namespace ?? ''} ${JSON.stringify(opts.labels ?? {})}`);
      return answer(resource);
    },
    get: async (_model: unknown, resource: string, name: string, namespace?: string) => {
      calls.push(`get ${resource} ${namespace ?? ''}/${name}`);
      const found = answer(resource).find((o) => o.metadata?.name === name);
      if (!found) throw new UserError('not found');
      return found;
    },
  } as unknown as Reader & { calls: string[] };
}

const deployment = (name: string, version?: string): KubernetesObject => ({
  metadata: {
    name,
    labels: {
      'app.kubernetes.io/name': 'hdh-operator',
      ...(version ? { 'app.kubernetes.io/version': version } : {}),
    },
  },
});

/** The operator's version as the report reads it: the Deployment found, then its label. */
const readOperatorVersion = async (reader: Parameters<typeof findOperator>[0], namespace: string) =>
  operatorVersion(await findOperator(reader, namespace));

describe('the operator version (findOperator, operatorVersion)', () => {
  it("reads the version label of the operator's Deployment, saying where", async () => {
    const reader = fakeReader({ 'deployments.apps': [deployment('hdh-operator', '0.1.0')] });
    expect(await readOperatorVersion(reader, 'hdh-system')).toEqual({
      version: '0.1.0',
      source: 'label app.kubernetes.io/version of Deployment hdh-system/hdh-operator',
    });
    expect(reader.calls).toEqual([
      'list deployments.apps hdh-system {"app.kubernetes.io/name":"hdh-operator"}',
    ]);
  });

  it('says why the version is unknown instead of failing', async () => {
    expect(await readOperatorVersion(fakeReader({}), 'hdh-system')).toEqual({
      source: 'no Deployment labelled app.kubernetes.io/name=hdh-operator in namespace hdh-system',
    });
    expect(await readOperatorVersion(fakeReader({ 'deployments.apps': [deployment('op')] }), 'ops')).toEqual({
      source: 'Deployment ops/op has no app.kubernetes.io/version label',
    });
    const refused = fakeReader({
      'deployments.apps': new UserError('forbidden: cannot list deployments.apps'),
    });
    expect((await readOperatorVersion(refused, 'hdh-system')).source).toBe(
      'not read: forbidden: cannot list deployments.apps',
    );
  });
});

describe('historySource', () => {
  it('names the operator found in the namespace the history is read from', async () => {
    const found = await findOperator(
      fakeReader({ 'deployments.apps': [deployment('hdh-operator', '0.1.0')] }),
      'ops',
    );
    expect(historySource(found, 'ops')).toEqual({
      namespace: 'ops',
      operatorFound: true,
      source:
        'ConfigMaps hdh-history.<namespace> of namespace ops, where the operator runs (Deployment ops/hdh-operator)',
    });
  });

  it('says when no operator Deployment is there: the history read may not be the record', async () => {
    const none = await findOperator(fakeReader({}), 'hdh-system');
    expect(historySource(none, 'hdh-system')).toEqual({
      namespace: 'hdh-system',
      operatorFound: false,
      source:
        'ConfigMaps hdh-history.<namespace> of namespace hdh-system, where no Deployment labelled ' +
        'app.kubernetes.io/name=hdh-operator was found: if the operator runs in another namespace, this is not ' +
        'its record (give --operator-namespace); an operator run outside the cluster keeps it here',
    });
    const refused = await findOperator(
      fakeReader({ 'deployments.apps': new UserError('forbidden: cannot list deployments.apps') }),
      'hdh-system',
    );
    expect(historySource(refused, 'hdh-system')).toMatchObject({
      operatorFound: false,
      source: expect.stringContaining(
        'where the operator could not be looked for (forbidden: cannot list deployments.apps)',
      ),
    });
  });
});

const historyMap = (name: string, of: string, entries: unknown[]): KubernetesObject & { data: object } => ({
  metadata: { name, labels: { 'hdh.sovereign.eu/history-of': of } },
  data: { entries: JSON.stringify(entries) },
});

const entry = {
  time: '2025-03-01T00:00:00Z',
  type: 'Eviction',
  hub: 'h',
  pod: 'p',
  reason: 'PodsOutsidePolicy',
  message: 'evicted',
};

describe('readHistories', () => {
  it('takes every history ConfigMap whose label and name agree, sorted by namespace', async () => {
    const reader = fakeReader({
      configmaps: [
        historyMap('hdh-history.b', 'b', [entry]),
        historyMap('hdh-history.a', 'a', []),
        // A ConfigMap claiming another namespace's history under a name that is not its record.
        historyMap('hdh-history.b-copy', 'a', [entry]),
      ],
    });
    expect(await readHistories(reader, undefined, 'hdh-system')).toEqual([
      { namespace: 'a', entries: [] },
      { namespace: 'b', entries: [entry] },
    ]);
    expect(reader.calls).toEqual(['list configmaps hdh-system {"hdh.sovereign.eu/history-of":""}']);
  });

  it('reads the one ConfigMap of a namespace by name', async () => {
    const reader = fakeReader({ configmaps: [historyMap('hdh-history.b', 'b', [entry])] });
    expect(await readHistories(reader, 'b', 'hdh-system')).toEqual([{ namespace: 'b', entries: [entry] }]);
    expect(reader.calls).toEqual(['get configmaps hdh-system/hdh-history.b']);
  });

  it('fails when the history cannot be read: a report does not leave it out silently', async () => {
    const reader = fakeReader({
      configmaps: new UserError('forbidden: cannot list configmaps in namespace hdh-system'),
    });
    await expect(readHistories(reader, undefined, 'hdh-system')).rejects.toThrow(
      'forbidden: cannot list configmaps',
    );
  });
});
