// Adopt: the keys of the earlier hub `plan.from` become this hub's own, as its annotation asks.
// Only their owner is rewritten, in one conditional update, after the active version was proven
// (by the observation) to unwrap under the KEK the keys name.
import { LABEL_RETAINED_FROM } from '../../../api/index.js';
import { adoptDekSet, renderDekSecret } from '../../dek.js';
import type { KeyPlan } from '../../plan.js';
import { keysAdoptedEvent } from '../report.js';
import type { Observed } from '../types.js';
import type { StepContext } from './context.js';

export async function adopt(
  ctx: StepContext,
  plan: Extract<KeyPlan, { action: 'adopt' }>,
  seen: Observed,
): Promise<void> {
  const { keys, hub } = seen.observation;
  if (keys.state !== 'foreign' || !seen.secret) throw new Error('adoption without keys to adopt');
  const next = adoptDekSet(keys.set, hub.ref);
  // The retained mark named the earlier hub; the keys are in use again.
  await ctx.store.replace(seen.secret, renderDekSecret(hub.ref, next), [LABEL_RETAINED_FROM]);
  ctx.log?.info('hub keys adopted', {
    hub: `${hub.ref.namespace}/${hub.ref.name}`,
    from: plan.from,
    versions: next.versions.length,
  });
  ctx.events.push(keysAdoptedEvent(plan.from, next));
}
