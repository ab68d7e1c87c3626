// `kubectl hdh status` for a terminal: each hub at a glance, from the compliance report's per-hub
// data (the one source of verdicts). Pure: the hubs in, text out; colour only when asked.
import type {
  ReportCondition,
  ReportHub,
  ReportKeys,
  ReportPod,
  ReportVolume,
  Verdict,
} from '../../report/compliance/index.js';
import { oneLine, painter, type Tone } from './terminal.js';

/** A table cell: its text, and the tone it is painted in. */
type Cell = string | { text: string; tone: Tone };

const cellText = (c: Cell) => oneLine(typeof c === 'string' ? c : c.text);

/** Columns padded to their widest cell (before painting, so escapes do not shift them). */
function table(
  indent: string,
  header: readonly string[],
  rows: readonly Cell[][],
  paint: ReturnType<typeof painter>,
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => cellText(r[i] ?? '').length)));
  const line = (cells: readonly Cell[], head = false) => {
    // Trailing empty cells and padding go before painting, so no line ends in spaces.
    let last = cells.length - 1;
    while (last > 0 && cellText(cells[last]!) === '') last--;
    const painted = cells.slice(0, last + 1).map((c, i) => {
      const t = cellText(c);
      const padded = i === last ? t : t.padEnd(widths[i]!);
      if (head) return paint('dim', padded);
      return typeof c === 'string' ? padded : paint(c.tone, padded);
    });
    return indent + painted.join('  ');
  };
  return [line(header, true), ...rows.map((r) => line(r))];
}

const verdictTone: Record<Verdict, Tone> = { pass: 'good', fail: 'bad', unknown: 'warn' };

function conditionTone(c: ReportCondition): Tone {
  const positive = c.type !== 'Stalled' && c.type !== 'Reconciling';
  if (c.status === 'Unknown') return 'warn';
  return (c.status === 'True') === positive ? 'good' : 'bad';
}

/** The last segment of a label key: `sovereign.node-restriction.kubernetes.io/hds` → `hds`. */
const shortKey = (key: string) => key.slice(key.lastIndexOf('/') + 1);

function podRows(pods: readonly ReportPod[]): Cell[][] {
  return pods.map((p) => [
    p.name,
    p.node,
    p.region ?? '-',
    p.zone ?? '-',
    Object.entries(p.policyLabels)
      .map(([k, v]) => `${shortKey(k)}=${v}`)
      .join(',') || '-',
    { text: p.verdict, tone: verdictTone[p.verdict] },
    p.verdict === 'pass' ? '' : p.reason,
  ]);
}

function volumeRows(volumes: readonly ReportVolume[]): Cell[][] {
  return volumes.map((v) => [
    v.claim,
    v.volume ?? `(${v.phase})`,
    v.regions.join(',') || '-',
    v.zones.join(',') || '-',
    v.storageClass,
    {
      text: v.encryption.attested ? 'attested' : 'not attested',
      tone: v.encryption.attested ? 'good' : 'bad',
    },
    { text: v.verdict, tone: verdictTone[v.verdict] },
    v.verdict === 'pass' ? '' : v.reasons.join('; '),
  ]);
}

const custodyTone: Record<ReportKeys['custody']['verdict'], Tone> = {
  NonExtractable: 'good',
  Extractable: 'bad',
  SecretInCluster: 'warn',
  NotVerified: 'warn',
};

function keyLines(k: ReportKeys, paint: ReturnType<typeof painter>): string[] {
  const versions =
    k.activeVersion !== undefined
      ? `active version ${k.activeVersion}${k.versions !== undefined ? ` of ${k.versions}` : ''}`
      : 'no version yet';
  const rotation = [
    `last rotation ${k.lastRotationTime ?? '-'}`,
    `next ${k.nextRotationTime ?? (k.rotationInterval ? '-' : 'on request (no rotationInterval)')}`,
  ].join(', ');
  const custody = k.custody;
  const lines = [
    `    provider ${oneLine(k.provider)}, key ${oneLine(k.keyRef ?? '(none yet)')}`,
    `    ${versions}; ${rotation}`,
    `    custody ${paint(custodyTone[custody.verdict], custody.verdict)}${custody.message ? `: ${oneLine(custody.message)}` : ''}`,
  ];
  for (const a of custody.attributes) {
    const tone: Tone = a.observed === a.expected ? 'good' : 'bad';
    lines.push(
      `      ${oneLine(a.name)} ${paint(tone, oneLine(a.observed))} (expected ${oneLine(a.expected)})`,
    );
  }
  return lines;
}

export interface StatusFormatOptions {
  colour: boolean;
}

/** One hub: header, conditions, pods, volumes, keys. */
export function formatHub(h: ReportHub, opts: StatusFormatOptions): string[] {
  const paint = painter(opts.colour);
  const verdict = h.compliant ? paint('good', 'compliant') : paint('bad', 'NOT compliant');
  const lines = [
    `${paint('bold', `HealthDataHub ${oneLine(h.namespace)}/${oneLine(h.name)}`)}  policy ${oneLine(h.policy)}  ${verdict}`,
    '  Conditions',
  ];
  lines.push(
    ...(h.conditions.length
      ? table(
          '    ',
          ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
          h.conditions.map((c) => [c.type, { text: c.status, tone: conditionTone(c) }, c.reason, c.message]),
          paint,
        )
      : ['    none reported yet']),
  );
  lines.push(`  Pods (${h.pods.length})`);
  lines.push(
    ...(h.pods.length
      ? table(
          '    ',
          ['POD', 'NODE', 'REGION', 'ZONE', 'LABELS', 'VERDICT', 'REASON'],
          podRows(h.pods),
          paint,
        )
      : ['    none']),
  );
  lines.push(`  Volumes (${h.volumes.length})`);
  lines.push(
    ...(h.volumes.length
      ? table(
          '    ',
          ['CLAIM', 'VOLUME', 'REGION', 'ZONE', 'CLASS', 'ENCRYPTION', 'VERDICT', 'REASON'],
          volumeRows(h.volumes),
          paint,
        )
      : ['    none']),
  );
  lines.push('  Keys', ...keyLines(h.keys, paint));
  return lines;
}

/** Every hub, a blank line between them. */
export function formatStatus(hubs: readonly ReportHub[], opts: StatusFormatOptions): string {
  return `${hubs.map((h) => formatHub(h, opts).join('\n')).join('\n\n')}\n`;
}
