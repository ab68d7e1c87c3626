// What every key step works with. A step makes its writes through the store (each conditional),
// and appends the Events it has to tell.
import type { Logger } from '../../../runtime/logging.js';
import type { KeyMetrics } from '../../metrics.js';
import type { KeyProvider } from '../../provider.js';
import type { SecretStore } from '../secret-store.js';
import type { KeyEvent } from '../types.js';

export interface StepContext {
  store: SecretStore;
  provider: KeyProvider;
  clock: () => Date;
  metrics?: KeyMetrics | undefined;
  log?: Logger | undefined;
  /** The reconcile's Events, in order: steps append theirs. */
  events: KeyEvent[];
}
