import { CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import {
  ConditionType,
  getCondition,
  HEALTH_DATA_HUB,
  Reason,
  type HealthDataHub,
  type HealthDataHubStatus,
  type SovereigntyPolicy,
} from '../api/index.js';
import {
  auditPods,
  describeViolations,
  evictionCandidates,
  isTrustedNode,
  nodeFacts,
  sameViolations,
  type HeldPolicy,
  type NodeFacts,
  type PodViolation,
} from '../placement/audit.js';
import type { PlacementMetrics } from '../placement/metrics.js';
import type { PodNodeIndex } from '../placement/pod-index.js';
import type { Evictor } from '../placement/remediation.js';
import { isNodeEligible } from '../policy/eligibility.js';
import { schedulableNodeLabels } from '../policy/nodes.js';
import type { Writer } from '../runtime/apply.js';
import type { ApiClients } from '../runtime/client.js';
import type { ReconcileResult, Reconciler } from '../runtime/controller.js';
import { statusCode } from '../runtime/errors.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import type { Logger } from '../runtime/logging.js';
import { statusUnchanged } from '../runtime/status.js';
import { NamespaceLabeler, sovereignNamespaceLabels } from './namespace-labels.js';
import { desiredHubStatus, suspendedHubStatus } from './status.js';

export interface HubReconcilerDeps {
  hubs: Informer<HealthDataHub>;
  policies: Informer<SovereigntyPolicy>;
  nodes: Informer<V1Node>;
  pods: Informer<V1Pod>;
  placedPods: PodNodeIndex;
  clients: ApiClients;
  writer: Writer;
  events: EventRecorder;
  namespaces: NamespaceLabeler;
  evictor: Evictor;
  metrics: PlacementMetrics;
  log: Logger;
}

/** After a cached verdict the API server did not confirm, look again this soon. */
const RECHECK_MS = 1000;

/** observe -> compute -> report -> remediate for one HealthDataHub. */
export class HubReconciler implements Reconciler {
  private readonly core: CoreV1Api;

  constructor(private readonly d: HubReconcilerDeps) {
    this.core = d.clients.make(CoreV1Api);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [namespace, name] = key.split('/') as [string, string];
    // First of all, before any pod of a hub exists: the namespace becomes (or stops being)
    // sovereign territory for the policies of the hubs it holds.
    await this.d.namespaces.sync(
      namespace,
      sovereignNamespaceLabels(this.d.hubs.list((h) => h.metadata.namespace === namespace)),
    );
    const hub = this.d.hubs.get(key);
    if (!hub) {
      // deleted: nothing else of ours to report on
      this.d.metrics.violations.remove({ namespace, hub: name });
      return;
    }
    const policy = this.d.policies.get(hub.spec.policyName);
    const held = this.heldPolicies(namespace);
    const self = held.find((h) => h.hub === name);
    // Without its own policy the hub has no verdict of its own to give (PolicyNotFound): fail
    // closed, it neither reports nor evicts.
    const violations = self
      ? auditPods(held, this.placedPods(namespace), await this.nodesOf(namespace))
      : undefined;
    // Nodes whose providerID contradicts their region label do not count as eligible.
    const nodeLabels = schedulableNodeLabels(this.d.nodes.list(isTrustedNode));
    const observation = { hub, policy, nodeLabels, violations };
    // A suspended hub changes nothing, but stays held to its policy: the audit goes on.
    const status = hub.spec.suspend
      ? suspendedHubStatus(observation, new Date())
      : desiredHubStatus(observation, new Date());
    if (violations) this.d.metrics.violations.set({ namespace, hub: name }, violations.length);

    if (!statusUnchanged(hub.status, status)) {
      await this.d.writer.applyStatus(HEALTH_DATA_HUB, name, namespace, status);
    }
    const [, result] = await Promise.all([
      this.reportChanges(hub, status, violations),
      self && violations?.length
        ? this.remediate(
            hub,
            self,
            held,
            violations,
            nodeLabels.filter((l) => isNodeEligible(l, self.spec, self.hubRegions)).length,
          )
        : undefined,
    ]);
    return result;
  }

  /** Every hub of the namespace whose policy is known, with that policy. */
  private heldPolicies(namespace: string): HeldPolicy[] {
    return this.d.hubs
      .list((h) => h.metadata.namespace === namespace)
      .flatMap((h) => {
        const p = this.d.policies.get(h.spec.policyName);
        return p
          ? [
              {
                hub: h.metadata.name!,
                policyName: h.spec.policyName,
                spec: p.spec,
                hubRegions: h.spec.placement?.regions,
              },
            ]
          : [];
      });
  }

  private placedPods(namespace: string): V1Pod[] {
    return this.d.placedPods.placedIn(namespace).flatMap((k) => this.d.pods.get(k) ?? []);
  }

  /**
   * Facts of the nodes the namespace's pods are placed on. A node missing from the cache is asked
   * of the API server before it is called gone: the pod watch can run ahead of the node watch.
   */
  private async nodesOf(namespace: string): Promise<Map<string, NodeFacts>> {
    const facts = new Map<string, NodeFacts>();
    for (const pod of this.placedPods(namespace)) {
      const nodeName = pod.spec!.nodeName!;
      if (facts.has(nodeName)) continue;
      const node = this.d.nodes.get(nodeName) ?? (await this.readNode(nodeName));
      if (node) facts.set(nodeName, nodeFacts(node));
    }
    return facts;
  }

  private async readNode(name: string): Promise<V1Node | undefined> {
    try {
      return await this.core.readNode({ name });
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  /** Events for what changed: Ready, and the set of pods outside the policy. */
  private async reportChanges(
    hub: HealthDataHub,
    status: HealthDataHubStatus,
    violations: readonly PodViolation[] | undefined,
  ): Promise<void> {
    const before = hub.status?.placement?.violations;
    const after = status.placement?.violations;
    const placementChanged = violations !== undefined && !sameViolations(before, after);
    if (placementChanged && violations.length) {
      await this.d.events.record(hub, 'Warning', Reason.PodsOutsidePolicy, describeViolations(violations));
    } else if (placementChanged && before?.length) {
      await this.d.events.record(
        hub,
        'Normal',
        Reason.Compliant,
        'every pod of the namespace runs on a node that satisfies the policy again',
      );
    }
    const readyBefore = getCondition(hub.status?.conditions, ConditionType.Ready);
    const readyAfter = getCondition(status.conditions, ConditionType.Ready);
    if (
      !readyAfter ||
      (readyBefore?.status === readyAfter.status && readyBefore?.reason === readyAfter.reason)
    ) {
      return;
    }
    this.d.log.info('hub status changed', {
      hub: `${hub.metadata.namespace}/${hub.metadata.name}`,
      ready: readyAfter.status,
      reason: readyAfter.reason,
    });
    // The placement Event above already says it, with the pods named.
    if (placementChanged && readyAfter.reason === Reason.PodsOutsidePolicy) return;
    if (readyAfter.status === 'False') {
      await this.d.events.record(hub, 'Warning', readyAfter.reason, readyAfter.message);
    } else if (readyAfter.status === 'True') {
      await this.d.events.record(hub, 'Normal', readyAfter.reason, readyAfter.message);
    }
  }

  /**
   * Evicts the pods the hub's policy asks to evict. Nothing is evicted while no node could take
   * them back (NoEligibleNodes), nor on a verdict the API server's current Node does not confirm.
   * A PodDisruptionBudget that refuses is waited out with a growing delay.
   */
  private async remediate(
    hub: HealthDataHub,
    self: HeldPolicy,
    held: readonly HeldPolicy[],
    violations: readonly PodViolation[],
    eligibleNodes: number,
  ): Promise<ReconcileResult | void> {
    const candidates = evictionCandidates(violations, self);
    if (candidates.length === 0 || eligibleNodes === 0) return;
    const namespace = hub.metadata.namespace!;
    let retry: number | undefined;
    const later = (ms: number) => (retry = Math.min(retry ?? ms, ms));
    const live = new Map<string, Promise<V1Node | undefined>>();
    for (const v of candidates) {
      const pod = this.d.pods.get(`${namespace}/${v.pod}`);
      if (!live.has(v.node)) live.set(v.node, this.readNode(v.node));
      const node = await live.get(v.node)!;
      // Gone pod: nothing to do. Gone node: the pod garbage collector deletes its pods.
      if (!pod || !node) continue;
      // Decide on what the API server says now, not on a cache that may lag behind.
      if (auditPods(held, [pod], new Map([[v.node, nodeFacts(node)]])).length === 0) {
        later(RECHECK_MS);
        continue;
      }
      const outcome = await this.d.evictor.evict(namespace, v.pod, v.uid);
      const subject = `pod ${v.pod} on node ${v.node}`;
      if (outcome.result === 'evicted') {
        this.d.log.info('evicted pod outside its policy', {
          hub: `${namespace}/${hub.metadata.name}`,
          pod: v.pod,
          node: v.node,
        });
        await this.d.events.record(hub, 'Warning', 'PodEvicted', `evicted ${subject} (${v.reason})`);
      } else if (outcome.result === 'blocked' || outcome.result === 'error') {
        later(outcome.retryAfterMs ?? RECHECK_MS);
        this.d.log.warn('eviction refused, will retry', {
          pod: `${namespace}/${v.pod}`,
          error: outcome.message,
          retryInMs: outcome.retryAfterMs,
        });
        await this.d.events.record(
          hub,
          'Warning',
          'EvictionBlocked',
          `could not evict ${subject}: ${outcome.message ?? 'refused'}; retrying with backoff (the pod is never deleted directly)`,
        );
      }
    }
    return retry === undefined ? undefined : { requeueAfterMs: retry };
  }
}
