// KeysReady reasons the key lifecycle blocks on: only a person can lift them (a missing or
// invalid key, keys of another hub, retained keys not asked to be adopted, an unreadable rotation
// interval), so the hub is Stalled, not in progress. A refusal of the API server too.
import { Reason } from '../api/index.js';

export const KEYS_BLOCKED_REASONS: ReadonlySet<string> = new Set([
  Reason.KeyMissing,
  Reason.KeyInvalid,
  Reason.InvalidRotationInterval,
  Reason.KeyOfAnotherHub,
  Reason.KeyOwnerUnknown,
  Reason.RetainedKeysFound,
  Reason.ApiServerRefused,
]);
