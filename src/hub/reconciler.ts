import { CoreV1Api, type KubernetesObject, type V1Node, type V1Pod } from '@kubernetes/client-node';
import {
  ConditionStatus,
  ConditionType,
  FINALIZER,
  getCondition,
  HEALTH_DATA_HUB,
  Reason,
  setCondition,
  type ConditionUpdate,
  type HealthDataHub,
  type HealthDataHubStatus,
  type SovereigntyPolicy,
} from '../api/index.js';
import {
  auditPods,
  describeViolations,
  evictionCandidates,
  labelHolder,
  nodeFacts,
  sameViolations,
  validHubRegions,
  type EligibleNodes,
  type HeldPolicy,
  type NodeFacts,
  type PodViolation,
} from '../placement/audit.js';
import { policyNamespaceLabelKey } from '../placement/admission.js';
import type { PlacementMetrics } from '../placement/metrics.js';
import type { PodNodeIndex } from '../placement/pod-index.js';
import {
  DEFAULT_EVICTION_TIMEOUT,
  RECURRENCE_BACKOFF_BASE_MS,
  RECURRENCE_BACKOFF_CAP_MS,
  remediationSettings,
  type Evictor,
} from '../placement/remediation.js';
import { countEligibleNodes } from '../placement/compliance.js';
import { schedulableNodes } from '../policy/nodes.js';
import type { Writer } from '../runtime/apply.js';
import type { ApiClients } from '../runtime/client.js';
import type { ReconcileResult, Reconciler } from '../runtime/controller.js';
import { describeError, statusCode, WriteRefused } from '../runtime/errors.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import type { Logger } from '../runtime/logging.js';
import { statusUnchanged } from '../runtime/status.js';
import type { NamespaceLabeler } from './namespace-labels.js';
import { checkReferences, type PlatformSettings } from './references.js';
import { datastoreReport, storageReport } from '../storage/index.js';
import {
  deletingHubStatus,
  desiredHubStatus,
  refusalReport,
  suspendedHubStatus,
  systemNamespaceHubStatus,
  type HubComponents,
} from './status.js';
import { systemNamespaceRefusal } from './system-namespaces.js';
import { DatastoreStep } from './steps/datastore.js';
import { finalizeHub, type DeletionDeps } from './steps/deletion.js';
import type { KeyGate } from './steps/keys.js';
import { StorageStep } from './steps/storage.js';

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
  storage: StorageStep;
  datastore: DatastoreStep;
  /** The key lifecycle's seam: its result gates the datastore. */
  keys: KeyGate;
  deletion: DeletionDeps;
  log: Logger;
  /** The operator's flags that hubs are checked against (default: DEFAULT_PLATFORM_SETTINGS). */
  platform?: PlatformSettings;
  /** The operator's own namespace: no hub is served there (systemNamespaceRefusal). */
  operatorNamespace?: string;
}

/** After a cached verdict the API server did not confirm, look again this soon. */
const RECHECK_MS = 1000;
/** A blocked deletion is tried again this often (the controller's backoff covers errors). */
const DELETION_RETRY_MS = 10_000;

