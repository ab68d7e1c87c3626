// Rewrap: versions wrapped under an older KEK version (the KEK was rotated at the provider) are
// re-encrypted under its latest one, each proven to unwrap to the same key; nothing new is stored.
import { assertOnlyAdds, renderDekSecret, type DekSet } from '../../dek.js';
import { keysRewrappedEvent } from '../report.js';
import type { Observed } from '../types.js';
import type { StepContext } from './context.js';
import { rewrapStale } from './wrapping.js';

export async function rewrap(ctx: StepContext, seen: Observed): Promise<void> {
  const { keys, hub, kek } = seen.observation;
  if (keys.state !== 'present' || !seen.secret) throw new Error('rewrap without a key set');
  const latest = kek.state === 'present' ? kek.latestVersion : undefined;
  const { versions, rewrapped } = await rewrapStale(seen.observation, latest, seen.identity, ctx.provider);
  if (rewrapped.size === 0) return;
  const next: DekSet = { ...keys.set, versions };
  assertOnlyAdds(keys.set, next, rewrapped);
  await ctx.store.replace(seen.secret, renderDekSecret(hub.ref, next));
  ctx.log?.info('hub keys rewrapped', {
    hub: `${hub.ref.namespace}/${hub.ref.name}`,
    kekVersion: latest,
    rewrapped: rewrapped.size,
  });
  ctx.events.push(keysRewrappedEvent(rewrapped, latest, keys.set.kekRef));
}
