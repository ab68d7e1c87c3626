import type { CoreV1Api, V1Namespace, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { FIELD_MANAGER, LABEL_RETAINED_FROM, Reason, type HealthDataHub } from '../api/index.js';
import { hubNamespaceLabels, POLICY_NAMESPACE_LABEL_PREFIX } from '../placement/admission.js';
import type { Labels } from '../policy/eligibility.js';
import type { Writer } from '../runtime/apply.js';
import { BY_NAMESPACE } from '../runtime/cache.js';
import { statusCode } from '../runtime/errors.js';
import { appliedEntry, unchangedOnServer } from '../runtime/unchanged-on-server.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import type { Logger } from '../runtime/logging.js';
import { staleRecords, type RetainedRecord } from '../storage/retention.js';
import type { RetainedClaimRecords } from './retained-claims.js';
import { systemNamespaceRefusal } from '../api/system-namespaces.js';

const isPolicyLabel = (key: string) => key.startsWith(`${POLICY_NAMESPACE_LABEL_PREFIX}/`);

/**
 * The labels that make a namespace sovereign territory: one per policy of the hubs it holds, so
 * every pod in it — not only the operator's — is checked against each of those policies. A hub
 * deleted with its data kept leaves records of its retained claims (src/hub/retained-claims.ts,
 * in the operator's namespace): the namespace stays held to the policy each names until the claim
 * is gone or adopted, whatever the claim's own labels say (the tenant may edit them), and whether
 * or not that policy still selects the namespace (a label only adds checks). A claim marked
 * retained-from without a record (kept by an older version) keeps every policy label the namespace
 * carries.
 */
export function sovereignNamespaceLabels(
  hubsInNamespace: readonly HealthDataHub[],
  claimsInNamespace: readonly V1PersistentVolumeClaim[] = [],
  liveLabels: Labels = {},
  records: readonly RetainedRecord[] = [],
): Record<string, string> {
  const labels: Record<string, string> = {};
  // Once per policy: a namespace may hold a thousand hubs of the same one.
  for (const policy of new Set(hubsInNamespace.map((h) => h.spec.policyName))) {
    Object.assign(labels, hubNamespaceLabels(policy));
  }
  for (const record of records) Object.assign(labels, hubNamespaceLabels(record.policy));
  const recorded = new Set(records.map((r) => r.claimUid));
  for (const claim of claimsInNamespace) {
    if (claim.metadata?.labels?.[LABEL_RETAINED_FROM] === undefined) continue;
    if (claim.metadata.uid && recorded.has(claim.metadata.uid)) continue;
    for (const [k, v] of Object.entries(liveLabels)) if (isPolicyLabel(k)) labels[k] = v;
  }
  return labels;
}

export interface NamespaceLabelerDeps {
  writer: Writer;
  core: CoreV1Api;
  /** Namespaces, reduced to their labels (namespaceView). */
  namespaces: Informer<V1Namespace>;
  hubs: Informer<HealthDataHub>;
  claims: Informer<V1PersistentVolumeClaim>;
  records: RetainedClaimRecords;
  events: EventRecorder;
  log: Logger;
  /** The operator's own namespace: like Kubernetes' namespaces, never labelled. */
  operatorNamespace?: string;
}

/**
 * What the namespace cache keeps: name, version, labels, deletion, and which labels the operator
 * applied (its own entry of managedFields).
 */
export function namespaceView(ns: V1Namespace): V1Namespace {
  const md = ns.metadata ?? {};
  const applied = appliedEntry(md.managedFields, FIELD_MANAGER);
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: md.name,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
      ...(md.labels ? { labels: md.labels } : {}),
      ...(md.deletionTimestamp ? { deletionTimestamp: md.deletionTimestamp } : {}),
      ...(applied ? { managedFields: [applied] } : {}),
    },
  };
}

/** Whether a Namespace update can change what the operator decides (labels, deletion). */
export function namespaceLabelsChanged(a: V1Namespace | undefined, b: V1Namespace): boolean {
  return (
    !a ||
    JSON.stringify(a.metadata?.labels ?? {}) !== JSON.stringify(b.metadata?.labels ?? {}) ||
    !!a.metadata?.deletionTimestamp !== !!b.metadata?.deletionTimestamp
  );
}

/**
 * Keeps each namespace's policy labels as sovereignNamespaceLabels says, by server-side apply (only
 * the operator's own labels are touched). Compared with the namespace as watched, so a label
 * someone else removes or changes is restored as soon as the watch reports it, with an Event.
 */
export class NamespaceLabeler {
  /** Per namespace, the labels this process last applied. */
  private readonly applied = new Map<string, Record<string, string>>();

  constructor(private readonly d: NamespaceLabelerDeps) {}

  /** The namespace as watched (namespaceView), for Events about it. */
  get(namespace: string): V1Namespace | undefined {
    return this.d.namespaces.get(namespace);
  }

  /** The namespace's labels as watched (empty when unknown). */
  labelsOf(namespace: string): Labels {
    return this.d.namespaces.get(namespace)?.metadata?.labels ?? {};
  }

