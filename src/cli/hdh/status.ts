// `status [HUB] [-n NS | -A] [-o text|json]`: every hub in scope at a glance, with the verdicts
// of the compliance report (the same model, built from the same snapshot).
import { buildComplianceReport, type ReportHub } from '../../report/compliance/index.js';
import { NotFoundError, UserError } from './errors.js';
import { connect } from './kubeconfig.js';
import { Reader } from './reads.js';
import { checkHubName, checkScope, scopeOf, type CommonOptions } from './scope.js';
import { readComplianceSnapshot } from './snapshot.js';
import { formatStatus } from './status-format.js';
import { printableJson, type Terminal } from './terminal.js';

export interface StatusOptions extends CommonOptions {
  output?: 'text' | 'json';
  operatorNamespace: string;
}

/** The hubs to show: all in scope, or the one named (which must then exist). */
export function selectHubs(
  hubs: readonly ReportHub[],
  name: string | undefined,
  namespace: string | undefined,
): ReportHub[] {
  if (name === undefined) return [...hubs];
  const found = hubs.filter((h) => h.name === name);
  if (found.length === 0) {
    throw new NotFoundError(
      `healthdatahub ${name} not found${namespace ? ` in namespace ${namespace}` : ''}`,
    );
  }
  return found;
}

export async function statusCommand(
  hub: string | undefined,
  opts: StatusOptions,
  term: Terminal,
): Promise<void> {
  checkScope(opts);
  if (hub !== undefined) {
    checkHubName(hub);
    if (opts.allNamespaces)
      throw new UserError('a hub is named within one namespace: give -n NAMESPACE, not -A');
  }
  const connection = connect(opts);
  const namespace = scopeOf(opts, connection.namespace);
  const snapshot = await readComplianceSnapshot(new Reader(connection), namespace, {
    operatorNamespace: opts.operatorNamespace,
    history: false,
    identity: 'optional',
  });
  const report = buildComplianceReport(snapshot, namespace ? { namespaces: [namespace] } : {});
  const hubs = selectHubs(report.hubs, hub, namespace);
  if (opts.output === 'json') {
    term.out(printableJson({ takenAt: snapshot.takenAt, hubs }));
    return;
  }
  if (hubs.length === 0) {
    term.out(`No HealthDataHub ${namespace ? `in namespace ${namespace}` : 'in any namespace'}.\n`);
    return;
  }
  term.out(formatStatus(hubs, { colour: term.colour }));
}
