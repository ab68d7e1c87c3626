// Retain: deletion that keeps the keys marks the `<hub>-keys` Secret as retained from this hub,
// so that a new hub of the same name does not take them up without asking.
import { LABEL_RETAINED_FROM } from '../../../api/index.js';
import type { KeyPlan } from '../../plan.js';
import { keysRetainedEvent } from '../report.js';
import type { Observed } from '../types.js';
import type { StepContext } from './context.js';

export async function retain(
  ctx: StepContext,
  plan: Extract<KeyPlan, { action: 'retain' }>,
  seen: Observed,
): Promise<void> {
  const { hub } = seen.observation;
  if (!seen.secret) return;
  const current = seen.secret;
  await ctx.store.replace(current, {
    ...current,
    metadata: {
      ...current.metadata,
      labels: { ...current.metadata?.labels, [LABEL_RETAINED_FROM]: hub.ref.uid },
    },
  });
  ctx.events.push(keysRetainedEvent(hub.ref, plan.note));
}
