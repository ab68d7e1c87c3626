// destroy shows what a confirmed deletion destroys, and confirms only the hub it read: a wrong
// name, a wrong UID, --yes without the UID or no terminal to type on all change nothing.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { HealthDataHub } from '../../../../src/api/index.js';
import { confirm, destroyPlan, whilePlanHolds } from '../../../../src/cli/hdh/destroy.js';
import { ConflictError, UserError } from '../../../../src/cli/hdh/errors.js';

const UID = '05364ebc-ab68-4cad-925f-b6b248266c15';
const OTHER = '11111111-2222-4333-8444-555555555555';

function hub(retention: 'Retain' | 'Delete', onDelete: 'Keep' | 'CryptoShred'): HealthDataHub {
  return {
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'HealthDataHub',
    metadata: { name: 'oncology', namespace: 'research', uid: UID },
    spec: {
      policyName: 'eu-hds',
      storage: { size: '1Gi', storageClassName: 'encrypted-eu', retention },
      encryption: { provider: 'pkcs11', onDelete },
    },
    status: {
      encryption: { provider: 'pkcs11', keyRef: `pkcs11/hdh-oncology/hdh.research.oncology.${UID}` },
    },
  } as HealthDataHub;
}

const claim = (name: string, retainedFrom?: string): V1PersistentVolumeClaim => ({
  metadata: {
    name,
    namespace: 'research',
    labels: {
      'hdh.sovereign.eu/hub': 'oncology',
      ...(retainedFrom ? { 'hdh.sovereign.eu/retained-from': retainedFrom } : {}),
    },
  },
  spec: { volumeName: `pv-${name}`, resources: { requests: { storage: '1Gi' } } },
  status: { phase: 'Bound', capacity: { storage: '1Gi' } },
});

const WHERE = { context: 'prod-eu', server: 'https://prod.example:6443' };

describe('destroyPlan', () => {
  const claims = [claim('data-oncology-0'), claim('data-oncology-1', OTHER), claim('data-other-0')];

  it('names the cluster first: the context and its API server', () => {
    const plan = destroyPlan(hub('Delete', 'CryptoShred'), claims, WHERE);
    expect(plan.lines[0]).toBe(
      `HealthDataHub research/oncology, uid ${UID}, on cluster https://prod.example:6443 (context prod-eu)`,
    );
  });

  it('destroys nothing with Retain and Keep, and says so', () => {
    const plan = destroyPlan(hub('Retain', 'Keep'), claims, WHERE);
    expect(plan.destroys).toBe(false);
    expect(plan.lines.join('\n')).toContain(
      'claims are kept whatever the confirmation: data-oncology-0 (volume pv-data-oncology-0, 1Gi)',
    );
    expect(plan.lines.join('\n')).toContain('are kept whatever the confirmation');
  });

  it("lists the hub's own claims (not a predecessor's) and its key reference when they would go", () => {
    const plan = destroyPlan(hub('Delete', 'CryptoShred'), claims, WHERE);
    const text = plan.lines.join('\n');
    expect(plan.destroys).toBe(true);
    expect(text).toContain(
      'claims are DELETED once the hub is deleted: data-oncology-0 (volume pv-data-oncology-0, 1Gi)',
    );
    expect(text).not.toContain('data-oncology-1');
    expect(text).not.toContain('data-other-0');
    expect(text).toContain(
      `the key-encryption key pkcs11/hdh-oncology/hdh.research.oncology.${UID} at provider pkcs11`,
    );
    expect(text).toContain('are DESTROYED once the hub is deleted');
    expect(text).toContain(`uid ${UID}`);
  });

  it('either setting alone destroys something', () => {
    expect(destroyPlan(hub('Delete', 'Keep'), claims, WHERE).destroys).toBe(true);
    expect(destroyPlan(hub('Retain', 'CryptoShred'), claims, WHERE).destroys).toBe(true);
  });
});

