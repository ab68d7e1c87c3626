// Which PersistentVolumeClaims are a hub's. A StatefulSet finds its claims by name alone
// (`<template>-<statefulset>-<ordinal>`), so the name is what ties a claim to a hub's data; labels
// and the retained-from mark say whose it is now.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { LABEL_RETAINED_FROM, type HealthDataHub } from '../api/index.js';
import { metadataPath, type JsonPatchOp } from './patch.js';

/**
 * Set to the hub's name by earlier versions on the datastore's objects, pods and claims; no longer
 * rendered: it is the label Argo CD tracks an Application's resources by, so an Application named
 * like a hub would claim (and could prune) the hub's claims, which have no owner. The hub label
 * (hdh.sovereign.eu/hub) identifies the hub.
 */
export const LEGACY_INSTANCE_LABEL = 'app.kubernetes.io/instance';

/** Name of the StatefulSet's claim template, hence the `data-` prefix of every claim name. */
export const CLAIM_TEMPLATE = 'data';

/** `data-<hub>-<ordinal>`: the claim of one replica. */
export function claimName(hubName: string, ordinal: number): string {
  return `${CLAIM_TEMPLATE}-${hubName}-${ordinal}`;
}

/** The replica ordinal a claim name stands for, or undefined when it is not one of the hub's. */
export function claimOrdinal(hubName: string, name: string | undefined): number | undefined {
  const prefix = `${CLAIM_TEMPLATE}-${hubName}-`;
  if (!name?.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  // Ordinals are written without leading zeros; `data-h-01` is not a replica's claim.
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

/** The UID of the deleted hub a claim was retained from, if it carries the mark. */
export function retainedFrom(claim: V1PersistentVolumeClaim): string | undefined {
  return claim.metadata?.labels?.[LABEL_RETAINED_FROM];
}

/** Claims named `data-<hub>-<n>` in the hub's namespace, whoever they were retained from. */
function claimsNamedFor(
  hub: Pick<HealthDataHub, 'metadata'>,
  claims: readonly V1PersistentVolumeClaim[],
): V1PersistentVolumeClaim[] {
  const name = hub.metadata.name ?? '';
  return byOrdinal(
    name,
    claims.filter(
      (c) =>
        (c.metadata?.namespace === undefined || c.metadata.namespace === hub.metadata.namespace) &&
        claimOrdinal(name, c.metadata?.name) !== undefined,
    ),
  );
}

/**
 * The claims that hold this hub's data: named for it, in its namespace, and not retained from
 * another hub (those belong to a deleted predecessor until adopted). Sorted by ordinal.
 */
export function hubClaims(
  hub: Pick<HealthDataHub, 'metadata'>,
  claims: readonly V1PersistentVolumeClaim[],
): V1PersistentVolumeClaim[] {
  return claimsNamedFor(hub, claims).filter((c) => {
    const from = retainedFrom(c);
    return from === undefined || from === hub.metadata.uid;
  });
}

/** Claims named for this hub but retained from a deleted hub with another UID. */
export function predecessorClaims(
  hub: Pick<HealthDataHub, 'metadata'>,
  claims: readonly V1PersistentVolumeClaim[],
): V1PersistentVolumeClaim[] {
  return claimsNamedFor(hub, claims).filter((c) => {
    const from = retainedFrom(c);
    return from !== undefined && from !== hub.metadata.uid;
  });
}

function byOrdinal(hubName: string, claims: V1PersistentVolumeClaim[]): V1PersistentVolumeClaim[] {
  return claims.sort(
    (a, b) => claimOrdinal(hubName, a.metadata?.name)! - claimOrdinal(hubName, b.metadata?.name)!,
  );
}

/**
 * The hub's claims that still carry LEGACY_INSTANCE_LABEL with the hub's name (set by an earlier
 * version, or by the claim template of a StatefulSet it created), with the test-guarded patch that
 * removes it. A value other than the hub's name was set by someone else and is left alone.
 */
export function legacyLabelRemovals(
  hub: Pick<HealthDataHub, 'metadata'>,
  claims: readonly V1PersistentVolumeClaim[],
): { claim: string; patch: JsonPatchOp[] }[] {
  const path = metadataPath('labels', LEGACY_INSTANCE_LABEL);
  return hubClaims(hub, claims)
    .filter((c) => c.metadata?.labels?.[LEGACY_INSTANCE_LABEL] === hub.metadata.name)
    .map((c) => ({
      claim: c.metadata!.name!,
      patch: [
        { op: 'test', path: '/metadata/uid', value: c.metadata!.uid },
        { op: 'test', path, value: hub.metadata.name },
        { op: 'remove', path },
      ],
    }));
}
