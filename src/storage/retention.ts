// What happens to a hub's claims when the hub is deleted (run from its finalizer), and how a new
// hub of the same name takes over claims kept from a deleted one. Data is destroyed only on an
// explicit, UID-bound confirmation; every other path keeps it.
import type { V1ConfigMap, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  ANNOTATION_ADOPTED_FROM,
  ANNOTATION_CONFIRM_DESTROY,
  API_GROUP,
  LABEL_HUB,
  LABEL_MANAGED_BY,
  LABEL_RETAINED_FROM,
  MANAGED_BY_VALUE,
  Reason,
  type HealthDataHub,
  type PlannedEvent,
} from '../api/index.js';
import { LABEL_POLICY, policyLabelValue } from '../placement/admission.js';
import { hubClaims, predecessorClaims, retainedFrom } from './claims.js';
import { metadataPath, type JsonPatchOp } from './patch.js';

export type ClaimAction =
  /** Keep the claim; apply `patch` (undefined: already marked, nothing to write). */
  | { claim: string; action: 'retain'; patch?: JsonPatchOp[] }
  /** Delete the claim, with the precondition that its UID is still `uid`. */
  | { claim: string; action: 'delete'; uid: string };

export interface DeletionPlan {
  /** True only for retention Delete confirmed with the hub's own UID. */
  destroy: boolean;
  actions: ClaimAction[];
  events: PlannedEvent[];
}

/**
 * The confirmation is the hub's own metadata.uid in hdh.sovereign.eu/confirm-destroy: a UID exists
 * only once the hub does, so a manifest re-applied after a recreation (new UID) never confirms the
 * destruction of the new hub's data.
 */
export function destroyConfirmed(hub: Pick<HealthDataHub, 'metadata'>): boolean {
  const uid = hub.metadata.uid;
  return !!uid && hub.metadata.annotations?.[ANNOTATION_CONFIRM_DESTROY] === uid;
}

/**
 * The fate of every claim of a hub being deleted. Claims retained from an earlier hub and never
 * adopted are not this hub's and are left alone. Applying the plan is idempotent: a retained
 * claim gets no second patch, and a deleted one is gone.
 */
export function planDeletion(hub: HealthDataHub, claims: readonly V1PersistentVolumeClaim[]): DeletionPlan {
  const uid = hub.metadata.uid ?? '';
  const mine = hubClaims(hub, claims);
  const names = mine.map((c) => c.metadata!.name!);
  const retention = hub.spec.storage.retention ?? 'Retain';
  const hubRef = `hub ${hub.metadata.namespace}/${hub.metadata.name}`;

  if (retention === 'Delete' && destroyConfirmed(hub)) {
    return {
      destroy: true,
      // A claim already being deleted needs no second request.
      actions: mine
        .filter((c) => !c.metadata?.deletionTimestamp)
        .map((c) => ({ claim: c.metadata!.name!, action: 'delete', uid: c.metadata!.uid! })),
      events: names.length
        ? [
            {
              type: 'Normal',
              reason: Reason.VolumesDeleted,
              note:
                `deleted claims ${names.join(', ')} of ${hubRef} (retention Delete, confirmed by ` +
                `${ANNOTATION_CONFIRM_DESTROY}=${uid}); what becomes of each volume follows its reclaimPolicy`,
            },
          ]
        : [],
    };
  }

  const events: PlannedEvent[] = [];
  if (retention === 'Delete') {
    const given = hub.metadata.annotations?.[ANNOTATION_CONFIRM_DESTROY];
    const why =
      given === undefined
        ? `the annotation ${ANNOTATION_CONFIRM_DESTROY} is missing`
        : `the annotation ${ANNOTATION_CONFIRM_DESTROY} is "${given}", not this hub's metadata.uid ${uid}`;
    events.push({
      type: 'Warning',
      reason: Reason.DeletionNotConfirmed,
      note:
        `spec.storage.retention is Delete but ${why}: the claims are kept. To destroy them, delete the ` +
        `claims labelled ${LABEL_RETAINED_FROM}=${uid} yourself`,
    });
  }
  const policy = policyLabelValue(hub.spec.policyName);
  const actions: ClaimAction[] = mine.map((c) => {
    const patch = retainPatch(c, uid, policy);
    return patch
      ? { claim: c.metadata!.name!, action: 'retain', patch }
      : { claim: c.metadata!.name!, action: 'retain' };
  });
  if (names.length) {
    events.push({
      type: 'Normal',
      reason: Reason.VolumesRetained,
      note:
        `kept claims ${names.join(', ')} of ${hubRef}, labelled ${LABEL_RETAINED_FROM}=${uid}; a new hub ` +
        `named ${hub.metadata.name} in namespace ${hub.metadata.namespace} adopts them`,
    });
  }
  return { destroy: false, actions, events };
}

