// The bench's own local control plane (the cached binaries, loopback only), in a fresh directory,
// with an audit policy that records every request at Metadata level: the audit log then says
// what the operator asked of the API server, by verb and resource, under its User-Agent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { clusterDown, clusterUp } from '../../dist/src/devcluster/cluster.js';

/** Every request but the kubelets' (kwok's) lease renewals, without bodies. */
const AUDIT_EVERYTHING = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    resources: [{ group: coordination.k8s.io, resources: [leases] }]
  - level: Metadata
`;

export async function startCluster(log) {
  const dir = mkdtempSync(join(tmpdir(), 'hdh-bench-scale-'));
  const state = await clusterUp({ dir, log, auditPolicy: AUDIT_EVERYTHING });
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  return {
    dir,
    kc,
    kubeconfig: state.kubeconfig,
    auditLog: state.auditLog,
    server: state.server,
    kubernetesVersion: state.kubernetesVersion,
    async stop() {
      await clusterDown(dir, { quiet: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
