// The key lifecycle's decisions, as a pure function of what was observed. KeyLifecycle
// (lifecycle.ts) observes the provider, the `<hub>-keys` Secret and the hub, asks planKeys what to
// do, does that one step, and observes again; every step is safe to repeat after a crash.
//
// The rules that matter most (docs/design.md invariants 4, 5, 6, 8, 9):
//  - Whether the KEK exists is what the provider answers now, never what status says.
//  - A key is never made over data that may exist. A KEK is created only when neither it nor any
//    wrapped key exists and nothing says the hub ever had keys; a first DEK version is written
//    only when no `<hub>-keys` Secret exists.
//  - When the provider cannot answer, nothing is decided: the hub waits, nothing is deleted.
//  - Keys are destroyed only during deletion, with onDelete CryptoShred and confirm-destroy equal
//    to the hub's UID; otherwise they are kept and marked as retained.
//  - Keys of an earlier hub of the same name are used only when the hub names that hub's UID in
//    the adopt-keys annotation, and only after they are proven to unwrap.
//  - A KEK is used, granted or destroyed only when its recorded owner is this hub or an earlier
//    hub of the same namespace and name (KekOwnership): nothing a tenant writes can point the
//    operator at another hub's KEK.
//
// The parts live in plan/: observation.ts (what is decided from, and the plans), facts.ts (the hub's
// facts), live.ts, adoption.ts and deletion.ts (the decisions).
import type { KeyObservation, KeyPlan } from './plan/observation.js';
import { planDeletion } from './plan/deletion.js';
import { planLive } from './plan/live.js';

export { hubKeyFacts, shredConfirmed } from './plan/facts.js';
export { msUntilRotation } from './plan/live.js';
export {
  type ActiveCheck,
  type HubKeyFacts,
  type KekObservation,
  type KekOwnership,
  type KeyObservation,
  type KeyPlan,
  type KeysObservation,
} from './plan/observation.js';

/** Decides the next step. Pure: the same observation always gives the same plan. */
export function planKeys(o: KeyObservation): KeyPlan {
  return o.hub.deleting ? planDeletion(o) : planLive(o);
}
