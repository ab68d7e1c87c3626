// Runs the one step a plan calls for, and sorts what can go wrong: a provider that cannot answer
// (wait), a stored version found damaged (block), or the world changing under the step (observe
// again). Anything else propagates.
import type { KeyPlan } from '../../plan.js';
import { KeyInvalidError, KeyMissingError, ProviderUnavailableError } from '../../provider.js';
import { damagedVersionMessage } from '../report.js';
import { WriteConflict } from '../secret-store.js';
import type { Observed } from '../types.js';
import { adopt } from './adopt.js';
import type { StepContext } from './context.js';
import { initialize } from './initialize.js';
import { retain } from './retain.js';
import { rewrap } from './rewrap.js';
import { rotate } from './rotate.js';
import { shred } from './shred.js';
import { DamagedVersionError } from './wrapping.js';

export type StepOutcome =
  | { kind: 'progress' }
  | { kind: 'unavailable'; message: string }
  /** A stored key turned out unusable while the step ran: a person must act. */
  | { kind: 'blocked'; message: string };

export async function execute(ctx: StepContext, plan: KeyPlan, seen: Observed): Promise<StepOutcome> {
  const identity = seen.identity;
  try {
    switch (plan.action) {
      case 'initialize':
        await initialize(ctx, plan, seen);
        break;
      case 'rotate':
        await rotate(ctx, plan, seen);
        break;
      case 'shred':
        await shred(ctx, plan, seen);
        break;
      case 'retain':
        await retain(ctx, plan, seen);
        break;
      case 'rewrap':
        await rewrap(ctx, seen);
        break;
      case 'adopt':
        await adopt(ctx, plan, seen);
        break;
      default:
        throw new Error(`plan ${plan.action} takes no step`);
    }
  } catch (e) {
    if (e instanceof ProviderUnavailableError) return { kind: 'unavailable', message: e.message };
    if (e instanceof DamagedVersionError) {
      return { kind: 'blocked', message: damagedVersionMessage(e.message, identity.hub.name) };
    }
    // The KEK vanished or changed under us, or a write lost a race: observe again and re-plan.
    if (e instanceof KeyMissingError || e instanceof KeyInvalidError || e instanceof WriteConflict) {
      ctx.log?.debug('key step superseded, observing again', {
        hub: `${identity.hub.namespace}/${identity.hub.name}`,
        step: plan.action,
        why: e.message,
      });
      return { kind: 'progress' };
    }
    throw e;
  }
  return { kind: 'progress' };
}