/** `20s`, `2m5s`: how long, for a message. */
function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}` : `${s}s`;
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

/** observe -> compute -> report -> remediate for one HealthDataHub. */
export class HubReconciler implements Reconciler {
  private readonly core: CoreV1Api;
  /** Per namespace audited for its label-only policies, the violations last said in an Event. */
  private readonly reported = new Map<string, string>();

  constructor(private readonly d: HubReconcilerDeps) {
    this.core = d.clients.make(CoreV1Api);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [namespace, name] = key.split('/') as [string, string];
    // First of all, before any pod of a hub exists: the namespace becomes (or stops being)
    // sovereign territory for the policies of the hubs it holds (never a system namespace).
    await this.d.namespaces.sync(namespace);
    const refusal = systemNamespaceRefusal(namespace, this.d.operatorNamespace);
    if (refusal) return this.refuse(key, refusal);
    const hub = this.d.hubs.get(key);
    if (!hub) {
      // deleted: nothing else of ours to report on
      this.d.metrics.violations.remove({ namespace, hub: name });
      this.d.storage.forget(namespace, name);
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
    // Counted with the one node verdict: nodes whose providerID contradicts their region label
    // do not count, exactly as in the policy's eligibleNodes.
    const nodes = schedulableNodes(this.d.nodes.list());
    if (violations) {
      this.d.metrics.violations.set({ namespace, hub: name }, violations.length);
      // A pod back inside every policy starts afresh if it ever leaves again.
      this.d.evictor.forgetExcept(
        namespace,
        violations.map((v) => v.uid),
      );
    }
    // The namespace stays held to the hub's policy while the hub exists (its label stays), so
    // the audit and the removals go on while it is deleted, however long someone's finalizer
    // keeps it; then the deletion runs, even for a suspended hub.
    if (hub.metadata.deletionTimestamp) {
      const status = deletingHubStatus({ hub, policy, violations }, new Date());
      if (!statusUnchanged(hub.status, status)) {
        await this.d.writer.applyStatus(HEALTH_DATA_HUB, name, namespace, status).catch((e: unknown) => {
          if (statusCode(e) !== 404) throw e;
        });
      }
      const removal =
        self && violations?.length
          ? await this.remediate(hub, namespace, self, held, violations, eligibleNodes(nodes, self))
          : undefined;
      const deletion = await this.finalize({ ...hub, status });
      const requeue = soonest(
        (removal || undefined)?.requeueAfterMs,
        (deletion || undefined)?.requeueAfterMs,
      );
      return requeue === undefined ? undefined : { requeueAfterMs: requeue };
    }
    // Storage, keys and datastore: only for a hub that is not suspended and whose input holds.
    let components: HubComponents | undefined;
    let dataRequeue: number | undefined;
    const namespaceLabels = this.d.namespaces.labelsOf(namespace);
    if (
      !hub.spec.suspend &&
      policy &&
      checkReferences(hub, policy, this.d.platform, namespaceLabels).length === 0
    ) {
      ({ components, requeueAfterMs: dataRequeue } = await this.reconcileData(hub, policy));
    }
    const observation = {
      hub,
      policy,
      nodes,
      violations,
      components,
      platform: this.d.platform,
      namespaceLabels,
    };
    // A suspended hub changes nothing, but stays held to its policy: the audit goes on.
    const status = hub.spec.suspend
      ? suspendedHubStatus(observation, new Date())
      : desiredHubStatus(observation, new Date());

    if (!statusUnchanged(hub.status, status)) {
      await this.d.writer.applyStatus(HEALTH_DATA_HUB, name, namespace, status);
    }
    const [, result] = await Promise.all([
      this.reportChanges(hub, status, violations).then(() => this.reportStorage(hub, status)),
      self && violations?.length
        ? this.remediate(hub, namespace, self, held, violations, eligibleNodes(nodes, self))
        : undefined,
    ]);
    const requeue = soonest((result || undefined)?.requeueAfterMs, dataRequeue);
    if (components?.stalled?.reason === Reason.ApiServerRefused) {
      await this.reportRefusal(hub, components.stalled);
      // Tried again with a growing delay, and at once when the hub or its policy changes.
      return requeue === undefined ? { backoff: true } : { requeueAfterMs: requeue, backoff: true };
    }
    return requeue === undefined ? undefined : { requeueAfterMs: requeue };
  }

  /**
   * A Warning Event for a refusal of the API server, once per new message (the Ready Event says
   * the same when Ready changes; the recorder folds the two into one).
   */
  private async reportRefusal(
    hub: HealthDataHub,
    stalled: { reason: string; message: string },
  ): Promise<void> {
    const before = getCondition(hub.status?.conditions, ConditionType.Stalled);
    if (before?.status === ConditionStatus.True && before.message === stalled.message) return;
    this.d.log.warn('the API server refused an object of the hub', {
      hub: `${hub.metadata.namespace}/${hub.metadata.name}`,
      reason: stalled.message,
    });
    await this.d.events.record(hub, 'Warning', stalled.reason, stalled.message);
  }

  /**
   * finalizer -> storage class -> adoption -> keys -> datastore -> growth -> volume audit. Each step
   * that fails stops the ones that would create something; the report covers every component.
   */
  private async reconcileData(
    hub: HealthDataHub,
    policy: SovereigntyPolicy,
  ): Promise<{ components: HubComponents; requeueAfterMs?: number }> {
    // Before anything exists, so that nothing of the hub can outlive it unaccounted for.
    if (!hub.metadata.finalizers?.includes(FINALIZER)) {
      await this.d.writer.addFinalizer(HEALTH_DATA_HUB, hub, FINALIZER);
    }
    const nodes = this.allNodes();
    const storageClass = this.d.storage.checkClass(hub, policy, nodes);
    // The audit only reads: it reports volumes outside the regions whatever else is wrong.
    const audit = this.d.storage.audit(hub, policy, nodes);
    const conditions: ConditionUpdate[] = [];
    let live = this.d.datastore.live(hub);
    let requeueAfterMs: number | undefined;
    // What the steps found so far: a refusal reports them with the refused object's condition.
    const verdicts: Parameters<typeof storageReport>[2] = { storageClass };
    let keysCondition: ConditionUpdate | undefined;
    let keysBlock: HubComponents['stalled'];
    const report = () => {
      const storage = storageReport(hub, policy.spec.regions, { ...verdicts, audit });
      const datastore = datastoreReport(hub, live);
      conditions.push(storage.condition, ...(keysCondition ? [keysCondition] : []), datastore.condition);
      const components: HubComponents = {
        conditions,
        storage: storage.status,
        datastore: datastore.status,
      };
      return requeueAfterMs === undefined ? { components } : { components, requeueAfterMs };
    };

    if (!storageClass.ok) return report();
    try {
      const adoption = await this.d.storage.adopt(hub);
      requeueAfterMs = soonest(requeueAfterMs, adoption.requeueAfterMs);
      verdicts.adoption = adoption.plan;
      if (adoption.plan.conflicts.length) return report();

      const keys = await this.d.keys.ensure(hub, policy);
      requeueAfterMs = soonest(requeueAfterMs, keys.requeueAfterMs);
      keysCondition = keys.condition;
      // Keys only a person can unblock stall the hub (kstatus Stalled, not InProgress forever).
      if (keys.blocked && keys.condition) {
        keysBlock = { reason: keys.condition.reason, message: keys.condition.message };
      }
      for (const e of keys.events ?? []) await this.d.events.record(hub, e.type, e.reason, e.note);
      // Claims grow first: the StatefulSet's claim template follows (datastore step).
      const growth = await this.d.storage.grow(hub);
      requeueAfterMs = soonest(requeueAfterMs, growth.requeueAfterMs);
      verdicts.growth = growth.plan;
      requeueAfterMs = soonest(requeueAfterMs, (await this.d.storage.dropLegacyLabels(hub)).requeueAfterMs);
      if (keys.ready) {
        const outcome = await this.d.datastore.apply(hub, policy, keys.delivery);
        if (outcome.ok) {
          live = outcome.live;
          requeueAfterMs = soonest(requeueAfterMs, outcome.requeueAfterMs);
        } else {
          const result = report();
          result.components.conditions = result.components.conditions.map((c) =>
            c.type === ConditionType.DatastoreReady
              ? { ...c, status: ConditionStatus.False, reason: outcome.reason, message: outcome.message }
              : c,
          );
          return result;
        }
      }
      const result = report();
      if (keys.encryption) result.components.encryption = keys.encryption;
      if (keysBlock) result.components.stalled = keysBlock;
      return result;
    } catch (e) {
      // What the API server refuses to store is reported (with backoff), not retried blindly:
      // only a change of the hub, its policy or the platform can lift it.
      if (!(e instanceof WriteRefused)) throw e;
      const refusal = refusalReport(hub, e);
      const result = report();
      const others = result.components.conditions.filter((c) => c.type !== refusal.condition.type);
      result.components.conditions = [...others, refusal.condition];
      result.components.stalled = refusal.stalled;
      return result;
    }
  }

  /**
   * A hub in a system namespace: Stalled, nothing else (no namespace label, storage, keys, audit or
   * eviction). Its deletion still runs, so a finalizer an earlier version added never holds it.
   */
  private async refuse(key: string, refusal: string): Promise<ReconcileResult | void> {
    const hub = this.d.hubs.get(key);
    if (!hub) return;
    if (hub.metadata.deletionTimestamp) return this.finalize(hub);
    const status = systemNamespaceHubStatus(hub, refusal, new Date());
    if (statusUnchanged(hub.status, status)) return;
    await this.d.writer.applyStatus(HEALTH_DATA_HUB, hub.metadata.name!, hub.metadata.namespace, status);
    await this.d.events.record(hub, 'Warning', Reason.SystemNamespace, refusal);
  }

  /** The finalizer's work; a cleanup that cannot finish says why (DeletionBlocked) and retries. */
  private async finalize(hub: HealthDataHub): Promise<ReconcileResult | void> {
    let message: string;
    let requeueAfterMs: number | undefined;
    try {
      const outcome = await finalizeHub(this.d.deletion, hub);
      if (outcome.done) return;
      ({ message, requeueAfterMs } = outcome);
    } catch (e) {
      message = `the deletion could not finish: ${describeError(e)}`;
    }
    const update: ConditionUpdate = {
      type: ConditionType.Ready,
      status: ConditionStatus.False,
      reason: Reason.DeletionBlocked,
      message: `${message}; the finalizer ${FINALIZER} stays until it can, and nothing is deleted meanwhile`,
      observedGeneration: hub.metadata.generation ?? 0,
    };
    const status: HealthDataHubStatus = {
      ...(hub.status ?? {}),
      conditions: setCondition(hub.status?.conditions, update, new Date()),
    };
    if (!statusUnchanged(hub.status, status)) {
      await this.d.writer.applyStatus(HEALTH_DATA_HUB, hub.metadata.name!, hub.metadata.namespace, status);
      await this.d.events.record(hub, 'Warning', Reason.DeletionBlocked, update.message);
    }
    this.d.log.warn('hub deletion blocked', {
      hub: `${hub.metadata.namespace}/${hub.metadata.name}`,
      reason: message,
    });
    return { requeueAfterMs: requeueAfterMs ?? DELETION_RETRY_MS };
  }

  /** Every node by name, as the node verdict reads it: where `local` volumes and zones are. */
  private allNodes(): Map<string, NodeFacts> {
    return new Map(this.d.nodes.list().map((n) => [n.metadata!.name!, nodeFacts(n)]));
  }

  /**
   * Warning Events for storage problems that need a person, once per change of the condition
   * (a lasting violation is not re-announced on every reconcile: that would be a write at rest).
   */
  private async reportStorage(hub: HealthDataHub, status: HealthDataHubStatus): Promise<void> {
    const before = getCondition(hub.status?.conditions, ConditionType.StorageReady);
    const after = getCondition(status.conditions, ConditionType.StorageReady);
    if (!after || after.status !== ConditionStatus.False) return;
    if (before?.reason === after.reason && before.message === after.message) return;
    if (after.reason === Reason.VolumeOutsideJurisdiction || after.reason === Reason.ExpansionNotSupported) {
      await this.d.events.record(hub, 'Warning', after.reason, after.message);
    }
  }

  /**
   * Every policy the namespace is held to, known to the operator: each hub's (deleted ones too,
   * while they exist), with the hub's placement.regions when its policy allows them; and each
   * other policy whose label the namespace carries (claims retained from a deleted hub keep it),
   * held by the namespace itself (labelHolder).
   */
  private heldPolicies(namespace: string): HeldPolicy[] {
    const hubs = this.d.hubs.list((h) => h.metadata.namespace === namespace);
    const held: HeldPolicy[] = hubs.flatMap((h) => {
      const p = this.d.policies.get(h.spec.policyName);
      return p
        ? [
            {
              hub: h.metadata.name!,
              policyName: h.spec.policyName,
              spec: p.spec,
              hubRegions: validHubRegions(p.spec.regions, h.spec.placement?.regions),
            },
          ]
        : [];
    });
    const byHubs = new Set(hubs.map((h) => h.spec.policyName));
    const labels = this.d.namespaces.labelsOf(namespace);
    for (const p of this.d.policies.list()) {
      const policyName = p.metadata.name!;
      if (byHubs.has(policyName) || labels[policyNamespaceLabelKey(policyName)] === undefined) continue;
      held.push({ hub: labelHolder(policyName), policyName, spec: p.spec });
    }
    return held;
  }

  /**
   * The audit and removals for the policies a namespace is held to by its label alone: no hub
   * reports or evicts for them (a hub deleted with its claims retained), so the namespace does.
   * Reported in hdh_placement_violations{hub=""} and in Events on the Namespace.
   */
  async auditNamespace(namespace: string): Promise<ReconcileResult | void> {
    const gauge = { namespace, hub: '' };
    const held = systemNamespaceRefusal(namespace, this.d.operatorNamespace)
      ? []
      : this.heldPolicies(namespace);
    const own = held.filter((h) => h.hub === labelHolder(h.policyName));
    const subject = this.d.namespaces.get(namespace);
    if (own.length === 0 || !subject) {
      this.d.metrics.violations.remove(gauge);
      this.reported.delete(namespace);
      return;
    }
    const violations = auditPods(held, this.placedPods(namespace), await this.nodesOf(namespace));
    const mine = violations.filter((v) => own.some((h) => v.violatedBy.includes(h.hub)));
    this.d.metrics.violations.set(gauge, mine.length);
    this.d.evictor.forgetExcept(
      namespace,
      violations.map((v) => v.uid),
    );
    const said = mine.length ? describeViolations(mine.slice(0, 5), mine.length) : '';
    if (said !== (this.reported.get(namespace) ?? '')) {
      this.reported.set(namespace, said);
      const policies = own.map((h) => h.policyName).join(', ');
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
    if (mine.length === 0) return;
    const nodes = schedulableNodes(this.d.nodes.list());
    let retry: number | undefined;
    for (const self of own) {
      const result = await this.remediate(
        subject,
        namespace,
        self,
        held,
        violations,
        eligibleNodes(nodes, self),
      );
      retry = soonest(retry, (result || undefined)?.requeueAfterMs);
    }
    return retry === undefined ? undefined : { requeueAfterMs: retry };
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
   * Removes the pods the hub's policy asks to evict. Nothing is removed while no node could take
   * them back (NoEligibleNodes), nor on a verdict the API server's current Node does not confirm.
   * A PodDisruptionBudget that refuses is waited out with a growing delay, for at most the
   * policy's evictionTimeout; then the pod is deleted. Steps not due yet make no request, however
   * often the hub is reconciled.
   */
  private async remediate(
    hub: KubernetesObject,
    namespace: string,
    self: HeldPolicy,
    held: readonly HeldPolicy[],
    violations: readonly PodViolation[],
    eligible: EligibleNodes,
  ): Promise<ReconcileResult | void> {
    const candidates = evictionCandidates(violations, self, eligible);
    if (candidates.length === 0) return;
    const settings = remediationSettings(self.spec);
    const policy = `SovereigntyPolicy ${self.policyName}`;
    const timeout = `evictionTimeout ${self.spec.remediation?.evictionTimeout ?? DEFAULT_EVICTION_TIMEOUT} of ${policy}`;
    let retry: number | undefined;
    const later = (ms: number | undefined) => {
      if (ms !== undefined) retry = Math.min(retry ?? ms, ms);
    };
    const live = new Map<string, Promise<V1Node | undefined>>();
    for (const v of candidates) {
      const pod = this.d.pods.get(`${namespace}/${v.pod}`);
      // Gone pod: nothing to do.
      if (!pod) continue;
      const subject = `pod ${v.pod} on node ${v.node}`;
      const step = this.d.evictor.plan(pod, settings);
      if (step.action === 'spare') {
        await this.d.events.record(
          hub,
          'Warning',
          'PodNotEvicted',
          `${subject} is outside the policy but is never evicted or deleted: ${step.why}; move it yourself`,
        );
        continue;
      }
      if (step.action === 'wait') {
        later(step.afterMs);
        if (step.repeated && this.d.evictor.noteRepeated(pod)) {
          this.d.log.warn('pod back on a node outside its policy, removal deferred', {
            pod: `${namespace}/${v.pod}`,
            node: v.node,
            removals: step.repeated.removals,
          });
          await this.d.events.record(
            hub,
            'Warning',
            'RepeatedViolation',
            `${subject} is outside the policy again (${v.reason}) after ${step.repeated.removals} removal(s) of a pod ` +
              `of that name from that node: the scheduler keeps placing it there, most likely because the node's ` +
              `labels satisfy the policy while its spec.providerID contradicts them, or a local volume pins the pod ` +
              `to it. Removals now wait ${seconds(RECURRENCE_BACKOFF_BASE_MS)}, doubling up to ` +
              `${seconds(RECURRENCE_BACKOFF_CAP_MS)}, never past the ${timeout}; the violation stays reported meanwhile. Fix or cordon the ` +
              `node, or move the volume`,
          );
        }
        continue;
      }
      if (!live.has(v.node)) live.set(v.node, this.readNode(v.node));
      const node = await live.get(v.node)!;
      // Gone node: the pod garbage collector deletes its pods.
      if (!node) continue;
      // Decide on what the API server says now, not on a cache that may lag behind.
      if (auditPods(held, [pod], new Map([[v.node, nodeFacts(node)]])).length === 0) {
        later(RECHECK_MS);
        continue;
      }
      const outcome = await this.d.evictor.carryOut(pod, step);
      const grace = `grace period ${step.gracePeriodSeconds}s`;
      if (outcome.result === 'evicted') {
        this.d.log.info('evicted pod outside its policy', {
          hub: `${namespace}/${self.hub}`,
          pod: v.pod,
          node: v.node,
        });
        await this.d.events.record(
          hub,
          'Warning',
          'PodEvicted',
          `evicted ${subject} (${v.reason}); ${grace}`,
        );
      } else if (outcome.result === 'deleted' && step.action === 'delete') {
        const note =
          step.reason === 'EvictionTimeout'
            ? `deleted ${subject} (${v.reason}): still there ${seconds(Date.now() - (outcome.since ?? Date.now()))} after it was ` +
              `found outside the policy, beyond the ${timeout}; ` +
              `PodDisruptionBudgets do not stop a deletion; ${grace}`
            : `${subject} was terminating with a grace period of ${pod.metadata?.deletionGracePeriodSeconds}s; deleted again ` +
              `with ${step.gracePeriodSeconds}s, the maxGracePeriodSeconds of ${policy}, which shortens it`;
        this.d.log.info('deleted pod outside its policy', {
          hub: `${namespace}/${self.hub}`,
          pod: v.pod,
          node: v.node,
          reason: step.reason,
        });
        await this.d.events.record(
          hub,
          'Warning',
          step.reason === 'EvictionTimeout' ? 'PodDeleted' : 'GracePeriodShortened',
          note,
        );
      } else if (outcome.result === 'blocked' || outcome.result === 'error') {
        // A refusal is counted (hdh_placement_evictions_total) and said once per pod, not once per
        // attempt; other errors are logged at each attempt, which the backoff spaces out.
        if (outcome.firstFailure || outcome.result === 'error') {
          this.d.log.warn(
            outcome.result === 'blocked' ? 'eviction refused, will retry' : 'removal failed, will retry',
            {
              pod: `${namespace}/${v.pod}`,
              error: outcome.message,
              retryInMs: outcome.retryAfterMs,
            },
          );
        }
        if (outcome.firstFailure) {
          await this.d.events.record(
            hub,
            'Warning',
            'EvictionBlocked',
            step.action === 'evict'
              ? `could not evict ${subject}: ${outcome.message ?? 'refused'}; retrying with backoff, and deleting it if ` +
                  `still refused after the ${timeout}`
              : `could not delete ${subject}: ${outcome.message ?? 'refused'}; retrying with backoff`,
          );
        }
      }
      const next = this.d.evictor.plan(pod, settings);
      if (next.action === 'wait') later(next.afterMs);
    }
    return retry === undefined ? undefined : { requeueAfterMs: retry };
  }
}
