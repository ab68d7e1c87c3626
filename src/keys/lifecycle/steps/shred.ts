// Crypto-shred, confirmed: the KEK is destroyed before the wrapped keys, so a crash in between
// leaves keys that nothing can unwrap, and the next pass finishes the job.
import { dekSecretName } from '../../dek.js';
import type { KeyPlan } from '../../plan.js';
import { keysShreddedEvent, type Shredded } from '../report.js';
import type { Observed } from '../types.js';
import type { StepContext } from './context.js';

export async function shred(
  ctx: StepContext,
  plan: Extract<KeyPlan, { action: 'shred' }>,
  seen: Observed,
): Promise<void> {
  const identity = seen.identity;
  const { hub, keys, kek } = seen.observation;
  const done: Shredded = {};
  if (plan.destroyKek) {
    const destroyed = await ctx.provider.destroy(identity);
    if (destroyed) done.kekDestroyed = kek.state === 'present' ? kek.ref : identity.name;
  }
  if (plan.deleteKeys && seen.secret) {
    await ctx.store.delete(seen.secret);
    const versions = keys.state === 'present' ? keys.set.versions.length : undefined;
    done.secretDeleted = { name: dekSecretName(hub.ref.name), versions };
  }
  const event = keysShreddedEvent(done);
  if (!event) return;
  ctx.log?.info('hub keys crypto-shredded', { hub: `${hub.ref.namespace}/${hub.ref.name}` });
  ctx.events.push(event);
}
