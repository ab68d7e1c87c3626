import {
  ConditionStatus,
  ConditionType,
  getCondition,
  Reason,
  type ConditionUpdate,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../api/index.js';
import { moduleRefusal } from '../keys/pkcs11-modules.js';
import { tokenRefusal, type AllowedToken } from '../keys/pkcs11-tokens.js';
import { regionsOutsidePolicy, type Labels } from '../policy/eligibility.js';
import { describeNamespaceSelector, policySelectsNamespace } from '../policy/namespaces.js';

/** What the platform set on the operator (its flags) that hubs are checked against. */
export interface PlatformSettings {
  /** PKCS#11 modules a hub may name (--pkcs11-allowed-modules). */
  pkcs11AllowedModules: readonly string[];
  /** Which namespace may name which PKCS#11 token (--pkcs11-allowed-tokens). */
  pkcs11AllowedTokens?: readonly AllowedToken[];
}

/** The operator's defaults: no PKCS#11 module or token is allowed unless the platform lists it. */
export const DEFAULT_PLATFORM_SETTINGS: PlatformSettings = {
  pkcs11AllowedModules: [],
  pkcs11AllowedTokens: [],
};

/**
 * Checks what admission cannot: rules that depend on other objects (the policy exists, the hub's
 * regions lie inside it, its key provider is allowed). Returns the failing conditions, each
 * saying how to fix it; an empty list means the references hold.
 */
export function checkReferences(
  hub: HealthDataHub,
  policy: SovereigntyPolicy | undefined,
  platform: PlatformSettings = DEFAULT_PLATFORM_SETTINGS,
  /** The labels of the hub's namespace, for the policy's namespaceSelector. */
  namespaceLabels: Labels = {},
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
  if (!policySelectsNamespace(policy, namespaceLabels)) {
    failures.push(
      fail(
        ConditionType.PlacementCompliant,
        Reason.PolicyNotAllowed,
        `SovereigntyPolicy "${name}" does not allow namespace ${hub.metadata.namespace} (its namespaceSelector requires ${describeNamespaceSelector(policy)}): the platform team decides which policies a namespace may use — ask it to label the namespace or widen the policy's namespaceSelector, or recreate the hub with a policy that selects this namespace`,
      ),
    );
  }
  // Only a refusal (the policy Stalled) waits for a person; a failure the operator retries
  // (the policy Reconciling) does not stall the hubs.
  const policyStalled = getCondition(policy.status?.conditions, ConditionType.Stalled);
  if (policyStalled?.status === ConditionStatus.True && policyStalled.reason === Reason.AdmissionFailed) {
    failures.push(
      fail(
        ConditionType.PlacementCompliant,
        Reason.AdmissionFailed,
        `SovereigntyPolicy "${name}" is not enforced at admission: ${policyStalled.message}`,
      ),
    );
  }
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
  // Refused here, from the path alone, so the keys step never opens it (src/keys/pkcs11-modules.ts).
  const module = provider === 'pkcs11' ? hub.spec.encryption?.pkcs11?.module : undefined;
  const refused = module === undefined ? undefined : moduleRefusal(module, platform.pkcs11AllowedModules);
  if (refused) {
    failures.push(
      fail(
        ConditionType.KeysReady,
        Reason.Pkcs11ModuleNotAllowed,
        `${refused}: set spec.encryption.pkcs11.module to an allowed module, or ask the platform team to allow this one`,
      ),
    );
  }
  // Likewise the token: refused before any login, whether or not such a token exists.
  const label = provider === 'pkcs11' ? hub.spec.encryption?.pkcs11?.tokenLabel : undefined;
  const tokenRefused =
    label === undefined
      ? undefined
      : tokenRefusal(label, hub.metadata.namespace ?? '', platform.pkcs11AllowedTokens ?? []);
  if (tokenRefused) {
    failures.push(
      fail(
        ConditionType.KeysReady,
        Reason.Pkcs11TokenNotAllowed,
        `${tokenRefused}: set spec.encryption.pkcs11.tokenLabel to a token of this namespace, or ask the platform team to map this one to it`,
      ),
    );
  }
  return failures;
}
