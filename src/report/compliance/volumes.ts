// Every claim of a hub, where its volume lies and whether its class is attested encrypted: the
// operator's own volume audit (auditVolumes, volumeLocation) and class attestation
// (encryptionAttestation).
import type { V1PersistentVolume, V1StorageClass } from '@kubernetes/client-node';
import type { HealthDataHub, SovereigntyPolicy } from '../../api/index.js';
import type { NodeFacts } from '../../placement/audit.js';
import { hubClaims } from '../../storage/claims.js';
import { encryptionAttestation } from '../../storage/storage-class.js';
import { auditVolumes, volumeLocation } from '../../storage/volumes.js';
import type { ComplianceSnapshot, Finding, ReportVolume, Verdict } from './model.js';

/** A finding before it is placed in its namespace and hub. */
export type HubFinding = Omit<Finding, 'namespace' | 'hub'>;

export interface HubVolumes {
  volumes: ReportVolume[];
  findings: HubFinding[];
}

export interface VolumeContext {
  volumes: ReadonlyMap<string, V1PersistentVolume>;
  classes: ReadonlyMap<string, V1StorageClass>;
  facts: ReadonlyMap<string, NodeFacts>;
}

export function volumeContext(
  snapshot: ComplianceSnapshot,
  facts: ReadonlyMap<string, NodeFacts>,
): VolumeContext {
  return {
    volumes: new Map(snapshot.volumes.map((v) => [v.metadata?.name ?? '', v])),
    classes: new Map(snapshot.storageClasses.map((c) => [c.metadata?.name ?? '', c])),
    facts,
  };
}

function attestation(
  className: string,
  classes: ReadonlyMap<string, V1StorageClass>,
): ReportVolume['encryption'] {
  const sc = classes.get(className);
  if (!sc) return { attested: false, why: `StorageClass "${className}" does not exist` };
  const { encrypted, why } = encryptionAttestation(sc);
  return { attested: encrypted, why: `StorageClass "${className}" ${why}` };
}

export function reportVolumes(
  snapshot: ComplianceSnapshot,
  hub: HealthDataHub,
  policy: SovereigntyPolicy | undefined,
  ctx: VolumeContext,
): HubVolumes {
  const claims = snapshot.claims.filter((c) => c.metadata?.namespace === hub.metadata.namespace);
  const audit = policy
    ? auditVolumes({ hub, policy: policy.spec, claims, volumes: ctx.volumes, nodes: ctx.facts })
    : undefined;
  const outside = new Map((audit?.violations ?? []).map((v) => [v.claim, v.reason]));
  const requireEncryption = policy?.spec.storage?.requireEncryption !== false;
  const findings: HubFinding[] = [];
  const volumes = hubClaims(hub, claims).map((claim): ReportVolume => {
    const name = claim.metadata!.name!;
    const phase = claim.status?.phase ?? 'Pending';
    const volumeName = claim.spec?.volumeName;
    const bound = phase === 'Bound' && !!volumeName;
    const pv = bound ? ctx.volumes.get(volumeName) : undefined;
    // The class the data lies on is the volume's; the claim's until it is bound.
    const storageClass = pv?.spec?.storageClassName ?? claim.spec?.storageClassName ?? '';
    const capacity = claim.status?.capacity?.['storage'] ?? pv?.spec?.capacity?.['storage'];
    const location = pv ? volumeLocation(pv, ctx.facts) : {};
    const encryption = attestation(storageClass, ctx.classes);
    const reasons: string[] = [];
    let verdict: Verdict = 'pass';
    if (!policy) {
      verdict = 'unknown';
      reasons.push(
        `SovereigntyPolicy "${hub.spec.policyName}" does not exist: nothing to audit the volume against`,
      );
    } else if (!bound) {
      verdict = 'unknown';
      reasons.push(`the claim is ${phase}: no volume holds data yet`);
    } else if (!pv || outside.has(name)) {
      verdict = 'fail';
      reasons.push(
        pv
          ? outside.get(name)!
          : `its PersistentVolume ${volumeName} was not found: nothing proves where the data is`,
      );
    }
    if (verdict === 'fail') {
      findings.push({ severity: 'failure', check: 'volume-location', subject: name, message: reasons[0]! });
    }
    if (bound && policy && requireEncryption && !encryption.attested) {
      verdict = 'fail';
      const why = `${encryption.why}, and SovereigntyPolicy "${policy.metadata.name}" requires encrypted storage`;
      reasons.push(why);
      findings.push({ severity: 'failure', check: 'volume-encryption', subject: name, message: why });
    }
    if (verdict === 'pass') {
      reasons.push(
        `it lies in ${(location.regions ?? []).join(', ')}, inside the hub's regions` +
          (requireEncryption ? `; ${encryption.why}` : ''),
      );
    }
    return {
      claim: name,
      ...(volumeName ? { volume: volumeName } : {}),
      phase,
      storageClass,
      ...(capacity !== undefined ? { capacity: String(capacity) } : {}),
      encryption,
      regions: location.regions ?? [],
      zones: location.zones ?? [],
      verdict,
      reasons,
    };
  });
  for (const f of audit?.foreignClass ?? []) {
    findings.push({
      severity: 'warning',
      check: 'volume-class',
      subject: f.claim,
      message: `the claim uses StorageClass "${f.storageClassName}", not the hub's "${hub.spec.storage.storageClassName}"`,
    });
  }
  return { volumes, findings };
}
