// Whether the hub may use a KEK of its namespace and name, and the operator's records of who owns
// legacy PKCS#11 and Transit KEKs (owner-record.ts).
import type { Logger } from '../../runtime/logging.js';
import type { KeyIdentity } from '../identity.js';
import { isOwnerRecord, ownerRecordName, renderOwnerRecord } from '../owner-record.js';
import type { HubKeyFacts, KekOwnership } from '../plan.js';
import type { KeyProvider } from '../provider.js';
import { WriteConflict, type SecretStore } from './secret-store.js';
import type { Observed } from './types.js';

export const VERIFIED: KekOwnership = { state: 'verified' };

export class OwnerRecords {
  /** Owner records this process wrote or found: each is written once. */
  private readonly recorded = new Set<string>();

  constructor(
    private readonly store: SecretStore,
    /** The operator's namespace, where the records live; without it, none is read or written. */
    private readonly namespace: string | undefined,
    private readonly log?: Logger | undefined,
  ) {}

  /**
   * Whether `kek` (of this hub's namespace and name) may be used by the hub. Its own UID or the
   * current scheme: yes, the name itself says so. A legacy key of an earlier hub: builtin checks
   * its KEK Secret's labels on every use (KeyOwnerError); PKCS#11 and Transit need an owner record.
   */
  async ownership(facts: HubKeyFacts, kek: KeyIdentity, provider: KeyProvider): Promise<KekOwnership> {
    if (kek.hub.uid === facts.ref.uid || kek.scheme === 'current') return VERIFIED;
    if (provider.describe().provider === 'builtin') return VERIFIED;
    const { namespace, name } = facts.ref;
    const ns = this.namespace;
    const record = ownerRecordName(kek.hub);
    const unknown: KekOwnership = {
      state: 'unknown',
      message:
        `key-encryption key ${kek.name} was made under the earlier naming scheme, whose names do not say ` +
        `which namespace and hub they belong to, and no owner record ${ns ?? "(the operator's namespace)"}/${record} ` +
        `says it was hub ${namespace}/${name} (uid ${kek.hub.uid}): a platform administrator must check whose ` +
        'key it is and, only if it was that hub, create the record (docs/keys.md, keys made under the earlier scheme)',
    };
    if (!ns) return unknown;
    return isOwnerRecord(await this.store.read(ns, record)) ? VERIFIED : unknown;
  }

  /**
   * A hub using its own legacy PKCS#11 or Transit KEK (so known to be its own): records that, so
   * that a later hub of the same namespace and name may adopt the keys. Best effort: a failure
   * only leaves adoption to a platform administrator, and is tried again next time.
   */
  async record(facts: HubKeyFacts, seen: Observed, provider: KeyProvider): Promise<void> {
    const kek = seen.identity;
    const keys = seen.observation.keys;
    if (kek.scheme !== 'legacy' || kek.hub.uid !== facts.ref.uid || keys.state !== 'present') return;
    if (provider.describe().provider === 'builtin') return;
    const ns = this.namespace;
    if (!ns) return;
    const body = renderOwnerRecord(kek, ns, keys.set.kekRef);
    const key = `${ns}/${body.metadata!.name!}`;
    if (this.recorded.has(key)) return;
    try {
      // Read first: after a restart the record is there, and a create refused as a conflict would
      // still be a write request.
      if (!isOwnerRecord(await this.store.read(ns, body.metadata!.name!)))
        await this.store.createIn(ns, body);
    } catch (e) {
      if (!(e instanceof WriteConflict)) {
        this.log?.warn('cannot record the owner of a legacy key-encryption key', {
          hub: `${facts.ref.namespace}/${facts.ref.name}`,
          record: key,
          error: (e as Error).message,
        });
        return;
      }
    }
    this.recorded.add(key);
  }
}
