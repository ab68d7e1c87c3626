// What a refusal of the API server becomes in a hub's status: the refused object's component
// condition False with reason ApiServerRefused, and Stalled.
import {
  ConditionStatus,
  ConditionType,
  Reason,
  type ConditionUpdate,
  type HealthDataHub,
} from '../api/index.js';

/** An object write the API server refused (src/runtime/errors.ts WriteRefused). */
export interface RefusedWrite {
  kind: string;
  /** `StatefulSet ns/name`. */
  subject: string;
  code: number;
  serverMessage: string;
}

/** The condition that reports an object of the given kind. */
function conditionOfKind(kind: string): string {
  switch (kind) {
    case 'ServiceAccount':
    case 'Role':
    case 'RoleBinding':
    case 'Secret':
      return ConditionType.KeysReady;
    case 'PersistentVolumeClaim':
      return ConditionType.StorageReady;
    default:
      // StatefulSet, Service, PodDisruptionBudget
      return ConditionType.DatastoreReady;
  }
}

/**
 * What a refusal of the API server becomes: the condition of the refused object's component
 * False with reason ApiServerRefused and the server's message, and what to do about it. 403 is
 * the platform's to fix (RBAC, a quota, an admission webhook); any other refusal the spec's.
 */
export function refusalReport(
  hub: HealthDataHub,
  refused: RefusedWrite,
): { condition: ConditionUpdate; stalled: { reason: string; message: string } } {
  const fix =
    refused.code === 403
      ? 'the operator is not allowed to write it (its RBAC, a ResourceQuota or an admission webhook refuses): ' +
        'ask the platform team'
      : `fix the hub's spec (or the tolerations and node requirements of SovereigntyPolicy ` +
        `"${hub.spec.policyName}") so that it renders a valid object`;
  const message =
    `the API server refused ${refused.subject} (${refused.code}): ${refused.serverMessage}; ${fix}. ` +
    'Retried with a growing delay, and at once when the hub changes';
  return {
    condition: {
      type: conditionOfKind(refused.kind),
      status: ConditionStatus.False,
      reason: Reason.ApiServerRefused,
      message,
      observedGeneration: hub.metadata.generation ?? 0,
    },
    stalled: { reason: Reason.ApiServerRefused, message },
  };
}