/**
 * Marks a claim as retained from the hub `hubUid` and removes its owner references, so that no
 * garbage collection can reach it once the hub is gone: after this, only a person deletes it.
 * `policy` (policyLabelValue of the hub's policy) is written in LABEL_POLICY for people to read:
 * what holds the namespace to it is the operator's record (retainedRecord), which the tenant cannot
 * edit. Undefined when the claim is already so.
 */
export function retainPatch(
  claim: V1PersistentVolumeClaim,
  hubUid: string,
  policy?: string,
): JsonPatchOp[] | undefined {
  const ops: JsonPatchOp[] = [];
  const owners = claim.metadata?.ownerReferences;
  if (owners?.length) {
    ops.push({ op: 'test', path: '/metadata/ownerReferences', value: owners });
    ops.push({ op: 'remove', path: '/metadata/ownerReferences' });
  }
  const labels = claim.metadata?.labels;
  const marks: Record<string, string> = {
    [LABEL_RETAINED_FROM]: hubUid,
    ...(policy ? { [LABEL_POLICY]: policy } : {}),
  };
  if (!labels) ops.push({ op: 'add', path: '/metadata/labels', value: marks });
  else {
    for (const [k, v] of Object.entries(marks)) {
      if (labels[k] !== v) ops.push({ op: 'add', path: metadataPath('labels', k), value: v });
    }
  }
  if (ops.length === 0) return undefined;
  return [{ op: 'test', path: '/metadata/uid', value: claim.metadata?.uid }, ...ops];
}

export interface AdoptionPlan {
  adopt: { claim: string; from: string; patch: JsonPatchOp[] }[];
  /** Retained claims that cannot be adopted, with why and what to do. */
  conflicts: { claim: string; from: string; reason: string }[];
  /** ClaimsAdopted, when there is anything to adopt. */
  event?: PlannedEvent;
}

/**
 * Adoption of claims retained from a deleted hub by a new hub of the same name in the same
 * namespace. A StatefulSet mounts claims by name (`data-<hub>-<n>`) whatever their history, so a
 * recreated hub would reuse them anyway; adoption makes that explicit and checked. A retained claim
 * is adopted when it is labelled for this hub, uses the hub's storage class and is not being
 * deleted: the retained-from label is removed (the claim is the new hub's again, and its
 * finalizer decides its fate) and adopted-from records the predecessor's UID. Any other retained
 * claim is a conflict, and the datastore must not be created while one exists.
 */
export function planAdoption(hub: HealthDataHub, claims: readonly V1PersistentVolumeClaim[]): AdoptionPlan {
  const plan: AdoptionPlan = { adopt: [], conflicts: [] };
  const name = hub.metadata.name ?? '';
  const className = hub.spec.storage.storageClassName;
  for (const claim of predecessorClaims(hub, claims)) {
    const claimName = claim.metadata!.name!;
    const from = retainedFrom(claim)!;
    const labelled = claim.metadata?.labels?.[LABEL_HUB];
    const claimClass = claim.spec?.storageClassName ?? '';
    const conflict = (reason: string) => plan.conflicts.push({ claim: claimName, from, reason });
    if (claim.metadata?.deletionTimestamp) {
      conflict(`claim ${claimName} retained from hub UID ${from} is being deleted: wait until it is gone`);
    } else if (labelled !== name) {
      conflict(
        `claim ${claimName} retained from hub UID ${from} is labelled ${LABEL_HUB}=${labelled ?? '(none)'}, ` +
          `not ${name}: rename or delete it, or label it for this hub to adopt it`,
      );
    } else if (claimClass !== className) {
      conflict(
        `claim ${claimName} retained from hub UID ${from} is on StorageClass "${claimClass}", not ` +
          `"${className}": delete it (its data goes) or recreate the hub with storageClassName "${claimClass}"`,
      );
    } else {
      plan.adopt.push({
        claim: claimName,
        from,
        patch: [
          { op: 'test', path: '/metadata/uid', value: claim.metadata!.uid },
          { op: 'test', path: metadataPath('labels', LABEL_RETAINED_FROM), value: from },
          { op: 'remove', path: metadataPath('labels', LABEL_RETAINED_FROM) },
          claim.metadata?.annotations
            ? { op: 'add', path: metadataPath('annotations', ANNOTATION_ADOPTED_FROM), value: from }
            : { op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_ADOPTED_FROM]: from } },
        ],
      });
    }
  }
  if (plan.adopt.length) {
    const froms = [...new Set(plan.adopt.map((a) => a.from))];
    plan.event = {
      type: 'Normal',
      reason: Reason.ClaimsAdopted,
      note:
        `adopted claims ${plan.adopt.map((a) => a.claim).join(', ')} retained from deleted hub UID ` +
        `${froms.join(', ')}: the datastore mounts their data`,
    };
  }
  return plan;
}

