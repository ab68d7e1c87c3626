// The subcommands of `kubectl hdh`, registered on a commander program: the plugin's own entry
// registers them all, and `hdh-operator` the read-only ones (what-if, status, report, verify),
// so both run the same implementation. A failure prints one line, `<program> <command>: why`,
// and exits 1; nothing prints a stack. The commands are loaded when run, so that `hdh-operator
// run` and `unwrap-dek` never load the plugin's client.
import { Command, Option } from 'commander';
import { describeFailure } from './errors.js';
import { parseFormats } from './formats.js';
import { oneLine, processTerminal, type Terminal } from './terminal.js';

export const HDH_COMMANDS = [
  'status',
  'report',
  'verify',
  'what-if',
  'rotate',
  'adopt-keys',
  'destroy',
] as const;
export type HdhCommand = (typeof HDH_COMMANDS)[number];

/** The operator's namespace, where its Deployment and the durable history live. */
export const DEFAULT_OPERATOR_NAMESPACE = 'hdh-system';

/** --kubeconfig and --context, as kubectl names them. */
function withCluster(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', "the kubeconfig context to use (default: the kubeconfig's current context)");
}

/** -n / -A, as kubectl. */
function withScope(cmd: Command, what: string): Command {
  return cmd
    .option('-n, --namespace <ns>', `${what} of this namespace (default: the kubeconfig context's)`)
    .option('-A, --all-namespaces', `${what} of every namespace`);
}

const operatorNamespace = (cmd: Command) =>
  cmd.option(
    '--operator-namespace <ns>',
    "the operator's namespace: its Deployment (version) and the durable history",
    DEFAULT_OPERATOR_NAMESPACE,
  );

/**
 * Runs an action: its outcome becomes the exit code (1 for a failure, with one line on stderr).
 * `ok` false from the action is a failure already told.
 */
function runner(program: string, name: string, term: () => Terminal) {
  return (action: (t: Terminal) => Promise<boolean | void>) => async () => {
    const t = term();
    try {
      process.exitCode = (await action(t)) === false ? 1 : 0;
    } catch (e) {
      // Messages quote the server and the user's files: through the sanitiser, always.
      t.err(`${oneLine(`${program} ${name}: ${describeFailure(e)}`)}\n`);
      process.exitCode = 1;
    }
  };
}

/** Registers `names` on `parent`; `program` prefixes error lines (`kubectl hdh`, `hdh-operator`). */
export function addHdhCommands(
  parent: Command,
  program: string,
  names: readonly HdhCommand[] = HDH_COMMANDS,
  term: () => Terminal = processTerminal,
): void {
  const run = (name: string) => runner(program, name, term);
  const wanted = new Set(names);

  if (wanted.has('status')) {
    const cmd = parent
      .command('status')
      .argument('[hub]', 'only this hub')
      .description(
        'each hub at a glance: conditions, every pod and volume with its location and verdict, keys',
      );
    withScope(withCluster(cmd), 'hubs');
    operatorNamespace(cmd).addOption(
      new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
    );
    cmd.action((hub: string | undefined, opts) =>
      run('status')(async (t) => (await import('./status.js')).statusCommand(hub, opts, t))(),
    );
  }

  if (wanted.has('report')) {
    const cmd = parent
      .command('report')
      .description(
        'the compliance report: placement, storage, key custody and history, sealed with its SHA-256',
      );
    withScope(withCluster(cmd), 'hubs');
    operatorNamespace(cmd)
      .addOption(
        new Option(
          '--format <formats>',
          'json, markdown or html, or several separated by commas (json,html): all of one sealed report',
        )
          .argParser(parseFormats)
          .default(['json'], 'json'),
      )
      .option(
        '--out <file>',
        'write the report to this file (default: stdout); with several formats, a prefix: PREFIX.json, PREFIX.md, PREFIX.html',
      )
      .option('--since <duration|time>', 'history from this time (RFC 3339) or this long ago (e.g. 720h)')
      .option('--sign <key.pem>', 'also sign it with this Ed25519 private key (PKCS#8 PEM)')
      .action((opts) => run('report')(async (t) => (await import('./report.js')).reportCommand(opts, t))());
  }

  if (wanted.has('verify')) {
    parent
      .command('verify')
      .argument('<report>', 'a JSON report written by `report`')
      .description("check a report's digest and signature: exit 0 when it is intact, 1 with the reason")
      .option('--public-key <pub.pem>', 'the Ed25519 public key (SPKI PEM) the report must be signed with')
      .action((file: string, opts) =>
        run('verify')(async (t) => (await import('./report.js')).verifyCommand(file, opts, t))(),
      );
  }

  if (wanted.has('what-if')) {
    const cmd = parent
      .command('what-if')
      .description(
        'what a SovereigntyPolicy would change if applied: pods and volumes outside it, hubs left without nodes, nodes that change verdict (reads only)',
      )
      .requiredOption('--policy <file>', 'the candidate SovereigntyPolicy (YAML or JSON), new or changed');
    withCluster(withScope(cmd, 'pods and volumes'))
      .addOption(
        new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
      )
      .action(async (opts) => {
        process.exitCode = await (await import('../what-if.js')).whatIfCommand(opts, program);
      });
  }

  if (wanted.has('rotate')) {
    const cmd = parent
      .command('rotate')
      .argument('<hub>', 'the hub')
      .description('add a key version: sets the annotation hdh.sovereign.eu/rotate-key to a new value');
    withCluster(cmd)
      .option('-n, --namespace <ns>', "the hub's namespace (default: the kubeconfig context's)")
      .action((hub: string, opts) =>
        run('rotate')(async (t) => (await import('./annotate.js')).rotateCommand(hub, opts, t))(),
      );
  }

  if (wanted.has('adopt-keys')) {
    const cmd = parent
      .command('adopt-keys')
      .argument('<hub>', 'the recreated hub')
      .description(
        'take over the keys kept from an earlier hub of the same name (annotation hdh.sovereign.eu/adopt-keys)',
      )
      .requiredOption('--from-uid <uid>', 'the UID of the earlier hub whose keys were kept');
    withCluster(cmd)
      .option('-n, --namespace <ns>', "the hub's namespace (default: the kubeconfig context's)")
      .action((hub: string, opts) =>
        run('adopt-keys')(async (t) => (await import('./annotate.js')).adoptKeysCommand(hub, opts, t))(),
      );
  }

  if (wanted.has('destroy')) {
    const cmd = parent
      .command('destroy')
      .argument('<hub>', 'the hub')
      .description(
        "confirm the destruction of a hub's data on deletion (annotation hdh.sovereign.eu/confirm-destroy = its UID), after showing what it destroys",
      );
    withCluster(cmd)
      .option('-n, --namespace <ns>', "the hub's namespace (default: the kubeconfig context's)")
      .option('--yes', 'do not ask; needs --confirm-uid')
      .option('--confirm-uid <uid>', "the hub's metadata.uid, which must match")
      .option('--delete', 'also delete the hub (otherwise it is left for you to delete)')
      .action((hub: string, opts) =>
        run('destroy')(async (t) => (await import('./destroy.js')).destroyCommand(hub, opts, t))(),
      );
  }
}
