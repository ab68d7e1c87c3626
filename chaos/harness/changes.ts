// Changes made to the cluster right after a fault, each timed until the operator has acted on it:
// a new hub, a changed hub, a node that starts satisfying the policy, a node under a hub's pod that
// stops satisfying it. Each resolves with the milliseconds from the change to its effect.
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import {
  ConditionType,
  getCondition,
  SOVEREIGNTY_POLICY,
  type HealthDataHub,
  type SovereigntyPolicy,
} from '../../src/api/index.js';
import { countEligibleNodes } from '../../src/placement/compliance.js';
import { schedulableNodes } from '../../src/policy/nodes.js';
import { createHub, getHub, patchHub } from '../../test/support/hubs.js';
import { NodeRelabeller } from '../../test/support/placement.js';
import { eventually } from '../../test/support/wait.js';
import { fleetHub, type Fleet, type HubId } from './fleet.js';

/** The node of the sample cluster that lacks only the certification label (hack/devcluster/nodes.yaml). */
export const UNCERTIFIED_NODE = 'eu-fr-par-uncertified';
const HDS = 'sovereign.node-restriction.kubernetes.io/hds';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The operator has reported on the hub's current generation: its Ready condition says so. */
export function reconciled(hub: HealthDataHub | undefined): boolean {
  const ready = getCondition(hub?.status?.conditions, ConditionType.Ready);
  return (
    !!hub &&
    !!ready?.reason &&
    ready.observedGeneration === hub.metadata.generation &&
    hub.status?.observedGeneration === hub.metadata.generation
  );
}

async function timed(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  await eventually(what, async () => (await probe()) || undefined, timeoutMs, 100);
  return Date.now() - t0;
}

/** Creates hub `id` of the fleet; ms until it is reconciled. */
export async function newHubReconciled(kc: KubeConfig, fleet: Fleet, id: HubId, timeoutMs = 60_000) {
  const t0 = Date.now();
  await createHub(kc, fleetHub(fleet, id));
  await timed(
    `new hub ${id.name} reconciled`,
    async () => reconciled(await getHub(kc, id.namespace, id.name).catch(() => undefined)),
    timeoutMs,
  );
  return Date.now() - t0;
}

/** Changes the hub's datastore (a new generation); ms until that generation is reconciled. */
export async function specChangeReconciled(kc: KubeConfig, id: HubId, value: string, timeoutMs = 60_000) {
  const t0 = Date.now();
  await patchHub(kc, id.namespace, id.name, {
    spec: { datastore: { env: [{ name: 'CHAOS_MARK', value }] } },
  });
  await timed(
    `hub ${id.name} changed (${value}) reconciled`,
    async () => {
      const h = await getHub(kc, id.namespace, id.name);
      return reconciled(h) && JSON.stringify(h.spec.datastore?.env ?? []).includes(value);
    },
    timeoutMs,
  );
  return Date.now() - t0;
}

async function readPolicy(kc: KubeConfig, name: string): Promise<SovereigntyPolicy> {
  return (await kc
    .makeApiClient(CustomObjectsApi)
    .getClusterCustomObject({ ...SOVEREIGNTY_POLICY, name })) as SovereigntyPolicy;
}

/**
 * The uncertified node gets the certification label, then loses it again: ms until the policy's
 * eligible node count agrees with the nodes as they are, each time. The count is computed from the
 * live nodes (with the operator's own verdict) rather than expected to move by one: right after an
 * outage, the simulated kubelets' readiness comes and goes by itself and moves it too.
 */
export async function nodeCertificationSeen(kc: KubeConfig, policyName: string, timeoutMs = 60_000) {
  const core = kc.makeApiClient(CoreV1Api);
  const label = async (value: string | null) => {
    const t0 = Date.now();
    await core.patchNode(
      { name: UNCERTIFIED_NODE, body: { metadata: { labels: { [HDS]: value } } } },
      mergePatch,
    );
    let last = '';
    await timed(
      `${policyName} counting the eligible nodes once ${UNCERTIFIED_NODE} is ${value ? '' : 'no longer '}certified`,
      async () => {
        const [policy, nodes] = await Promise.all([readPolicy(kc, policyName), core.listNode()]);
        const labelled = nodes.items.find((n) => n.metadata?.name === UNCERTIFIED_NODE)?.metadata?.labels?.[
          HDS
        ];
        const live = countEligibleNodes(schedulableNodes(nodes.items), policy.spec);
        const reported = (policy.status as { eligibleNodes?: number } | undefined)?.eligibleNodes;
        last = `reported ${reported}, live ${live}`;
        return (labelled ?? null) === value && reported === live;
      },
      timeoutMs,
    ).catch((e: Error) => {
      throw new Error(`${e.message} (${last})`);
    });
    return Date.now() - t0;
  };
  return { certified: await label('true'), uncertified: await label(null) };
}

/**
 * The node running the hub's pod moves out of the policy's regions, then back: ms until the hub
 * reports the pod as a violation, and until it is compliant again. The policy must only Report.
 */
export async function violationSeen(kc: KubeConfig, id: HubId, timeoutMs = 60_000) {
  const core = kc.makeApiClient(CoreV1Api);
  const podName = `${id.name}-0`;
  const pod = await core.readNamespacedPod({ name: podName, namespace: id.namespace });
  const node = pod.spec?.nodeName;
  if (!node) throw new Error(`pod ${id.namespace}/${podName} is not on a node`);
  const hub = () => getHub(kc, id.namespace, id.name);
  const relabel = new NodeRelabeller(kc);
  try {
    const t0 = Date.now();
    await relabel.setRegion(node, 'us-east-1');
    await timed(
      `hub ${id.name} reporting pod ${podName} on ${node}`,
      async () => ((await hub()).status?.placement?.violations ?? []).some((v) => v.pod === podName),
      timeoutMs,
    );
    const reported = Date.now() - t0;
    const t1 = Date.now();
    await relabel.restore();
    await timed(
      `hub ${id.name} compliant again`,
      async () =>
        getCondition((await hub()).status?.conditions, ConditionType.PlacementCompliant)?.status === 'True',
      timeoutMs,
    );
    return { node, reported, resolved: Date.now() - t1 };
  } finally {
    // Whatever happened, the node goes back to its region.
    await relabel.restore();
  }
}
