import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBinaries } from './binaries.js';
import { generatePki } from './certs.js';
import { apiserverReady, httpGet, waitFor } from './cluster-health.js';
import type { ClusterState } from './cluster-types.js';
import { renderKubeconfig } from './kubeconfig.js';
import { KWOK_NODE_ANNOTATION, loadNodeSet, renderNode, type SimulatedNode } from './nodes.js';
import { packageRoot } from './paths.js';
import {
  freeLoopbackPort,
  isOurProcess,
  removeTree,
  startDetached,
  stopProcess,
  type ProcessRecord,
} from './processes.js';
import { readClusterState, stateLockFile, updateClusterState, writeClusterState } from './state.js';
import { controlPlaneVersions } from './versions.js';

export { startApiserverReplica, startComponent, stopComponent } from './cluster-components.js';
export type { ClusterState } from './cluster-types.js';

export interface UpOptions {
  dir: string;
  log?: (line: string) => void;
  nodes?: SimulatedNode[];
  /** Overall readiness budget; the first start on a slow machine needs the most. */
  timeoutMs?: number;
  /** The API server's audit policy (YAML); default AUDIT_POLICY, writes only. */
  auditPolicy?: string;
}

const SERVICE_CIDR = '10.96.0.0/12';
/** Writes only, at Metadata level (who, what, when; no bodies): cheap, and what tests count. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

export { readClusterState };

/** Which recorded processes are still alive (ours, by PID and binary). */
function liveProcesses(state: ClusterState | undefined): ProcessRecord[] {
  return (state?.processes ?? []).filter(isOurProcess);
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on free loopback
 * ports, creates the simulated nodes and returns once a node is Ready. Reuses a healthy running
 * cluster in DIR; a stale or half-started DIR is cleaned up first.
 */
export async function clusterUp(opts: UpOptions): Promise<ClusterState> {
  const dir = resolve(opts.dir);
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const t0 = Date.now();

  const previous = readClusterState(dir);
  const alive = liveProcesses(previous);
  if (previous && alive.length === previous.processes.length && alive.length > 0) {
    if (await apiserverReady(previous)) {
      log(`cluster in ${dir} is already running`);
      if (!previous.supervisor || !isOurProcess(previous.supervisor)) {
        previous.supervisor = startSupervisor(dir);
        log(`started its supervisor (pid ${previous.supervisor.pid})`);
      }
      return previous;
    }
  }
  if (previous || existsSync(join(dir, 'etcd'))) {
    log(`cleaning up a stale cluster state in ${dir}`);
    await clusterDown(dir, { quiet: true });
  }

  const bins = await ensureBinaries();
  const version = controlPlaneVersions().kubernetes;
  for (const sub of ['pki', 'logs', 'etcd']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });

  const pki = await generatePki();
  const pkiFile = (name: string, content: string) => {
    const p = join(dir, 'pki', name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  const f = {
    servingCa: pkiFile('serving-ca.crt', pki.servingCa.cert),
    apiserverCrt: pkiFile('apiserver.crt', pki.apiserver.cert),
    apiserverKey: pkiFile('apiserver.key', pki.apiserver.key),
    clientCa: pkiFile('client-ca.crt', pki.clientCa.cert),
    saKey: pkiFile('sa.key', pki.serviceAccount.key),
    saPub: pkiFile('sa.pub', pki.serviceAccount.pub),
  };
  // The admin client pair is also embedded in the kubeconfig; the files serve health probes.
  pkiFile('admin.crt', pki.admin.cert);
  pkiFile('admin.key', pki.admin.key);

  const [etcdPort, etcdPeerPort, apiPort, cmPort, schedPort, kwokPort] = await Promise.all(
    Array.from({ length: 6 }, () => freeLoopbackPort()),
  );
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, 'kubeconfig');
  const auditPolicy = join(dir, 'audit-policy.yaml');
  writeFileSync(auditPolicy, opts.auditPolicy ?? AUDIT_POLICY);
  const auditLog = join(dir, 'logs', 'audit.log');
  writeFileSync(kubeconfig, renderKubeconfig(server, pki.servingCa.cert, pki.admin.cert, pki.admin.key), {
    mode: 0o600,
  });

  const state: ClusterState = {
    dir,
    kubeconfig,
    server,
    etcdUrl: `http://127.0.0.1:${etcdPort}`,
    kubernetesVersion: version,
    binaries: bins.paths,
    processes: [],
    startedAt: new Date().toISOString(),
    readyAfterMs: 0,
    auditLog,
  };
  const start = (name: string, binary: string, args: string[]) => {
    const rec = startDetached(name, binary, args, join(dir, 'logs', `${name}.log`));
    state.processes.push(rec);
    writeClusterState(state); // record each PID at once so `down` can always find it
    return rec;
  };

  try {
    log(`starting etcd on 127.0.0.1:${etcdPort}`);
    const etcd = start('etcd', bins.paths.etcd, [
      '--name=hdh-dev',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=hdh-dev=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitFor(
      'etcd health',
      async () => (await httpGet(`http://127.0.0.1:${etcdPort}/health`)).includes('"health":"true"'),
      timeoutMs,
      etcd.log,
    );

    log(`starting kube-apiserver ${version} on ${server}`);
    const apiserver = start('kube-apiserver', bins.paths['kube-apiserver'], [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${f.saPub}`,
      `--service-account-signing-key-file=${f.saKey}`,
      `--client-ca-file=${f.clientCa}`,
      `--tls-cert-file=${f.apiserverCrt}`,
      `--tls-private-key-file=${f.apiserverKey}`,
      `--cert-dir=${join(dir, 'pki')}`,
      '--allow-privileged=true',
      '--profiling=false',
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${auditLog}`,
      '--audit-log-maxsize=200',
      '--audit-log-maxbackup=1',
      '--v=1',
    ]);
    await waitFor('kube-apiserver /readyz', () => apiserverReady(state), timeoutMs, apiserver.log);

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await waitFor(
      'namespace default',
      async () => !!(await core.readNamespace({ name: 'default' })).metadata,
      timeoutMs,
      apiserver.log,
    );

    const common = [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
    ];
    log('starting kube-controller-manager, kube-scheduler and kwok');
    start('kube-controller-manager', bins.paths['kube-controller-manager'], [
      ...common,
      `--secure-port=${cmPort}`,
      `--cert-dir=${join(dir, 'pki', 'controller-manager')}`,
      `--service-account-private-key-file=${f.saKey}`,
      `--root-ca-file=${f.servingCa}`,
      '--use-service-account-credentials=true',
      '--v=1',
    ]);
    start('kube-scheduler', bins.paths['kube-scheduler'], [
      ...common,
      `--secure-port=${schedPort}`,
      `--cert-dir=${join(dir, 'pki', 'scheduler')}`,
      '--v=1',
    ]);
    // kwok's own stages, then the project's (hack/devcluster/kwok-stages: grace periods honoured
    // for pods that ask for it, readiness restored once a node recovers).
    const stages = [bins.kwokStagesDir, join(packageRoot(), 'hack', 'devcluster', 'kwok-stages')].flatMap(
      (d) =>
        readdirSync(d)
          .filter((n) => n.endsWith('.yaml'))
          .sort()
          .map((n) => `--config=${join(d, n)}`),
    );
    start('kwok', bins.paths.kwok, [
      `--kubeconfig=${kubeconfig}`,
      ...stages,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      '--cidr=10.244.0.0/16',
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${kwokPort}`,
    ]);

    const nodes = opts.nodes ?? loadNodeSet();
    log(`creating ${nodes.length} simulated nodes`);
    for (const n of nodes) {
      await core.createNode({ body: renderNode(n) }).catch((e: { code?: number }) => {
        if (e.code !== 409) throw e;
      });
    }
    await waitFor(
      'every simulated node Ready and untainted',
      async () => {
        const list = await core.listNode({ labelSelector: 'type=kwok' });
        const ready = list.items.filter(
          (n) =>
            n.metadata?.annotations?.[KWOK_NODE_ANNOTATION] === 'fake' &&
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
            !(n.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready'),
        );
        return ready.length >= nodes.length;
      },
      timeoutMs,
      join(dir, 'logs'),
    );
    await waitFor(
      'service account default/default',
      async () =>
        !!(await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' })).metadata,
      timeoutMs,
      join(dir, 'logs', 'kube-controller-manager.log'),
    );
    state.readyAfterMs = Date.now() - t0;
    writeClusterState(state);
    // From here on the state file is shared with the supervisor: changes go through its lock.
    state.supervisor = startSupervisor(dir);
    log(`cluster ready in ${(state.readyAfterMs / 1000).toFixed(1)}s`);
    return state;
  } catch (e) {
    // Never leave half a cluster running behind a failed start.
    await clusterDown(dir, { quiet: true, keepLogs: true });
    throw e;
  }
}

/** The supervisor's compiled entry point (this module runs from dist/, or from src/ under jest). */
function supervisorScript(): string {
  const sibling = join(dirname(fileURLToPath(import.meta.url)), 'supervisor.js');
  if (existsSync(sibling)) return sibling;
  const built = join(packageRoot(), 'dist', 'src', 'devcluster', 'supervisor.js');
  if (existsSync(built)) return built;
  throw new Error(`cannot find the cluster supervisor at ${built}: run npm run build`);
}

/** Starts DIR's supervisor (unless one runs) and records it in the state file. */
function startSupervisor(dir: string): ProcessRecord {
  const script = supervisorScript();
  // A plain Node.js process: options meant for a test runner's own process stay out.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return updateClusterState(dir, (s) => {
    if (s.supervisor && isOurProcess(s.supervisor)) return s.supervisor;
    s.supervisor = startDetached(
      'supervisor',
      process.execPath,
      [script, dir],
      join(dir, 'logs', 'supervisor.log'),
      env,
    );
    return s.supervisor;
  });
}

export interface DownOptions {
  quiet?: boolean;
  /** Keep DIR/logs (after a failed start, so the cause can be read). */
  keepLogs?: boolean;
  log?: (line: string) => void;
}

/**
 * Stops exactly the processes recorded in DIR — the supervisor first, so that it restarts
 * nothing, then the components in reverse start order — and removes their state.
 */
export async function clusterDown(dir: string, opts: DownOptions = {}): Promise<void> {
  dir = resolve(dir);
  const log = opts.log ?? (() => {});
  const supervisor = readClusterState(dir)?.supervisor;
  if (supervisor && isOurProcess(supervisor)) {
    if (!opts.quiet) log(`stopping the supervisor (pid ${supervisor.pid})`);
    await stopProcess(supervisor);
  }
  // Read again: the supervisor may have restarted a component just before it stopped.
  const state = readClusterState(dir);
  for (const p of [...(state?.processes ?? [])].reverse()) {
    if (isOurProcess(p)) {
      if (!opts.quiet) log(`stopping ${p.name} (pid ${p.pid})`);
      await stopProcess(p);
    }
  }
  for (const sub of ['etcd', 'pki', 'kubeconfig', 'cluster.json']) removeTree(join(dir, sub));
  removeTree(stateLockFile(dir));
  if (!opts.keepLogs) removeTree(join(dir, 'logs'));
}

export interface ClusterStatus {
  dir: string;
  running: boolean;
  server?: string;
  kubeconfig?: string;
  processes: (ProcessRecord & { alive: boolean })[];
  supervisor?: ProcessRecord & { alive: boolean };
}

export async function clusterStatus(dir: string): Promise<ClusterStatus> {
  dir = resolve(dir);
  const state = readClusterState(dir);
  if (!state) return { dir, running: false, processes: [] };
  const processes = state.processes.map((p) => ({ ...p, alive: isOurProcess(p) }));
  const running = processes.length > 0 && processes.every((p) => p.alive) && (await apiserverReady(state));
  const supervisor = state.supervisor && { ...state.supervisor, alive: isOurProcess(state.supervisor) };
  return { dir, running, server: state.server, kubeconfig: state.kubeconfig, processes, supervisor };
}
