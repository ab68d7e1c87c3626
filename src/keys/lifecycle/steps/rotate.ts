// Rotate: a new key version, the active pointer and the rotate-key value it honours change in one
// conditional Secret update. With rotateKek (providers that version KEKs) the KEK is rotated
// first and every stored version rewrapped under it, proven, and stored in that same update.
import { addDekVersion, assertOnlyAdds, renderDekSecret, type DekSet } from '../../dek.js';
import type { KeyPlan } from '../../plan.js';
import { keyRotatedEvent } from '../report.js';
import type { Observed } from '../types.js';
import type { StepContext } from './context.js';
import { rewrapStale, verifyEveryVersion, wrapNewDek } from './wrapping.js';

export async function rotate(
  ctx: StepContext,
  plan: Extract<KeyPlan, { action: 'rotate' }>,
  seen: Observed,
): Promise<void> {
  const { provider } = ctx;
  const identity = seen.identity;
  const { keys, hub, kek } = seen.observation;
  if (keys.state !== 'present' || !seen.secret) throw new Error('rotation without a key set');
  let latest = kek.state === 'present' ? kek.latestVersion : undefined;
  if (plan.rotateKek) {
    // Every version is rewrapped under the new KEK version: check first that each one can be,
    // so that a damaged version stops the rotation before anything changes.
    await verifyEveryVersion(provider, identity, keys.set);
    if (!provider.rotate) throw new Error(`provider ${hub.provider} does not rotate key-encryption keys`);
    const versions = (await provider.rotate(identity)).versions;
    latest = versions?.length ? Math.max(...versions) : undefined;
  }
  const { versions, rewrapped } = await rewrapStale(seen.observation, latest, identity, provider);
  const wrapped = await wrapNewDek(provider, identity);
  const added = addDekVersion({ ...keys.set, versions }, wrapped, ctx.clock());
  const next: DekSet = {
    ...added,
    ...(plan.honour !== undefined ? { honouredRotation: plan.honour } : {}),
  };
  assertOnlyAdds(keys.set, next, rewrapped);
  await ctx.store.replace(seen.secret, renderDekSecret(hub.ref, next));
  ctx.metrics?.rotations.inc();
  ctx.log?.info('hub key rotated', {
    hub: `${hub.ref.namespace}/${hub.ref.name}`,
    activeVersion: next.activeVersion,
    trigger: plan.trigger,
    ...(plan.rotateKek ? { kekVersion: latest } : {}),
    rewrapped: rewrapped.size,
  });
  ctx.events.push(keyRotatedEvent(plan, next.activeVersion, rewrapped, latest));
}
