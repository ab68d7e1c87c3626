// The compliance report as Markdown, for a change request or a wiki. Names, labels and messages
// come from tenants and nodes: every cell is escaped so that none can break a table, open a link,
// or slip raw HTML into a page that renders it.
import type { ComplianceReport, ReportHistoryEntry, ReportHub, ReportKeyRecord } from './model.js';
import { visible } from './visible.js';

/**
 * What GFM links with no markup at all (its autolink extension): a URL (`https://…`, any
 * `scheme://`), a name starting `www.`, an e-mail address. A backslash escape does not stop all
 * renderers from linking them; a code span does.
 */
const AUTOLINK = /[a-z][a-z0-9+.-]*:\/\/|www\.|@|\b(?:mailto|xmpp):/i;

/**
 * `text` as a code span, shown as it is (nothing is markup inside one): a fence longer than any
 * run of backticks in it, and a space each side, which the renderer takes off. In a GFM table a
 * pipe ends the cell even inside a code span unless escaped, and a backslash before it would
 * escape the escape, so that backslash is written out.
 */
function codeSpan(text: string, inTable: boolean): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const body = inTable ? text.replace(/\\(?=\|)/g, '\\u{5c}').replace(/\|/g, '\\|') : text;
  return `${fence} ${body} ${fence}`;
}

