// `hdh-operator what-if --policy FILE`: reads the cluster (list calls only) and the candidate
// policy, and prints what applying it would change. A report: it exits 0 whatever it finds, 1 when
// it could not tell (no cluster, no CRDs, a refusal, a bad policy file).
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { SOVEREIGNTY_POLICY, type SovereigntyPolicy } from '../api/index.js';
import { formatWhatIf } from '../report/what-if-format.js';
import { whatIf } from '../report/what-if.js';
import { describeError } from '../runtime/errors.js';
import { describeFailure, explainApiError, UserError } from './hdh/errors.js';
import { connect } from './hdh/kubeconfig.js';
import { Reader } from './hdh/reads.js';
import { readClusterSnapshot } from './hdh/snapshot.js';
import { oneLine, printableJson, safe } from './hdh/terminal.js';

export interface WhatIfCommandOptions {
  policy: string;
  namespace?: string;
  allNamespaces?: boolean;
  output?: 'text' | 'json';
  kubeconfig?: string;
  context?: string;
}

/** An error the user can act on: printed as it is, without a stack. */

/** The candidate policy from a YAML or JSON file: one SovereigntyPolicy, or a UserError. */
export function parsePolicy(text: string, file: string): SovereigntyPolicy {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  if (docs.length !== 1) {
    throw new UserError(`${file}: expected one SovereigntyPolicy, found ${docs.length} YAML documents`);
  }
  const doc = docs[0]!;
  if (doc.errors.length) throw new UserError(`${file}: not valid YAML: ${doc.errors[0]!.message}`);
  const o = doc.toJS() as Record<string, unknown> | null;
  const bad = (why: string) => new UserError(`${file}: not a SovereigntyPolicy: ${why}`);
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad('not an object');
  if (o['apiVersion'] !== SOVEREIGNTY_POLICY.apiVersion) {
    throw bad(`apiVersion is ${JSON.stringify(o['apiVersion'])}, not ${SOVEREIGNTY_POLICY.apiVersion}`);
  }
  if (o['kind'] !== SOVEREIGNTY_POLICY.kind) {
    throw bad(`kind is ${JSON.stringify(o['kind'])}, not ${SOVEREIGNTY_POLICY.kind}`);
  }
  const name = (o['metadata'] as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string' || !name) throw bad('metadata.name is missing');
  const spec = o['spec'] as { regions?: unknown; enforcement?: unknown } | undefined;
  const regions = spec?.regions;
  if (!Array.isArray(regions) || regions.length === 0 || !regions.every((r) => typeof r === 'string' && r)) {
    throw bad('spec.regions must list at least one region');
  }
  if (spec!.enforcement !== undefined && spec!.enforcement !== 'Enforce' && spec!.enforcement !== 'Audit') {
    throw bad('spec.enforcement must be Enforce or Audit');
  }
  return o as unknown as SovereigntyPolicy;
}

/** What a failed read means, naming the verb and resource it was refused. */
export function explainReadError(
  e: unknown,
  verb: string,
  resource: string,
  namespace: string | undefined,
  server: string,
): UserError {
  return explainApiError(e, { verb, resource, namespace }, server);
}

export async function whatIfCommand(opts: WhatIfCommandOptions, program = 'hdh-operator'): Promise<number> {
  try {
    if (opts.namespace && opts.allNamespaces) throw new UserError('give either -n NAMESPACE or -A, not both');
    let text: string;
    try {
      text = await readFile(opts.policy, 'utf8');
    } catch (e) {
      throw new UserError(`cannot read ${opts.policy}: ${describeError(e)}`);
    }
    const candidate = parsePolicy(text, opts.policy);
    const connection = connect(opts);
    // As kubectl: the context's namespace unless -n or -A says otherwise.
    const namespace = opts.allNamespaces ? undefined : opts.namespace || connection.namespace;
    const snapshot = await readClusterSnapshot(new Reader(connection), namespace);
    const result = whatIf(snapshot, candidate, namespace ? { namespaces: [namespace] } : {});
    process.stdout.write(opts.output === 'json' ? printableJson(result) : safe(formatWhatIf(result)));
    return 0;
  } catch (e) {
    process.stderr.write(`${oneLine(`${program} what-if: ${describeFailure(e)}`)}\n`);
    return 1;
  }
}
