// Initialize: the KEK first (or the one an earlier attempt made), then the `<hub>-keys` Secret
// with version 1, created only where none exists. A KEK found without a Secret is resumed with,
// never duplicated; KeyExistsError after a lost answer is confirmed with find.
import { newDekSet, renderDekSecret, type DekSet } from '../../dek.js';
import type { KeyPlan } from '../../plan.js';
import { KeyExistsError, KeyMissingError, ProviderUnavailableError } from '../../provider.js';
import { keysCreatedEvent } from '../report.js';
import type { Observed } from '../types.js';
import type { StepContext } from './context.js';
import { wrapNewDek } from './wrapping.js';

export async function initialize(
  ctx: StepContext,
  plan: Extract<KeyPlan, { action: 'initialize' }>,
  seen: Observed,
): Promise<void> {
  const { provider } = ctx;
  const facts = seen.observation.hub;
  const identity = seen.identity;
  // New keys are only ever the hub's own, under the current (injective) identity.
  if (identity.scheme !== 'current' || identity.hub.uid !== facts.ref.uid) {
    throw new Error(
      `keys of hub ${facts.ref.namespace}/${facts.ref.name} are only made under its own identity`,
    );
  }
  let created = false;
  let kekRef: string;
  if (plan.createKek) {
    try {
      kekRef = (await provider.create(identity)).ref;
      created = true;
    } catch (e) {
      if (!(e instanceof KeyExistsError)) throw e;
      // An earlier create whose answer was lost, most likely: the key that exists is the one.
      const info = await provider.find(identity);
      if (!info) throw new ProviderUnavailableError(`${e.message}, yet find does not see it`, e.provider);
      kekRef = info.ref;
    }
  } else {
    const info = await provider.find(identity);
    if (!info) throw new KeyMissingError(identity.name, facts.provider, provider.describe().reference);
    kekRef = info.ref;
  }
  const wrapped = await wrapNewDek(provider, identity);
  const set: DekSet = {
    ...newDekSet({ hub: facts.ref, provider: facts.provider, kekRef, wrapped, now: ctx.clock() }),
    ...(plan.honour !== undefined ? { honouredRotation: plan.honour } : {}),
  };
  await ctx.store.create(renderDekSecret(facts.ref, set));
  ctx.log?.info('hub keys created', {
    hub: `${facts.ref.namespace}/${facts.ref.name}`,
    provider: facts.provider,
    keyRef: kekRef,
    kekCreated: created,
  });
  ctx.events.push(keysCreatedEvent(facts.ref, kekRef, created));
}