describe('confirm', () => {
  const h = hub('Delete', 'CryptoShred');
  const terminal = (answer: string, interactive = true) => {
    const asked: string[] = [];
    return {
      asked,
      interactive,
      ask: async (q: string) => {
        asked.push(q);
        return answer;
      },
    };
  };

  it("accepts the hub's name typed at a terminal", async () => {
    const t = terminal('oncology\n');
    await expect(confirm(h, WHERE, {}, t)).resolves.toBeUndefined();
    expect(t.asked).toEqual([
      "Type the hub's name (oncology) to confirm its destruction on https://prod.example:6443 (context prod-eu): ",
    ]);
  });

  it('refuses another name typed', async () => {
    await expect(confirm(h, WHERE, {}, terminal('oncolog'))).rejects.toThrow(
      '"oncolog" is not oncology: nothing was changed',
    );
    await expect(confirm(h, WHERE, {}, terminal(''))).rejects.toThrow(UserError);
  });

  it('refuses to ask when stdin is not a terminal', async () => {
    const t = terminal('oncology', false);
    await expect(confirm(h, WHERE, {}, t)).rejects.toThrow(`give --yes --confirm-uid ${UID}`);
    expect(t.asked).toEqual([]);
  });

  it("accepts --yes with the hub's UID, without asking", async () => {
    const t = terminal('', false);
    await expect(confirm(h, WHERE, { yes: true, confirmUid: UID }, t)).resolves.toBeUndefined();
    expect(t.asked).toEqual([]);
  });

  it("refuses --yes without the UID, and a UID that is not the hub's, even when typed right", async () => {
    await expect(confirm(h, WHERE, { yes: true }, terminal(''))).rejects.toThrow('--yes needs --confirm-uid');
    await expect(confirm(h, WHERE, { yes: true, confirmUid: OTHER }, terminal(''))).rejects.toThrow(
      `--confirm-uid ${OTHER} is not the UID of healthdatahub research/oncology (${UID}): nothing was changed`,
    );
    await expect(confirm(h, WHERE, { confirmUid: OTHER }, terminal('oncology'))).rejects.toThrow(
      'is not the UID',
    );
  });
});

describe('whilePlanHolds', () => {
  const claims = [claim('data-oncology-0')];
  const shown = (h: HealthDataHub) => ({ hub: h, lines: destroyPlan(h, claims, WHERE).lines });
  const at = (h: HealthDataHub, resourceVersion: string): HealthDataHub => ({
    ...h,
    metadata: { ...h.metadata, resourceVersion },
  });
  const conflict = () => new ConflictError('changed');

  /** A write that meets `conflicts` conflicts first; the resourceVersions it was given. */
  function writer(conflicts: number) {
    const given: (string | undefined)[] = [];
    return {
      given,
      write: async (h: HealthDataHub) => {
        given.push(h.metadata.resourceVersion);
        if (given.length <= conflicts) throw conflict();
        return 'done';
      },
    };
  }

  it('writes once when nothing changed', async () => {
    const h = at(hub('Delete', 'CryptoShred'), '10');
    const w = writer(0);
    await expect(whilePlanHolds(shown(h), WHERE, async () => ({ hub: h, claims }), w.write)).resolves.toBe(
      'done',
    );
    expect(w.given).toEqual(['10']);
  });

  it('writes again at the new resourceVersion when what changed leaves the plan as shown', async () => {
    const h = at(hub('Delete', 'CryptoShred'), '10');
    const w = writer(1);
    const read = async () => ({ hub: at(h, '11'), claims });
    await expect(whilePlanHolds(shown(h), WHERE, read, w.write)).resolves.toBe('done');
    expect(w.given).toEqual(['10', '11']);
  });

  it('stops, writing nothing more, when the spec changed what would be destroyed', async () => {
    const h = at(hub('Delete', 'CryptoShred'), '10');
    const w = writer(1);
    const read = async () => ({ hub: at(hub('Retain', 'CryptoShred'), '11'), claims });
    await expect(whilePlanHolds(shown(h), WHERE, read, w.write)).rejects.toThrow(
      'healthdatahub research/oncology changed since its plan was shown',
    );
    expect(w.given).toEqual(['10']);
  });

  it('stops when a claim appeared, or the hub was replaced, or a check refuses', async () => {
    const h = at(hub('Delete', 'CryptoShred'), '10');
    const more = async () => ({ hub: at(h, '11'), claims: [...claims, claim('data-oncology-1')] });
    await expect(whilePlanHolds(shown(h), WHERE, more, writer(1).write)).rejects.toThrow('changed since');
    const replaced = async () => ({
      hub: { ...h, metadata: { ...h.metadata, uid: OTHER, resourceVersion: '12' } },
      claims,
    });
    await expect(whilePlanHolds(shown(h), WHERE, replaced, writer(1).write)).rejects.toThrow(
      `was replaced since it was read (it is no longer uid ${UID})`,
    );
    const refuse = () => 'the confirmation was removed';
    await expect(
      whilePlanHolds(shown(h), WHERE, async () => ({ hub: at(h, '11'), claims }), writer(1).write, refuse),
    ).rejects.toThrow('the confirmation was removed');
  });

  it('gives up, saying so, when the hub keeps changing', async () => {
    const h = at(hub('Delete', 'CryptoShred'), '10');
    let rv = 10;
    const read = async () => ({ hub: at(h, String(++rv)), claims });
    await expect(whilePlanHolds(shown(h), WHERE, read, writer(100).write)).rejects.toThrow(
      /changed at every attempt/,
    );
  });

  it('lets any other failure through', async () => {
    const h = hub('Delete', 'CryptoShred');
    const fail = async () => {
      throw new UserError('forbidden');
    };
    await expect(whilePlanHolds(shown(h), WHERE, async () => ({ hub: h, claims }), fail)).rejects.toThrow(
      'forbidden',
    );
  });
});
