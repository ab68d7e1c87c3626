// The what-if as plain text: a short table per section, for a terminal or a change request.
import type { WhatIfResult } from './what-if.js';

/** Columns padded to their widest cell; the last column is left as it is. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function section(title: string, header: string[], rows: string[][], none: string): string[] {
  return ['', `${title} (${rows.length})`, ...(rows.length ? table(header, rows) : [`  ${none}`])];
}

export function formatWhatIf(r: WhatIfResult): string {
  const enforcement = r.enforcement.current
    ? r.enforcement.current === r.enforcement.candidate
      ? r.enforcement.candidate
      : `${r.enforcement.current} -> ${r.enforcement.candidate}`
    : r.enforcement.candidate;
  const held = r.namespaces.map((n) =>
    [n.namespace, n.hubs.length ? `hubs ${n.hubs.join(', ')}` : '', n.labelled ? 'label' : '']
      .filter(Boolean)
      .join(': '),
  );
  const lines = [
    `What-if for SovereigntyPolicy ${r.policy} (${r.change}, enforcement ${enforcement}); nothing was changed.`,
    `Namespaces held to it: ${held.length ? held.join('; ') : 'none'}`,
    ...section(
      'Pods that would violate it',
      ['NAMESPACE', 'POD', 'NODE', 'ACTION', 'ALREADY', 'REASON'],
      r.pods.map((p) => [p.namespace, p.pod, p.node, p.action, p.alreadyViolating ? 'yes' : 'no', p.reason]),
      'none',
    ),
    ...section(
      'Bound volumes outside its regions',
      ['NAMESPACE', 'CLAIM', 'VOLUME', 'REGION', 'ZONE', 'REASON'],
      r.volumes.map((v) => [
        v.namespace,
        v.claim,
        v.volume,
        v.regions?.join(',') ?? '-',
        v.zones?.join(',') ?? '-',
        v.reason,
      ]),
      'none',
    ),
    ...section(
      'Hubs that would have no eligible node',
      ['NAMESPACE', 'HUB', 'REGIONS', 'ELIGIBLE', 'NOT ALLOWED'],
      r.hubsWithoutNodes.map((h) => [
        h.namespace,
        h.hub,
        h.regions?.join(',') ?? '(policy)',
        String(h.eligibleNodes),
        h.regionsNotAllowed?.join(',') ?? '-',
      ]),
      'none',
    ),
    ...section(
      'Nodes that would stop qualifying',
      ['NODE', 'REGION', 'REASON'],
      r.nodes.stopQualifying.map((n) => [n.node, n.region ?? '-', n.reason]),
      'none',
    ),
    ...section(
      'Nodes that would start qualifying',
      ['NODE', 'REGION'],
      r.nodes.startQualifying.map((n) => [n.node, n.region ?? '-']),
      'none',
    ),
  ];
  return `${lines.join('\n')}\n`;
}
