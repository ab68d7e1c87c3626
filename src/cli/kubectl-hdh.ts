#!/usr/bin/env node
// `kubectl hdh`: the kubectl plugin for SREs and auditors (kubectl runs `kubectl-hdh` from the
// PATH for `kubectl hdh …`). Reads the cluster, and writes only a hub's annotations.
import { Command } from 'commander';
import { OPERATOR_VERSION } from '../version.js';
import { addHdhCommands } from './hdh/commands.js';
import { oneLine } from './hdh/terminal.js';

const program = new Command()
  .name('kubectl hdh')
  .description(
    'Sovereign health-data hubs at a glance: status, the compliance report and its verification, ' +
      'the what-if of a policy, and key rotation, adoption and confirmed destruction.',
  )
  .version(OPERATOR_VERSION, '--version', 'print the version')
  .showHelpAfterError();

addHdhCommands(program, 'kubectl hdh');

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`${oneLine(`kubectl hdh: ${e instanceof Error ? e.message : String(e)}`)}\n`);
  process.exit(1);
});