/**
 * Label on a retained-claim record (a ConfigMap in the operator's namespace) naming the namespace
 * of its claim. The record says which policy the claim's namespace stays held to: the claim's
 * own labels are the tenant's to edit, the operator's namespace is not.
 */
export const LABEL_RETAINED_NAMESPACE = `${API_GROUP}/retained-namespace`;

/** What a retained-claim record holds. */
export interface RetainedRecord {
  /** The record's own name (retained-claim-<claim UID>). */
  name: string;
  namespace: string;
  claim: string;
  claimUid: string;
  hub: string;
  hubUid: string;
  /** The deleted hub's spec.policyName. */
  policy: string;
}

/** The record of `claim`, retained from `hub`, kept in `operatorNamespace`. */
export function retainedRecord(
  hub: HealthDataHub,
  claim: V1PersistentVolumeClaim,
  operatorNamespace: string,
): V1ConfigMap {
  const namespace = hub.metadata.namespace ?? '';
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `retained-claim-${claim.metadata?.uid ?? ''}`,
      namespace: operatorNamespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_RETAINED_NAMESPACE]: namespace,
        [LABEL_RETAINED_FROM]: hub.metadata.uid ?? '',
      },
    },
    data: {
      namespace,
      claim: claim.metadata?.name ?? '',
      claimUid: claim.metadata?.uid ?? '',
      hub: hub.metadata.name ?? '',
      hubUid: hub.metadata.uid ?? '',
      policy: hub.spec.policyName,
    },
  };
}

/** A record read back; undefined when it lacks a field (not the operator's writing). */
export function readRetainedRecord(cm: V1ConfigMap): RetainedRecord | undefined {
  const d = cm.data ?? {};
  const fields = ['namespace', 'claim', 'claimUid', 'hub', 'hubUid', 'policy'] as const;
  if (!cm.metadata?.name || fields.some((f) => !d[f])) return undefined;
  return {
    name: cm.metadata.name,
    namespace: d.namespace!,
    claim: d.claim!,
    claimUid: d.claimUid!,
    hub: d.hub!,
    hubUid: d.hubUid!,
    policy: d.policy!,
  };
}

/**
 * Records whose claim no longer needs one: the claim (by UID) is gone, or a later hub of the same
 * name adopted it (the claim is not marked retained any more and that hub, another UID, exists)
 * and holds the namespace to the same policy, so its own label takes over the record's. `claims`
 * must come from the API server: a cache that does not show a claim yet would release it. A
 * tenant who unmarks the claim changes nothing unless such a hub exists: a successor naming
 * another policy (or one that does not exist) leaves the record, and the namespace held to the
 * deleted hub's policy, until the claim is gone.
 */
export function staleRecords(
  records: readonly RetainedRecord[],
  claims: readonly V1PersistentVolumeClaim[],
  hubs: readonly Pick<HealthDataHub, 'metadata' | 'spec'>[],
): RetainedRecord[] {
  return records.filter((r) => {
    const claim = claims.find((c) => c.metadata?.uid === r.claimUid);
    if (!claim) return true;
    const adopted = retainedFrom(claim) === undefined;
    return (
      adopted &&
      hubs.some(
        (h) => h.metadata.name === r.hub && h.metadata.uid !== r.hubUid && h.spec.policyName === r.policy,
      )
    );
  });
}
