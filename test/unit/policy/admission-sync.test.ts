import type { KubernetesObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SovereigntyPolicy } from '../../../src/api/index.js';
import { admissionObjectNames } from '../../../src/placement/admission.js';
import { AdmissionSync } from '../../../src/policy/admission-sync.js';
import type { Writer } from '../../../src/runtime/apply.js';
import type { ApiClients } from '../../../src/runtime/client.js';
import { WriteRefused } from '../../../src/runtime/errors.js';

const policy = (regions = ['fr-par']) =>
  ({
    apiVersion: 'hdh.sovereign.eu/v1alpha1',
    kind: 'SovereigntyPolicy',
    metadata: { name: 'eu-hds', generation: 1 },
    spec: { regions },
  }) as SovereigntyPolicy;

/** A writer whose applies take `ms` each, recording what overlapped; `refuse` names refused objects. */
function slowWriter(ms: number, refuse: (o: KubernetesObject) => boolean = () => false) {
  const log: { event: 'start' | 'end'; what: string }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const writer = {
    fieldManager: 'hdh-operator',
    apply: async (obj: KubernetesObject) => {
      const what = `${obj.kind}/${obj.metadata?.name}`;
      log.push({ event: 'start', what });
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await sleep(ms);
      inFlight--;
      log.push({ event: 'end', what });
      if (refuse(obj)) throw new WriteRefused(obj.kind!, obj.metadata!.name!, undefined, 422, 'invalid');
      return { ...obj, metadata: { ...obj.metadata, generation: 1, resourceVersion: '1' } };
    },
    objects: { delete: async () => ({}) },
  } as unknown as Writer;
  return { writer, log, maxInFlight: () => maxInFlight };
}

const clients = (mutating: boolean) =>
  ({
    make: () => ({
      getAPIResources: async () => ({
        resources: mutating ? [{ name: 'mutatingadmissionpolicies' }] : [],
      }),
    }),
  }) as unknown as ApiClients;

describe('AdmissionSync', () => {
  it('applies the policy pairs at once, each policy before its binding', async () => {
    const w = slowWriter(30);
    const sync = new AdmissionSync(clients(true), w.writer, () => undefined);
    const outcome = await sync.sync(policy());
    expect(outcome).toEqual({ written: 6 });
    // Three pairs (placement, node name, injection) in flight together, never a binding early.
    expect(w.maxInFlight()).toBe(3);
    const names = admissionObjectNames('eu-hds');
    const at = (event: 'start' | 'end', what: string) =>
      w.log.findIndex((e) => e.event === event && e.what === what);
    for (const [kind, name] of [
      ['ValidatingAdmissionPolicy', names.placement],
      ['ValidatingAdmissionPolicy', names.nodeName],
      ['MutatingAdmissionPolicy', names.injection],
    ] as const) {
      expect(at('end', `${kind}/${name}`)).toBeGreaterThanOrEqual(0);
      expect(at('end', `${kind}/${name}`)).toBeLessThan(at('start', `${kind}Binding/${name}`));
    }
    // Nothing left to write: a second sync writes nothing; a changed policy writes again.
    expect(await sync.sync(policy())).toEqual({ written: 0 });
    expect((await sync.sync(policy(['fr-par', 'de-fra'])))?.written).toBeGreaterThan(0);
  });

  it('reports the refused object and applies the fail-closed pair when one pair is refused', async () => {
    const names = admissionObjectNames('eu-hds');
    const w = slowWriter(
      5,
      (o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata?.name === names.nodeName,
    );
    const sync = new AdmissionSync(clients(false), w.writer, () => undefined);
    const outcome = await sync.sync(policy());
    expect(outcome.failure).toContain(`ValidatingAdmissionPolicy ${names.nodeName}`);
    expect(outcome).toMatchObject({ failClosed: true, refused: true });
    // The refused policy's binding was not applied; the fail-closed pair was.
    const applied = w.log.filter((e) => e.event === 'end').map((e) => e.what);
    expect(applied).not.toContain(`ValidatingAdmissionPolicyBinding/${names.nodeName}`);
    expect(applied).toEqual(
      expect.arrayContaining([
        `ValidatingAdmissionPolicy/${names.failClosed}`,
        `ValidatingAdmissionPolicyBinding/${names.failClosed}`,
      ]),
    );
  });
});
