#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  clusterDownCommand,
  clusterStatusCommand,
  clusterUpCommand,
  DEFAULT_CLUSTER_DIR,
} from './cluster.js';
import { devCommand } from './dev.js';
import { addHdhCommands } from './hdh/commands.js';
import { OPERATOR_VERSION } from '../version.js';
import { runCommand } from './run.js';
import { createLogger } from '../runtime/logging.js';
import { unwrapDekCommand } from './unwrap-dek.js';

/** Whether `run` logs JSON lines: unless the command line asks for text. */
const runLogsJson = !process.argv.some(
  (a, i, argv) => a === '--log-format=text' || (a === '--log-format' && argv[i + 1] === 'text'),
);

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

const program = new Command()
  .name('hdh-operator')
  .description('Keeps health-data hubs sovereign: EU placement, per-hub keys, encrypted in-region storage.')
  .version(OPERATOR_VERSION, '--version', 'print the version')
  .showHelpAfterError();

program
  .command('run')
  .description('run the operator against the cluster of the current kubeconfig')
  .option(
    '--kubeconfig <path>',
    'kubeconfig file (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config)',
  )
  .option('--namespace <ns>', 'watch hubs in this namespace only (default: all namespaces)')
  .option(
    '--leader-elect [bool]',
    'elect a leader through a Lease so only one replica reconciles (default: on in a cluster)',
  )
  .option(
    '--operator-namespace <ns>',
    "the operator's own namespace, where builtin key-encryption keys live (default: the pod's, else hdh-system)",
  )
  .option(
    '--leader-election-namespace <ns>',
    'namespace of the leader-election Lease (default: the operator namespace)',
  )
  .option('--leader-elect-lease-duration <duration>', 'how long a leader lease lasts unrenewed', '15s')
  .option(
    '--leader-elect-renew-deadline <duration>',
    'a leader that has not renewed its lease for this long stops writing and exits',
    '10s',
  )
  .option('--leader-elect-retry-period <duration>', 'how often the lease is renewed or tried', '2s')
  .option(
    '--metrics-bind-address <addr>',
    'address of /metrics (":8080" for all interfaces, "0" disables)',
    '127.0.0.1:8080',
  )
  .option(
    '--health-probe-bind-address <addr>',
    'address of /healthz and /readyz ("0" disables)',
    '127.0.0.1:8081',
  )
  .addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['error', 'warn', 'info', 'debug'])
      .default('info'),
  )
  .addOption(new Option('--log-format <format>', 'log format').choices(['json', 'text']).default('json'))
  .option('--concurrency <n>', 'reconcile workers per controller', positiveInt, 4)
  .option(
    '--report-discovery-interval <duration>',
    'how often to check whether the policy report CRDs (openreports.io Report, wgpolicyk8s.io PolicyReport) are served',
    '60s',
  )
  .option(
    '--image <image>',
    "the operator's image, run by each datastore pod's unwrap-dek init container (default: the image of the operator's own Pod, named by POD_NAME and POD_NAMESPACE)",
  )
  .option(
    '--pkcs11-allowed-modules <paths>',
    'PKCS#11 modules hubs may name in spec.encryption.pkcs11.module: comma-separated absolute paths of library files (default: none)',
    '',
  )
  .option(
    '--pkcs11-allowed-tokens <entries>',
    'PKCS#11 tokens hubs may name in spec.encryption.pkcs11.tokenLabel, per namespace: comma-separated <namespace>/<token label> (default: none)',
    '',
  )
  // A usage error of `run` (a value outside a flag's choices) is a failure to start like any
  // other: one log line, JSON unless --log-format=text asks for text (then with the help).
  .showHelpAfterError(!runLogsJson)
  .configureOutput(
    runLogsJson
      ? {
          outputError: (message) =>
            createLogger('error', 'json').error('could not start', {
              error: message.replace(/^error: /, '').trim(),
            }),
        }
      : {},
  )
  .action(async (opts) => {
    process.exitCode = await runCommand(opts);
  });

program
  .command('unwrap-dek')
  .description("init container of a hub's datastore: unwraps the hub's data keys into files (never printed)")
  .requiredOption('--hub <namespace/name>', 'the hub whose keys these are')
  .requiredOption('--hub-uid <uid>', "the hub's metadata.uid (keys of an earlier hub are refused)")
  .addOption(
    new Option('--provider <name>', 'the key provider')
      .choices(['builtin', 'pkcs11', 'transit'])
      .makeOptionMandatory(),
  )
  .requiredOption('--wrapped-keys <dir>', 'the Secret <hub>-keys mounted as files')
  .requiredOption('--out <dir>', 'where to write dek, dek-v<N> and active-version')
  .option('--credentials <dir>', 'builtin: token and ca.crt; pkcs11: pin')
  .option('--kek-namespace <ns>', "builtin: the operator's namespace, holding the KEK Secret")
  .option('--kubeconfig <path>', 'builtin: use this kubeconfig instead of --credentials (tests)')
  .option('--pkcs11-module <path>', 'pkcs11: the PKCS#11 module')
  .option(
    '--pkcs11-allowed-modules <paths>',
    'pkcs11: modules that may be loaded, comma-separated (default: the one --pkcs11-module names, as the operator checked it)',
  )
  .option('--pkcs11-token-label <label>', 'pkcs11: the token holding the KEK')
  .option('--transit-address <url>', 'transit: base URL of the Vault or OpenBao server')
  .option('--transit-mount <path>', 'transit: where the Transit engine is mounted', 'transit')
  .action(async (opts) => {
    process.exitCode = await unwrapDekCommand(opts);
  });

// The read-only subcommands of the kubectl plugin, the same implementation: what-if, status,
// report, verify.
addHdhCommands(program, 'hdh-operator', ['what-if', 'status', 'report', 'verify']);

program
  .command('dev')
  .description(
    'one-command demo: local cluster, CRDs, samples, operator in the foreground (Ctrl-C stops all)',
  )
  .option('--dir <dir>', 'state directory of the local cluster', DEFAULT_CLUSTER_DIR)
  .addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['error', 'warn', 'info', 'debug'])
      .default('info'),
  )
  .action(async (opts) => {
    process.exitCode = await devCommand(opts);
  });

const cluster = program
  .command('cluster')
  .description('a local Kubernetes control plane with simulated EU and non-EU nodes');
cluster
  .command('up')
  .description('start it in the background and wait until it is ready')
  .option('--dir <dir>', 'state directory', DEFAULT_CLUSTER_DIR)
  .action(async (opts: { dir: string }) => clusterUpCommand(opts.dir));
cluster
  .command('down')
  .description('stop its processes and remove its state')
  .option('--dir <dir>', 'state directory', DEFAULT_CLUSTER_DIR)
  .action(async (opts: { dir: string }) => clusterDownCommand(opts.dir));
cluster
  .command('status')
  .description('tell what runs')
  .option('--dir <dir>', 'state directory', DEFAULT_CLUSTER_DIR)
  .action(async (opts: { dir: string }) => {
    process.exitCode = await clusterStatusCommand(opts.dir);
  });

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`hdh-operator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
