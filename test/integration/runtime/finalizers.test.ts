import { HEALTH_DATA_HUB } from '../../../src/api/index.js';
import { Writer } from '../../../src/runtime/apply.js';
import { ApiClients } from '../../../src/runtime/client.js';
import { testKubeConfig } from '../../support/cluster.js';
import { createHub, getHub, hubManifest, prepareHubNamespace } from '../../support/hubs.js';

const F = 'hdh.sovereign.eu/finalizer';

describe('finalizers through guarded JSON patches', () => {
  const kc = testKubeConfig();
  const writer = new Writer(new ApiClients(kc), 'hdh-operator');
  let ns: string;

  beforeAll(async () => {
    ns = await prepareHubNamespace(kc, 'it-fin');
    await createHub(kc, hubManifest('f', ns));
  });

  it('adds and removes a finalizer, and never loses a concurrent edit', async () => {
    const read = await getHub(kc, ns, 'f');
    // Another writer changes the hub (another controller's status write): the resourceVersion
    // guard refuses the patch from the older read, and the writer adds it on a fresh read.
    await writer.applyStatus(HEALTH_DATA_HUB, 'f', ns, { observedGeneration: 0 });
    expect((await getHub(kc, ns, 'f')).metadata.resourceVersion).not.toBe(read.metadata.resourceVersion);
    expect(await writer.addFinalizer(HEALTH_DATA_HUB, read, F)).toBe(true);
    const withOurs = await getHub(kc, ns, 'f');
    expect(withOurs.metadata.finalizers).toEqual([F]);
    // Adding again from that stale read is refused by the resourceVersion test, and the fresh read
    // finds it there: not duplicated, nothing written.
    expect(await writer.addFinalizer(HEALTH_DATA_HUB, read, F)).toBe(false);
    const again = await getHub(kc, ns, 'f');
    expect(again.metadata.finalizers).toEqual([F]);
    expect(again.metadata.resourceVersion).toBe(withOurs.metadata.resourceVersion);

    // Someone else adds theirs; our removal from a view that predates it still works by index
    // test (our entry is where we saw it) and keeps theirs.
    await writer.addFinalizer(HEALTH_DATA_HUB, withOurs, 'example.eu/backup');
    const both = await getHub(kc, ns, 'f');
    expect(both.metadata.finalizers).toEqual([F, 'example.eu/backup']);
    expect(await writer.removeFinalizer(HEALTH_DATA_HUB, withOurs, F)).toBe(true);
    expect((await getHub(kc, ns, 'f')).metadata.finalizers).toEqual(['example.eu/backup']);

    // A removal based on a view where the list has since shifted is refused, not misapplied.
    const stale = { ...both, metadata: { ...both.metadata, finalizers: ['x', F] } };
    await expect(writer.removeFinalizer(HEALTH_DATA_HUB, stale, F)).rejects.toMatchObject({ code: 422 });
    expect((await getHub(kc, ns, 'f')).metadata.finalizers).toEqual(['example.eu/backup']);
  });
});
