// The placement controller, keyed by namespace: the namespace's policy labels, the audit of every
// pod against every policy the namespace is held to, each hub's PlacementCompliant and
// status.placement, and the removal of pods outside an enforced policy. It reads nothing of keys,
// storage or the datastore, so it goes on whatever fails there.
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import {
  ConditionType,
  HEALTH_DATA_HUB,
  PLACEMENT_FIELD_MANAGER,
  Reason,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../api/index.js';
import type { HistoryEntry, HistorySink } from '../../api/history.js';
import { checkReferences, type PlatformSettings } from '../../hub/references.js';
import { systemNamespaceRefusal } from '../../api/system-namespaces.js';
import {
  auditPods,
  describeViolations,
  labelHolder,
  nodeFacts,
  sameViolations,
  heldPolicies,
  type EligibleNodes,
  type HeldPolicy,
  type NodeFacts,
  type PodViolation,
} from '../../placement/audit.js';
import { countEligibleNodes } from '../../placement/compliance.js';
import { RecordedViolations, violationHistory } from '../../placement/history.js';
import { desiredPlacementSection, type PlacementSection } from '../../placement/hub-status.js';
import type { PlacementMetrics } from '../../placement/metrics.js';
import { PODS_PLACED_IN } from '../../placement/pod-index.js';
import type { Evictor } from '../../placement/evictor.js';
import type { Labels } from '../../policy/eligibility.js';
import { schedulableNodes } from '../../policy/nodes.js';
import type { StatusWriter } from '../../runtime/apply.js';
import { BY_NAMESPACE, type Cache } from '../../runtime/cache.js';
import type { ReconcileResult, Reconciler } from '../../runtime/controller.js';
import { statusCode } from '../../runtime/errors.js';
import type { EventSink } from '../../runtime/events.js';
import type { Logger } from '../../runtime/logging.js';
import { statusUnchanged, WrittenStatus } from '../../runtime/status.js';
import { remediate } from './remediate.js';

/** The namespace's policy labels: kept by the one labeller (src/hub/namespace-labels.ts). */
export interface NamespaceLabels {
  sync(namespace: string): Promise<void>;
  labelsOf(namespace: string): Labels;
  get(namespace: string): V1Namespace | undefined;
}

export interface PlacementReconcilerDeps {
  hubs: Cache<HealthDataHub>;
  policies: Cache<SovereigntyPolicy>;
  nodes: Cache<V1Node>;
  /** Indexed by podIndexers. */
  pods: Cache<V1Pod>;
  namespaces: NamespaceLabels;
  /** Applies the placement section of hub status, with the placement controller's field manager. */
  status: StatusWriter;
  events: EventSink;
  evictor: Evictor;
  /** The durable history: violations found and resolved, pods removed. */
  history?: HistorySink;
  metrics: PlacementMetrics;
  log: Logger;
  /** The Node as the API server has it now (undefined: gone): the pod watch can run ahead. */
  liveNode: (name: string) => Promise<V1Node | undefined>;
  platform?: PlatformSettings;
  operatorNamespace?: string;
  now?: () => Date;
}

function soonest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/**
 * Where removed pods could go. The policy alone decides for pods outside it: a hub's
 * placement.regions, which its tenant writes, can only narrow, and must not be able to stop the
 * removal of a pod from a node outside the policy by naming a region without nodes.
 */
function eligibleNodes(nodes: Parameters<typeof countEligibleNodes>[0], self: HeldPolicy): EligibleNodes {
  return {
    policy: countEligibleNodes(nodes, self.spec),
    hubRegions: countEligibleNodes(nodes, self.spec, self.hubRegions),
  };
}

export class PlacementReconciler implements Reconciler {
  /** Per namespace, the hubs a violations gauge was set for (removed when they go). */
  private readonly gauged = new Map<string, Set<string>>();
  /** Per namespace audited for its label-only policies, the violations last said in an Event. */
  private readonly reported = new Map<string, string>();
  /** The placement sections this controller wrote that its hub cache may not show yet. */
  private readonly written = new WrittenStatus<PlacementSection>();
  /** The violations last recorded in the durable history, per hub UID (and namespace). */
  private readonly recordedViolations = new RecordedViolations();

  constructor(private readonly d: PlacementReconcilerDeps) {}

  async reconcile(namespace: string, signal?: AbortSignal): Promise<ReconcileResult | void> {
    // Before anything else: the namespace becomes (or stops being) sovereign territory for the
    // policies it is held to, never a system namespace.
    await this.d.namespaces.sync(namespace);
    const refused = systemNamespaceRefusal(namespace, this.d.operatorNamespace) !== undefined;
    const hubs = refused ? [] : this.d.hubs.byIndex(BY_NAMESPACE, namespace);
    const held = refused ? [] : this.heldPolicies(namespace, hubs);
    this.forgetGauges(namespace, hubs);
    this.recordedViolations.forget(
      namespace,
      new Set(['', ...hubs.map((h) => h.metadata.uid ?? h.metadata.name!)]),
    );
    const pods = this.placedPods(namespace);
    const violations = held.length ? auditPods(held, pods, await this.nodesOf(pods)) : [];
    // A pod back inside every policy starts afresh if it ever leaves again.
    if (held.length)
      this.d.evictor.forgetExcept(
        namespace,
        violations.map((v) => v.uid),
      );
    const nodes = schedulableNodes(this.d.nodes.list());
    const namespaceLabels = this.d.namespaces.labelsOf(namespace);
    const now = this.d.now?.() ?? new Date();
    let retry: number | undefined;
    for (const cached of hubs) {
      signal?.throwIfAborted();
      const hub = this.asWritten(cached);
      const name = hub.metadata.name!;
      const policy = this.d.policies.get(hub.spec.policyName);
      const self = held.find((h) => h.hub === name);
      // Without its own policy the hub has no verdict of its own to give: it neither reports
      // pods nor evicts (fail closed).
      const own = self ? violations : undefined;
      if (own) {
        this.d.metrics.violations.set({ namespace, hub: name }, own.length);
        const names = this.gauged.get(namespace) ?? new Set<string>();
        this.gauged.set(namespace, names.add(name));
      } else {
        this.d.metrics.violations.remove({ namespace, hub: name });
      }
      const refusals = checkReferences(hub, policy, this.d.platform, namespaceLabels).filter(
        (f) => f.type === ConditionType.PlacementCompliant,
      );
      const section = desiredPlacementSection({ hub, policy, nodes, violations: own, refusals }, now);
      if (section) await this.write(hub, section);
      // Recorded once the removals below are done, never before them, and in this order.
      const recorded = own && section ? this.violationEntries(hub, own, now) : [];
      const [, removal] = await Promise.all([
        this.reportPlacement(hub, own, section),
        self && violations.length
          ? remediate(
              this.remediation(recorded),
              hub,
              namespace,
              self,
              held,
              violations,
              eligibleNodes(nodes, self),
              signal,
            )
          : undefined,
      ]).finally(() => this.record(namespace, recorded));
      retry = soonest(retry, (removal || undefined)?.requeueAfterMs);
    }
    const byLabel = await this.auditLabelOnly(namespace, held, violations, nodes, now, signal);
    retry = soonest(retry, (byLabel || undefined)?.requeueAfterMs);
    return retry === undefined ? undefined : { requeueAfterMs: retry };
  }

  private remediation(recorded: HistoryEntry[]) {
    return {
      pods: this.d.pods,
      evictor: this.d.evictor,
      events: this.d.events,
      log: this.d.log,
      liveNode: this.d.liveNode,
      recorded,
    };
  }

  /**
   * For the durable history: pods found outside the policy, or no longer, in the full list the
   * audit found (status holds only the first ones). A hub first seen starts from its status.
   */
  private violationEntries(hub: HealthDataHub, own: readonly PodViolation[], now: Date): HistoryEntry[] {
    const { namespace, uid, name } = hub.metadata;
    const seed = hub.status?.placement?.violations;
    const change = this.recordedViolations.changes(namespace!, uid ?? name!, seed, own);
    return violationHistory(hub, `SovereigntyPolicy ${hub.spec.policyName}`, change, now);
  }

  /** Hands entries to the history without waiting for the write: no reconcile waits for it. */
  private record(namespace: string, entries: readonly HistoryEntry[]): void {
    if (entries.length > 0) void this.d.history?.record(namespace, entries);
  }

  /** The hub with the placement section this controller last wrote, if its cache lags behind. */
  private asWritten(hub: HealthDataHub): HealthDataHub {
    const conditions = hub.status?.conditions ?? [];
    const cached = {
      condition: conditions.find((c) => c.type === ConditionType.PlacementCompliant),
      placement: hub.status?.placement,
    };
    const current = this.written.current(hub, cached as PlacementSection);
    if (current === cached) return hub;
    const others = conditions.filter((c) => c.type !== ConditionType.PlacementCompliant);
    return {
      ...hub,
      status: { ...hub.status, conditions: [...others, current.condition], placement: current.placement },
    };
  }

  /**
   * Applies the hub's placement section when it changed, or when this controller's field manager
   * does not own it yet (an earlier version wrote it under the hub's manager, which would drop it
   * on its next write). A gone hub has nothing to report.
   */
  private async write(hub: HealthDataHub, section: PlacementSection): Promise<void> {
    const before = hub.status?.conditions?.find((c) => c.type === ConditionType.PlacementCompliant);
    const owned = hub.metadata.managedFields?.some(
      (f) => f.manager === PLACEMENT_FIELD_MANAGER && f.subresource === 'status',
    );
    if (
      owned &&
      statusUnchanged(before, section.condition) &&
      statusUnchanged(hub.status?.placement, section.placement)
    ) {
      return;
    }
    const status = { conditions: [section.condition], placement: section.placement };
    const resourceVersion = await this.d.status
      .applyStatus(HEALTH_DATA_HUB, hub.metadata.name!, hub.metadata.namespace, status)
      .catch((e: unknown) => {
        if (statusCode(e) !== 404) throw e;
        return undefined;
      });
    this.written.remember(hub, resourceVersion, section);
  }

  /** Events for a change of the set of pods outside the policy. */
  private async reportPlacement(
    hub: HealthDataHub,
    violations: readonly PodViolation[] | undefined,
    section: PlacementSection | undefined,
  ): Promise<void> {
    if (!violations || !section) return;
    const before = hub.status?.placement?.violations;
    if (sameViolations(before, section.placement.violations)) return;
    if (violations.length) {
      await this.d.events.record(hub, 'Warning', Reason.PodsOutsidePolicy, describeViolations(violations));
    } else if (before?.length) {
      await this.d.events.record(
        hub,
        'Normal',
        Reason.Compliant,
        'every pod of the namespace runs on a node that satisfies the policy again',
      );
    }
  }

  private forgetGauges(namespace: string, hubs: readonly HealthDataHub[]): void {
    const names = new Set(hubs.map((h) => h.metadata.name!));
    const set = this.gauged.get(namespace);
    for (const name of set ?? []) {
      if (names.has(name)) continue;
      this.d.metrics.violations.remove({ namespace, hub: name });
      set!.delete(name);
    }
  }

  /**
   * Every policy the namespace is held to, known to the operator: each hub's (deleted ones too,
   * while they exist), with the hub's placement.regions when its policy allows them; and each
   * other policy whose label the namespace carries (claims retained from a deleted hub keep it),
   * held by the namespace itself (labelHolder).
   */
  private heldPolicies(namespace: string, hubs: readonly HealthDataHub[]): HeldPolicy[] {
    return heldPolicies(hubs, this.d.policies.list(), this.d.namespaces.labelsOf(namespace));
  }

  /**
   * The audit and removals for the policies a namespace is held to by its label alone: no hub
   * reports or evicts for them (a hub deleted with its claims retained), so the namespace does.
   * Reported in hdh_placement_violations{hub=""} and in Events on the Namespace.
   */
  private async auditLabelOnly(
    namespace: string,
    held: readonly HeldPolicy[],
    violations: readonly PodViolation[],
    nodes: readonly NodeFacts[],
    now: Date,
    signal?: AbortSignal,
  ): Promise<ReconcileResult | void> {
    const gauge = { namespace, hub: '' };
    const own = held.filter((h) => h.hub === labelHolder(h.policyName));
    const subject = this.d.namespaces.get(namespace);
    if (own.length === 0 || !subject) {
      this.d.metrics.violations.remove(gauge);
      this.reported.delete(namespace);
      this.recordedViolations.drop(namespace, '');
      return;
    }
    const mine = violations.filter((v) => own.some((h) => v.violatedBy.includes(h.hub)));
    this.d.metrics.violations.set(gauge, mine.length);
    const policies = own.map((h) => h.policyName).join(', ');
    // Namespace-wide entries, recorded with (and before) the removals below.
    const recorded = violationHistory(
      undefined,
      `SovereigntyPolicy ${policies}, which the namespace is held to by claims retained from a deleted hub`,
      this.recordedViolations.changes(namespace, '', undefined, mine),
      now,
    );
    const said = mine.length ? describeViolations(mine.slice(0, 5), mine.length) : '';
    let retry: number | undefined;
    try {
      if (said !== (this.reported.get(namespace) ?? '')) {
        this.reported.set(namespace, said);
        if (said) {
          this.d.log.warn('pods outside a policy the namespace is held to by retained claims', { namespace });
          await this.d.events.record(
            subject,
            'Warning',
            Reason.PodsOutsidePolicy,
            `${said}; held to SovereigntyPolicy ${policies} by claims retained from a deleted hub`,
          );
        }
      }
      for (const self of mine.length ? own : []) {
        const result = await remediate(
          this.remediation(recorded),
          subject,
          namespace,
          self,
          held,
          violations,
          eligibleNodes(nodes, self),
          signal,
        );
        retry = soonest(retry, (result || undefined)?.requeueAfterMs);
      }
    } finally {
      this.record(namespace, recorded);
    }
    return retry === undefined ? undefined : { requeueAfterMs: retry };
  }

  private placedPods(namespace: string): V1Pod[] {
    return this.d.pods.byIndex(PODS_PLACED_IN, namespace);
  }

  /**
   * Facts of the nodes the pods are placed on. A node missing from the cache is asked of the API
   * server before it is called gone: the pod watch can run ahead of the node watch.
   */
  private async nodesOf(pods: readonly V1Pod[]): Promise<Map<string, NodeFacts>> {
    const facts = new Map<string, NodeFacts>();
    for (const pod of pods) {
      const nodeName = pod.spec!.nodeName!;
      if (facts.has(nodeName)) continue;
      const node = this.d.nodes.get(nodeName) ?? (await this.d.liveNode(nodeName));
      if (node) facts.set(nodeName, nodeFacts(node));
    }
    return facts;
  }
}
