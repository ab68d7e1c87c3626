// kind, for machines with Docker: the cluster config, the script that sets it up and the workflow
// that runs it on GitHub's runners cannot run here (no Docker), so they are checked with the tools'
// own code: the kind config decoded strictly with kind's v1alpha4 types (hdh-gotools kind-config),
// the workflow linted by actionlint, the script parsed by bash.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { toolPath } from '../../support/tools.js';

const run = promisify(execFile);

const CONFIG = 'hack/kind/cluster.yaml';
const UP = 'hack/kind/up.sh';
const WORKFLOW = '.github/workflows/e2e-kind.yaml';
/** Where cluster.yaml stages the labels only an administrator may set, and where up.sh copies them. */
const STAGED = 'kind.hdh.sovereign.eu/';
const RESTRICTED = 'sovereign.node-restriction.kubernetes.io/';
/** The kubernetes.io labels a kubelet may set on its own node (kubelet's --node-labels allow-list). */
const KUBELET_SETTABLE = ['topology.kubernetes.io/region', 'topology.kubernetes.io/zone'];

interface Summary {
  name: string;
  nodes: { role: string; labels: Record<string, string> }[];
}
const devNodes = (
  parse(readFileSync('hack/devcluster/nodes.yaml', 'utf8')) as {
    nodes: { name: string; labels: Record<string, string> }[];
  }
).nodes;

/** A node's labels once up.sh has copied the staged ones to their restricted keys. */
const afterUp = (labels: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(labels).map(([k, v]) => [
      k.startsWith(STAGED) ? RESTRICTED + k.slice(STAGED.length) : k,
      v,
    ]),
  );

describe('the kind cluster', () => {
  let summary: Summary;
  beforeAll(async () => {
    const { stdout } = await run(toolPath('hdh-gotools'), ['kind-config', CONFIG]);
    summary = JSON.parse(stdout) as Summary;
  });

  it("decodes strictly as kind's v1alpha4 Cluster: one control plane and a worker per dev-cluster node", () => {
    expect(summary.name).toBe('hdh');
    expect(summary.nodes.map((n) => n.role)).toEqual(['control-plane', ...devNodes.map(() => 'worker')]);
  });

  it('labels its workers exactly as hack/devcluster/nodes.yaml labels the dev nodes, once up.sh has run', () => {
    const workers = summary.nodes.filter((n) => n.role === 'worker');
    expect(workers.map((w) => afterUp(w.labels))).toEqual(devNodes.map((n) => n.labels));
  });

  it('gives kubelets only labels they may set (a kubelet refuses to start with any other kubernetes.io label)', () => {
    for (const node of summary.nodes) {
      for (const key of Object.keys(node.labels)) {
        const prefix = key.includes('/') ? key.slice(0, key.indexOf('/')) : '';
        const reserved = /(^|\.)(kubernetes\.io|k8s\.io)$/.test(prefix);
        if (reserved) expect(KUBELET_SETTABLE).toContain(key);
      }
    }
  });

  it('is set up by a strict bash script that copies the staged labels to the restricted keys', async () => {
    const script = readFileSync(UP, 'utf8');
    expect(script.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(script).toContain('\nset -euo pipefail\n');
    expect(script).toContain(`s#^${STAGED.replaceAll('.', '\\.')}#${RESTRICTED}#p`);
    expect(script).toContain('--config "$here/cluster.yaml"');
    await expect(run('bash', ['-n', UP])).resolves.toBeDefined();
  });
});

describe('the e2e-kind workflow', () => {
  it('passes actionlint', async () => {
    const result = await run(toolPath('actionlint'), ['-no-color', WORKFLOW]).then(
      () => '',
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    expect(result).toBe('');
  });

  it('runs hack/kind/up.sh, then waits for a Ready hub and checks that a pod outside the EU is refused', () => {
    const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as {
      on: Record<string, unknown>;
      jobs: Record<string, { steps: { run?: string }[] }>;
    };
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    const steps = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
    expect(steps).toContain('hack/kind/up.sh');
    const smoke = steps.find((s) => s.includes('healthdatahub/smoke'))!;
    expect(smoke).toContain('--for=condition=Ready healthdatahub/smoke');
    expect(smoke).toMatch(/nodeName.*outside/s);
    expect(smoke).toContain("grep -q 'denied'");
  });

  it('installs the kind whose config types decode hack/kind/cluster.yaml (hack/tools/go.mod)', () => {
    const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as {
      jobs: Record<string, { env?: Record<string, string> }>;
    };
    const pinned = /^\s*sigs\.k8s\.io\/kind (v\S+)$/m.exec(readFileSync('hack/tools/go.mod', 'utf8'))?.[1];
    expect(pinned).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(Object.values(workflow.jobs).map((j) => j.env?.KIND_VERSION)).toEqual([pinned]);
  });
});
