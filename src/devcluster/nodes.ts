import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { packageRoot } from './paths.js';

/** Annotation kwok is told to manage (see the kwok flags in cluster.ts). */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export interface SimulatedNode {
  name: string;
  labels: Record<string, string>;
}

export function parseNodeSet(text: string): SimulatedNode[] {
  const doc = parse(text) as { nodes?: unknown };
  if (!doc || !Array.isArray(doc.nodes)) throw new Error('node set: expected a top-level `nodes:` list');
  return doc.nodes.map((n: unknown, i) => {
    const node = n as Partial<SimulatedNode>;
    if (typeof node.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(node.name)) {
      throw new Error(`node set: nodes[${i}].name must be a DNS-1123 subdomain`);
    }
    const labels = node.labels ?? {};
    for (const [k, v] of Object.entries(labels)) {
      if (typeof v !== 'string') throw new Error(`node set: nodes[${i}].labels.${k} must be a string`);
    }
    return { name: node.name, labels };
  });
}

export function loadNodeSet(path = join(packageRoot(), 'hack', 'devcluster', 'nodes.yaml')): SimulatedNode[] {
  return parseNodeSet(readFileSync(path, 'utf8'));
}

/** The Node object for a simulated node: kwok-managed, no kwok taint (pods need no toleration). */
export function renderNode(n: SimulatedNode): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'kwok',
        type: 'kwok',
        ...n.labels,
      },
    },
    spec: {},
  };
}

/**
 * kwok heartbeats its nodes through their Leases, held under an identity it draws at random at
 * each start: a restarted kwok leaves every node alone until the stopped one's Leases expire
 * (`--node-lease-duration-seconds`, 40 s), so no pod starts and a node marked NotReady stays so.
 * Deleting the Leases before it starts again lets it take its nodes over at once. Only while
 * no kwok runs; best effort (with the API server down, the new kwok waits out the old Leases).
 */
export function releaseNodeLeases(kubectl: string, kubeconfig: string): boolean {
  const r = spawnSync(
    kubectl,
    [
      '--kubeconfig',
      kubeconfig,
      '--request-timeout=5s',
      'delete',
      'leases',
      '--namespace=kube-node-lease',
      '--all',
    ],
    { stdio: 'ignore', timeout: 10_000 },
  );
  return r.status === 0;
}