function markdownText(value: unknown, inTable: boolean): string {
  const text = visible(String(value ?? '').replace(/[\r\n\u2028\u2029]+/g, ' '));
  if (AUTOLINK.test(text)) return codeSpan(text, inTable);
  // CommonMark escapes any ASCII punctuation; with brackets escaped, `(`, `)` and `!` start
  // nothing (no link, no image) and are left as they are.
  return text.replace(/[\\`*_[\]<>|~&#]/g, (c) => `\\${c}`);
}

/**
 * Inline text: line breaks become spaces, every character Markdown or HTML could read as markup
 * is escaped with a backslash, and text GFM would link is written as a code span.
 */
export function mdText(value: unknown): string {
  return markdownText(value, false);
}

/** `mdText` for a table cell: a pipe inside a code span is escaped too. */
export function mdCell(value: unknown): string {
  return markdownText(value, true);
}

/** A cell is escaped text unless it is marked as markup made here. */
type Cell = string | number | undefined | { md: string };

const cell = (c: Cell) => (typeof c === 'object' ? c.md : mdCell(c));

function table(header: readonly string[], rows: readonly (readonly Cell[])[], none = 'None.'): string[] {
  if (rows.length === 0) return [none, ''];
  return [
    `| ${header.map(mdCell).join(' | ')} |`,
    `|${header.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    '',
  ];
}

const opt = (v: unknown) => (v === undefined || v === null ? '' : String(v));
const verdictText = (v: string) => (v === 'pass' ? 'PASS' : v === 'fail' ? 'FAIL' : 'UNKNOWN');

function historyRows(entries: readonly ReportHistoryEntry[]): string[][] {
  return entries.map((e) => [e.time, e.type, e.reason, opt(e.hub), opt(e.pod), opt(e.node), e.message]);
}

function keyRows(records: readonly ReportKeyRecord[], adopted = false): string[][] {
  return records.map((k) => [
    k.namespace,
    opt(k.hub),
    opt(k.uid),
    k.time,
    k.message,
    ...(adopted ? [opt(k.adoptedBy)] : []),
  ]);
}

function hubSection(h: ReportHub): string[] {
  const k = h.keys;
  return [
    `### ${mdText(`${h.namespace}/${h.name}`)}: ${h.compliant ? 'compliant' : '**NOT compliant**'}`,
    '',
    `SovereigntyPolicy ${mdText(h.policy)}, UID ${mdText(h.uid)}.`,
    '',
    '#### Conditions',
    '',
    ...table(
      ['Type', 'Status', 'Reason', 'Message', 'Since'],
      h.conditions.map((c) => [c.type, c.status, c.reason, c.message, opt(c.lastTransitionTime)]),
    ),
    '#### Pods',
    '',
    ...table(
      ['Pod', 'Node', 'Region', 'Zone', 'Policy labels', 'Provider ID', 'Verdict', 'Why'],
      h.pods.map((p) => [
        p.name,
        p.node,
        opt(p.region),
        opt(p.zone),
        Object.entries(p.policyLabels)
          .map(([key, value]) => `${key}=${value}`)
          .join(', '),
        opt(p.providerID),
        verdictText(p.verdict),
        p.reason,
      ]),
    ),
    '#### Volumes',
    '',
    ...table(
      ['Claim', 'Volume', 'Class', 'Encrypted', 'Regions', 'Zones', 'Capacity', 'Verdict', 'Why'],
      h.volumes.map((v) => [
        v.claim,
        opt(v.volume),
        v.storageClass,
        `${v.encryption.attested ? 'yes' : 'NO'}: ${v.encryption.why}`,
        v.regions.join(', '),
        v.zones.join(', '),
        opt(v.capacity),
        verdictText(v.verdict),
        v.reasons.join('; '),
      ]),
    ),
    '#### Keys',
    '',
    ...table(
      [
        'Provider',
        'Key reference',
        'Active version',
        'Versions',
        'Last rotation',
        'Rotation interval',
        'Next rotation',
      ],
      [
        [
          k.provider,
          opt(k.keyRef),
          opt(k.activeVersion),
          opt(k.versions),
          opt(k.lastRotationTime),
          opt(k.rotationInterval),
          opt(k.nextRotationTime),
        ],
      ],
    ),
    `Custody: **${mdText(k.custody.verdict)}**${k.custody.weakest ? ' (weakest)' : ''}: ${mdText(k.custody.message)}`,
    '',
    ...(k.custody.attributes.length
      ? table(
          ['Attribute', 'Expected', 'Observed'],
          k.custody.attributes.map((a) => [a.name, a.expected, a.observed]),
        )
      : []),
    '#### History',
    '',
    ...table(
      ['Time', 'Type', 'Reason', 'Hub', 'Pod', 'Node', 'Message'],
      historyRows(h.history),
      'No entry.',
    ),
  ];
}

export function renderMarkdown(r: ComplianceReport): string {
  const s = r.summary;
  const scope = [
    r.scope.namespaces ? `namespaces ${r.scope.namespaces.join(', ')}` : 'all namespaces',
    r.scope.since ? `history since ${r.scope.since}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const lines = [
    '# Compliance report',
    '',
    ...table(
      ['', ''],
      [
        ['Generated', r.generatedAt],
        ['Cluster (kube-system UID)', r.cluster.uid],
        ['Operator', `${r.operator.version ?? 'unknown version'} (${r.operator.source})`],
        ['Generator', r.generator.version],
        ['Scope', scope],
        ...(r.historySource
          ? [
              [
                'History read from',
                r.historySource.operatorFound
                  ? r.historySource.source
                  : { md: `**operator not found there**: ${mdCell(r.historySource.source)}` },
              ],
            ]
          : []),
      ],
    ),
    '## Summary',
    '',
    `**${s.hubs} hub(s): ${s.compliant} compliant, ${s.notCompliant} not compliant**; ` +
      `${s.failures} failure(s), ${s.warnings} warning(s).`,
    '',
    ...table(
      ['Policy', 'Hubs', 'Compliant', 'Not compliant'],
      s.byPolicy.map((p) => [p.policy, p.hubs, p.compliant, p.notCompliant]),
    ),
    '## Policies',
    '',
    ...table(
      ['Policy', 'Generation', 'Regions', 'Enforcement', 'Spec SHA-256'],
      r.policies.map((p) => [
        p.name,
        opt(p.generation),
        p.spec.regions.join(', '),
        p.spec.enforcement ?? 'Enforce',
        p.specSha256,
      ]),
    ),
    '## Findings',
    '',
    ...table(
      ['Severity', 'Check', 'Namespace', 'Hub', 'Subject', 'Why'],
      r.findings.map((f) => [f.severity, f.check, f.namespace, f.hub, f.subject, f.message]),
    ),
    '## Hubs',
    '',
    ...(r.hubs.length ? r.hubs.flatMap(hubSection) : ['No hub.', '']),
    '## Other history of the namespaces',
    '',
    ...table(
      ['Namespace', 'Time', 'Type', 'Reason', 'Hub', 'Pod', 'Node', 'Message'],
      r.namespaceHistory.map((e) => [e.namespace, ...historyRows([e])[0]!]),
      'No entry.',
    ),
    '## Retained keys',
    '',
    ...table(
      ['Namespace', 'Hub', 'Hub UID', 'Retained', 'Message', 'Adopted by hub UID'],
      keyRows(r.retainedKeys, true),
    ),
    '## Crypto-shredded keys',
    '',
    ...table(['Namespace', 'Hub', 'Hub UID', 'Shredded', 'Message'], keyRows(r.shreddedKeys)),
    ...(r.integrity
      ? [
          '## Integrity',
          '',
          `SHA-256 of the canonical JSON (${mdText(r.integrity.canonicalization)}) of the JSON report: ` +
            `\`${r.integrity.digest.replace(/[^0-9a-f]/g, '')}\`.`,
          'Tied to its JSON: the JSON report written by the same run carries this digest ' +
            '(`kubectl hdh report --format json,markdown --out PREFIX` writes both), and ' +
            '`kubectl hdh verify PREFIX.json` prints it once it has checked it.',
          r.integrity.signature
            ? 'Signed with Ed25519; check the JSON report with `kubectl hdh verify report.json --public-key pub.pem`.'
            : 'Not signed.',
          '',
        ]
      : []),
  ];
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}