  async sync(namespace: string): Promise<void> {
    const live = this.d.namespaces.get(namespace) ?? (await this.read(namespace));
    // Gone: so are its claims, and their records with them.
    if (!live) {
      for (const r of await this.d.records.list(namespace)) await this.d.records.remove(r);
      this.applied.delete(namespace);
      return;
    }
    // Going: an apply would create it again, and a terminating namespace takes no pods.
    if (live.metadata?.deletionTimestamp) return;
    const liveLabels = live.metadata?.labels ?? {};
    // Hubs there are refused (src/api/system-namespaces.ts): their policies hold no pod there.
    if (systemNamespaceRefusal(namespace, this.d.operatorNamespace))
      return this.release(namespace, liveLabels);
    const hubs = this.d.hubs.byIndex(BY_NAMESPACE, namespace);
    const last = this.applied.get(namespace);
    let claims: readonly V1PersistentVolumeClaim[] = this.d.claims.byIndex(BY_NAMESPACE, namespace);
    let fresh = false;
    const readClaims = async () => {
      if (fresh) return;
      // Decide on the claims the API server has, not on a cache that may not show yet a claim.
      claims = (await this.d.core.listNamespacedPersistentVolumeClaim({ namespace })).items;
      fresh = true;
    };
    // The records are a LIST in the operator's namespace: read where they can matter (a claim is
    // marked retained, or a policy label is held by no hub of the namespace), and on this process's
    // first sync of the namespace, so a label removed while no operator ran is restored from them.
    // A record left stale meanwhile (its claim gone, a hub of its policy still there) is removed
    // on the first sync that reads it.
    const fromHubs = sovereignNamespaceLabels(hubs);
    const readRecords =
      last === undefined ||
      claims.some((c) => c.metadata?.labels?.[LABEL_RETAINED_FROM] !== undefined) ||
      [...Object.keys(last), ...Object.keys(liveLabels)].some((k) => isPolicyLabel(k) && !(k in fromHubs));
    let records = readRecords ? await this.d.records.list(namespace) : [];
    if (staleRecords(records, claims, hubs).length > 0) {
      await readClaims();
      const stale = staleRecords(records, claims, hubs);
      for (const r of stale) await this.d.records.remove(r);
      records = records.filter((r) => !stale.includes(r));
    }
    let desired = sovereignNamespaceLabels(hubs, claims, liveLabels, records);
    const dropping = Object.keys(last ?? liveLabels).filter((k) => isPolicyLabel(k) && !(k in desired));
    if (dropping.length > 0 && !fresh) {
      // A label is about to go: decide on the claims and records the API server has, not on a
      // cache that may not show yet the claims a deleted hub has just retained.
      await readClaims();
      records = await this.d.records.list(namespace);
      desired = sovereignNamespaceLabels(hubs, claims, liveLabels, records);
    }
    const same = (a: Record<string, string> | undefined) =>
      !!a && JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(desired).sort());
    const changed = Object.keys(desired).filter((k) => liveLabels[k] !== desired[k]);
    if (changed.length === 0 && same(last)) return;
    const apply = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: desired } };
    // First sync of this process: what an earlier one applied and nobody changed since stands.
    if (last === undefined && unchangedOnServer(apply, live, this.d.writer.fieldManager)) {
      this.applied.set(namespace, desired);
      return;
    }
    // Nothing to hold and nothing to take back (most namespaces of a cluster): no write.
    if (Object.keys(desired).length === 0 && !Object.keys(liveLabels).some(isPolicyLabel)) {
      this.applied.set(namespace, desired);
      return;
    }
    // Labels this process applied and the watch shows changed: someone else's doing, unless the
    // watch is behind our own write (then the API server already has them).
    let restored: string[] = [];
    if (changed.length > 0 && same(last)) {
      const current = (await this.read(namespace))?.metadata?.labels ?? {};
      restored = changed.filter((k) => current[k] !== desired[k]);
      if (restored.length === 0) return;
    }
    await this.d.writer.apply(apply);
    this.applied.set(namespace, desired);
    if (restored.length > 0) await this.reportRestored(live, restored, hubs);
  }

  /**
   * A system namespace is never labelled. Policy labels an earlier version applied there (it
   * served hubs in any namespace) are taken back: an apply without labels drops this manager's.
   */
  private async release(namespace: string, liveLabels: Labels): Promise<void> {
    if (!Object.keys(liveLabels).some(isPolicyLabel)) return;
    if (this.applied.get(namespace) && Object.keys(this.applied.get(namespace)!).length === 0) return;
    await this.d.writer.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: {} },
    });
    this.applied.set(namespace, {});
  }

  private async reportRestored(ns: V1Namespace, keys: string[], hubs: readonly HealthDataHub[]) {
    const name = ns.metadata?.name ?? '';
    const note =
      `restored label(s) ${keys.join(', ')} of namespace ${name}, removed or changed by someone else: ` +
      'they hold every pod of the namespace to its SovereigntyPolicies and are managed by the operator ' +
      'alone. To release the namespace, delete its hubs (and any claims retained from them)';
    this.d.log.warn('namespace policy label restored', { namespace: name, labels: keys.join(',') });
    await this.d.events.record(namespaceView(ns), 'Warning', Reason.NamespaceLabelRestored, note);
    for (const hub of hubs) await this.d.events.record(hub, 'Warning', Reason.NamespaceLabelRestored, note);
  }

  private async read(namespace: string): Promise<V1Namespace | undefined> {
    try {
      return await this.d.core.readNamespace({ name: namespace });
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }
}
