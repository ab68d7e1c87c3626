// Which cluster the plugin talks to, chosen as kubectl chooses it: --kubeconfig, else
// $KUBECONFIG, else ~/.kube/config; --context, else the current context as kubectl reads it,
// from the first file of $KUBECONFIG that sets one (client-node, merging the files, would take
// the last one's, which may name another cluster). kubernetes-fluent-client loads the kubeconfig
// again for every request, always with KubeConfig.loadFromDefault() (so from $KUBECONFIG), and
// takes no context: --kubeconfig therefore becomes $KUBECONFIG for this process, and the context
// chosen is pinned by one more kubeconfig file at the end of the list holding nothing but
// `current-context` (client-node lets a later file's current context win). No credential is
// ever copied.
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { UserError } from './errors.js';

export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
}

/** The cluster of this invocation. */
export interface Connection {
  /** The API server's URL, for messages. */
  server: string;
  /** The kubeconfig context used, for messages. */
  context: string;
  /** The context's namespace, else `default`: what -n defaults to, as with kubectl. */
  namespace: string;
  /** The same configuration for @kubernetes/client-node (the writes). */
  kubeConfig: KubeConfig;
}

/** Files of $KUBECONFIG that exist (kubectl ignores the others; client-node would throw). */
function kubeconfigFiles(env: string): string[] {
  return env.split(delimiter).filter((f) => f && existsSync(f));
}

/** Where the configuration comes from, for messages. */
function source(explicit: string | undefined): string {
  if (explicit) return explicit;
  if (process.env.KUBECONFIG) return `$KUBECONFIG (${process.env.KUBECONFIG})`;
  return join(homedir(), '.kube', 'config');
}

/**
 * Sets this process up for kubernetes-fluent-client and returns the connection; a UserError when
 * there is no usable kubeconfig. Changes process.env.KUBECONFIG.
 */
export function connect(opts: ConnectOptions): Connection {
  if (opts.kubeconfig) {
    const file = resolve(opts.kubeconfig);
    if (!existsSync(file)) throw new UserError(`no kubeconfig at ${opts.kubeconfig}`);
    process.env.KUBECONFIG = file;
  } else if (process.env.KUBECONFIG) {
    process.env.KUBECONFIG = kubeconfigFiles(process.env.KUBECONFIG).join(delimiter);
  }
  const from = source(opts.kubeconfig);
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (e) {
    throw new UserError(`cannot load the kubeconfig ${from}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (kc.getContexts().length === 0) {
    throw new UserError(`no kubeconfig: ${from} names no context (give --kubeconfig or set $KUBECONFIG)`);
  }
  const chosen = opts.context ?? kubectlCurrentContext();
  if (chosen) {
    if (!kc.getContextObject(chosen)) {
      throw new UserError(
        opts.context
          ? `context ${chosen} is not in the kubeconfig ${from}`
          : `the current context ${chosen} of ${from} is not one of its contexts (give --context)`,
      );
    }
    kc.setCurrentContext(chosen);
    selectContextForFluentClient(chosen);
  }
  const context = kc.getContextObject(kc.getCurrentContext());
  if (!context) throw new UserError(`the kubeconfig ${from} has no current context (give --context)`);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new UserError(`context ${context.name} of ${from} names no cluster with a server`);
  return { server, context: context.name, namespace: context.namespace || 'default', kubeConfig: kc };
}

/**
 * The current context kubectl would use: that of the first file of $KUBECONFIG that sets one
 * (kubectl's rule for merged files: the first to set a value wins). Undefined without
 * $KUBECONFIG (one file, nothing to choose) or when no file sets one.
 */
function kubectlCurrentContext(): string | undefined {
  if (!process.env.KUBECONFIG) return undefined;
  for (const file of kubeconfigFiles(process.env.KUBECONFIG)) {
    const one = new KubeConfig();
    one.loadFromFile(file);
    const current = one.getCurrentContext();
    if (current) return current;
  }
  return undefined;
}

/** A last kubeconfig file that sets only the current context; removed when the process exits. */
function selectContextForFluentClient(context: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-hdh-'));
  const file = join(dir, 'context');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': context }), {
    mode: 0o600,
  });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const files = process.env.KUBECONFIG
    ? kubeconfigFiles(process.env.KUBECONFIG)
    : [join(homedir(), '.kube', 'config')];
  process.env.KUBECONFIG = [...files, file].join(delimiter);
}
