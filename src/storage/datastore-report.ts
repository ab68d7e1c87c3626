// status.datastore and the DatastoreReady condition, read from the live StatefulSet.
import type { V1StatefulSet } from '@kubernetes/client-node';
import {
  ConditionStatus,
  ConditionType,
  Reason,
  type ConditionUpdate,
  type HealthDataHub,
  type HubDatastoreStatus,
} from '../api/index.js';
import { DEFAULT_REPLICAS } from './datastore-constants.js';

export interface DatastoreReport {
  status: HubDatastoreStatus;
  condition: ConditionUpdate;
}

/**
 * status.datastore and DatastoreReady from the live StatefulSet. Ready means every requested
 * replica passes its readiness probe, counted by a StatefulSet controller that has seen the
 * current spec (an older count could describe the previous size).
 */
export function datastoreReport(hub: HealthDataHub, live: V1StatefulSet | undefined): DatastoreReport {
  const desired = hub.spec.datastore?.replicas ?? DEFAULT_REPLICAS;
  const generation = hub.metadata.generation ?? 0;
  const condition = (status: ConditionStatus, reason: string, message: string): ConditionUpdate => ({
    type: ConditionType.DatastoreReady,
    status,
    reason,
    message,
    observedGeneration: generation,
  });
  const name = hub.metadata.name ?? '';
  if (!live) {
    return {
      status: { replicas: desired, readyReplicas: 0 },
      condition: condition(
        ConditionStatus.False,
        Reason.ReplicasNotReady,
        `StatefulSet ${name} is not created yet; it is created once storage and keys are ready`,
      ),
    };
  }
  const ready = live.status?.readyReplicas ?? 0;
  const status = { replicas: desired, readyReplicas: ready };
  const observed = live.status?.observedGeneration ?? 0;
  if (live.spec?.replicas !== desired || observed < (live.metadata?.generation ?? 0)) {
    return {
      status,
      condition: condition(
        ConditionStatus.False,
        Reason.ReplicasNotReady,
        `StatefulSet ${name} is being updated to ${desired} replica(s); ${ready} ready`,
      ),
    };
  }
  if (ready < desired) {
    return {
      status,
      condition: condition(
        ConditionStatus.False,
        Reason.ReplicasNotReady,
        `${ready}/${desired} replica(s) ready; see the events of the pods ${name}-<n> (scheduling, volume binding, image pull, probes)`,
      ),
    };
  }
  return {
    status,
    condition: condition(ConditionStatus.True, Reason.ReplicasReady, `${ready}/${desired} replica(s) ready`),
  };
}
