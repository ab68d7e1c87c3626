// The compliance report as data: what it reads (a snapshot of the cluster, taken by the command
// line) and what it says. docs/compliance-report.schema.json publishes the same shape.
import type { SovereigntyPolicySpec } from '../../api/index.js';
import type { ClusterSnapshot } from '../what-if.js';
import type { HistoryEntry } from '../../api/history.js';

export type { HistoryEntry };

/** The cluster as read for one report. Nothing is read at build time: the time comes from here. */
export interface ComplianceSnapshot extends ClusterSnapshot {
  /** When the snapshot was taken (RFC 3339): the report's generatedAt. */
  takenAt: string;
  /** The kube-system namespace's UID, which names the cluster. */
  clusterUID: string;
  /** The operator's version, and where it was read (e.g. its Deployment's image). */
  operator: { version?: string; source: string };
  /** The program that made the report. */
  generator: { version: string };
  /** The durable history of each namespace, oldest first. */
  histories: readonly { namespace: string; entries: readonly HistoryEntry[] }[];
  /** Where the histories were read; absent when none were (status). */
  historySource?: HistorySource;
}

/** Where the durable history was read, and whether the operator was found there. */
export interface HistorySource {
  /** The namespace whose ConfigMaps were read: the operator's, as the command was told. */
  namespace: string;
  /** Whether an hdh-operator Deployment runs there; false: the history may not be the operator's record. */
  operatorFound: boolean;
  /** What was read and what was found there, in words. */
  source: string;
}

export interface ComplianceOptions {
  /** Only these namespaces; all when absent. Policies and nodes are cluster-wide. */
  namespaces?: readonly string[];
  /** Only history entries at or after this time (RFC 3339). */
  since?: string;
}

export const SCHEMA_VERSION = 'hdh.sovereign.eu/compliance-report/v1';

export type Verdict = 'pass' | 'fail' | 'unknown';

export interface ReportPolicy {
  name: string;
  generation?: number;
  spec: SovereigntyPolicySpec;
  /** SHA-256 (hex) of the canonical JSON of spec. */
  specSha256: string;
}

export interface PolicySummary {
  policy: string;
  hubs: number;
  compliant: number;
  notCompliant: number;
}

export interface ReportSummary {
  hubs: number;
  compliant: number;
  notCompliant: number;
  failures: number;
  warnings: number;
  byPolicy: PolicySummary[];
}

export interface ReportCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface ReportPod {
  name: string;
  node: string;
  region?: string;
  zone?: string;
  /** The node's values of the label keys the policies name (absent keys are left out). */
  policyLabels: Record<string, string>;
  providerID?: string;
  verdict: Verdict;
  reason: string;
}

export interface ReportVolume {
  claim: string;
  /** The bound PersistentVolume; absent while the claim is pending. */
  volume?: string;
  phase: string;
  storageClass: string;
  capacity?: string;
  encryption: { attested: boolean; why: string };
  regions: string[];
  zones: string[];
  verdict: Verdict;
  reasons: string[];
}

export type CustodyVerdict = 'NonExtractable' | 'Extractable' | 'SecretInCluster' | 'NotVerified';

export interface CustodyAttribute {
  name: string;
  expected: string;
  observed: string;
}

export interface ReportCustody {
  verdict: CustodyVerdict;
  attributes: CustodyAttribute[];
  message: string;
  /** The custody is the weakest the operator offers (builtin). */
  weakest: boolean;
  weakestWhy?: string;
}

export interface ReportKeys {
  provider: string;
  keyRef?: string;
  activeVersion?: number;
  versions?: number;
  lastRotationTime?: string;
  rotationInterval?: string;
  nextRotationTime?: string;
  custody: ReportCustody;
}

export interface ReportHistoryEntry {
  time: string;
  type: HistoryEntry['type'];
  reason: string;
  message: string;
  hub?: string;
  hubUID?: string;
  pod?: string;
  node?: string;
  /** Key entries: the key-encryption key's reference. */
  kekRef?: string;
  /** KeyRotated: the key version added. */
  keyVersion?: number;
}

export interface ReportHub {
  namespace: string;
  name: string;
  uid: string;
  policy: string;
  compliant: boolean;
  conditions: ReportCondition[];
  pods: ReportPod[];
  volumes: ReportVolume[];
  keys: ReportKeys;
  history: ReportHistoryEntry[];
}

export interface ReportKeyRecord {
  namespace: string;
  hub?: string;
  uid?: string;
  /** The key-encryption key the keys are wrapped by: what retention and shredding are matched on. */
  kekRef?: string;
  time: string;
  message: string;
  /** Retained keys only: the UID of the hub of the same name that adopted them, if one did. */
  adoptedBy?: string;
}

export type FindingSeverity = 'failure' | 'warning';

export type FindingCheck =
  | 'policy'
  | 'condition'
  | 'pod-placement'
  | 'volume-location'
  | 'volume-encryption'
  | 'volume-class'
  | 'key-custody';

export interface Finding {
  severity: FindingSeverity;
  check: FindingCheck;
  namespace: string;
  hub: string;
  /** The pod, claim, condition or key the finding is about. */
  subject: string;
  message: string;
}

export interface Integrity {
  canonicalization: string;
  algorithm: 'sha256';
  digest: string;
  signature?: { algorithm: 'ed25519'; publicKey: string; value: string };
}

export interface ComplianceReport {
  schemaVersion: typeof SCHEMA_VERSION;
  generatedAt: string;
  cluster: { uid: string };
  operator: { version?: string; source: string };
  generator: { version: string };
  scope: { namespaces?: string[]; since?: string };
  policies: ReportPolicy[];
  summary: ReportSummary;
  hubs: ReportHub[];
  /** History entries of the namespaces in scope that concern no hub of the report. */
  namespaceHistory: (ReportHistoryEntry & { namespace: string })[];
  retainedKeys: ReportKeyRecord[];
  shreddedKeys: ReportKeyRecord[];
  findings: Finding[];
  /** Where the history above was read (a report that read none has none). */
  historySource?: HistorySource;
  integrity?: Integrity;
}
