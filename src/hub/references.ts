import {
  ConditionStatus,
  ConditionType,
  Reason,
  type ConditionUpdate,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../api/index.js';
import { regionsOutsidePolicy } from '../policy/eligibility.js';

/**
 * Checks what admission cannot: rules that depend on other objects (the policy exists, the hub's
 * regions lie inside it, its key provider is allowed). Returns the failing conditions, each
 * saying how to fix it; an empty list means the references hold.
 */
export function checkReferences(
  hub: HealthDataHub,
  policy: SovereigntyPolicy | undefined,
): ConditionUpdate[] {
  const generation = hub.metadata.generation ?? 0;
  const fail = (type: string, reason: string, message: string): ConditionUpdate => ({
    type,
    status: ConditionStatus.False,
    reason,
    message,
    observedGeneration: generation,
  });
  const name = hub.spec.policyName;
  if (!policy) {
    return [
      fail(
        ConditionType.PlacementCompliant,
        Reason.PolicyNotFound,
        `SovereigntyPolicy "${name}" does not exist: create it (kubectl get sovpol lists the existing ones); spec.policyName is immutable, so a hub naming the wrong policy must be recreated`,
      ),
    ];
  }
  const failures: ConditionUpdate[] = [];
  const outside = regionsOutsidePolicy(policy.spec.regions, hub.spec.placement?.regions);
  if (outside.length > 0) {
    failures.push(
      fail(
        ConditionType.PlacementCompliant,
        Reason.RegionNotAllowed,
        `spec.placement.regions [${outside.join(', ')}] not allowed by SovereigntyPolicy "${name}" (allowed: [${policy.spec.regions.join(', ')}]): a hub may only narrow its policy's regions`,
      ),
    );
  }
  const provider = hub.spec.encryption?.provider ?? 'builtin';
  const allowed = policy.spec.keyProviders ?? ['builtin', 'pkcs11', 'transit'];
  if (!allowed.includes(provider)) {
    failures.push(
      fail(
        ConditionType.KeysReady,
        Reason.KeyProviderNotAllowed,
        `key provider "${provider}" is not allowed by SovereigntyPolicy "${name}" (allowed: [${allowed.join(', ')}]): add it to the policy's spec.keyProviders, or recreate the hub with an allowed provider`,
      ),
    );
  }
  return failures;
}
