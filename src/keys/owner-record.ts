// The operator's record of who owns a legacy PKCS#11 or Transit key-encryption key.
//
// Keys made under the first identity scheme (`hdh-<namespace>-<name>-<uid>`) carry a name that is
// ambiguous at hyphens, and neither a PKCS#11 object (CKA_ID was the bare UID) nor a Transit key
// records its hub's namespace and name. A hub's own legacy key is still known to be its own (the
// UID in the name is the hub's, and the API server assigns each UID once); a legacy key of an
// earlier hub may be adopted only when this record, kept where tenants cannot write (a Secret of
// type hdh.sovereign.eu/key-owner in the operator's namespace), names the same namespace and
// name. The operator writes it when a hub using its own legacy key reconciles; a platform
// administrator may write it after checking whose key it is (docs/keys.md). builtin KEKs need
// none: their Secret's labels are that record.
import type { V1Secret } from '@kubernetes/client-node';
import { LABEL_HUB, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../api/index.js';
import { LABEL_HUB_NAMESPACE, LABEL_HUB_UID, type HubRef, type KeyIdentity } from './identity.js';

/** Secret type of owner records: set only at creation, so an ordinary Secret is never taken for one. */
export const OWNER_RECORD_TYPE = 'hdh.sovereign.eu/key-owner';

/**
 * `hdh-owner.<namespace>.<name>.<uid>`: injective like the current key identity, and never the
 * name of a builtin KEK Secret (`hdh.…` or `hdh-<…>` without dots).
 */
export function ownerRecordName(hub: HubRef): string {
  return `hdh-owner.${hub.namespace}.${hub.name}.${hub.uid}`;
}

/** The record that `kek` (a legacy key) belongs to its hub; no key material, no secret. */
export function renderOwnerRecord(kek: KeyIdentity, namespace: string, kekRef: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: ownerRecordName(kek.hub),
      namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_HUB]: kek.hub.name,
        [LABEL_HUB_NAMESPACE]: kek.hub.namespace,
        [LABEL_HUB_UID]: kek.hub.uid,
      },
    },
    type: OWNER_RECORD_TYPE,
    immutable: true,
    stringData: { 'kek-name': kek.name, 'kek-ref': kekRef },
  };
}

/** Whether `secret`, read under ownerRecordName(hub), is an owner record. */
export function isOwnerRecord(secret: V1Secret | undefined): boolean {
  return secret?.type === OWNER_RECORD_TYPE;
}
