// The compliance report as one self-contained HTML page an auditor opens in a browser: nothing is
// loaded (inline CSS only, no script, a Content-Security-Policy that forbids everything else),
// and every value is escaped, since pod names, labels and messages are written by tenants.
import { placementMap } from './html-map.js';
import { REPORT_CSS } from './html-style.js';
import type { ComplianceReport, ReportHistoryEntry, ReportHub, ReportKeyRecord } from './model.js';
import { visible } from './visible.js';

/** Text for HTML content and quoted attribute values (hidden characters written out). */
export function esc(value: unknown): string {
  return visible(String(value ?? '')).replace(
    /[&<>"'`]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!,
  );
}

export const CSP = "default-src 'none'; style-src 'unsafe-inline'";

/** A cell is escaped text unless it is marked as markup made here. */
type Cell = string | number | undefined | { html: string };

const cell = (c: Cell) => (typeof c === 'object' ? c.html : esc(c ?? ''));

function table(header: readonly string[], rows: readonly (readonly Cell[])[], none = 'None.'): string {
  if (rows.length === 0) return `<p class="muted">${esc(none)}</p>`;
  return [
    '<table>',
    `<thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

const VERDICT_TEXT: Record<string, string> = { pass: 'PASS', fail: 'FAIL', unknown: 'UNKNOWN' };

/** A coloured badge; `kind` picks the class from a closed set, never from the input. */
function badge(text: string, kind: 'pass' | 'fail' | 'unknown' | 'failure' | 'warning'): { html: string } {
  return { html: `<span class="badge ${kind}">${esc(text)}</span>` };
}

const verdict = (v: string) =>
  badge(VERDICT_TEXT[v] ?? v, v === 'pass' ? 'pass' : v === 'fail' ? 'fail' : 'unknown');
const mono = (v: unknown) => ({ html: `<span class="mono">${esc(v)}</span>` });

function historyRows(entries: readonly ReportHistoryEntry[]): Cell[][] {
  return entries.map((e) => [e.time, e.type, e.reason, e.hub, e.pod, e.node, e.message]);
}

function keyRows(records: readonly ReportKeyRecord[], adopted = false): Cell[][] {
  return records.map((k) => [
    k.namespace,
    k.hub,
    mono(k.uid ?? ''),
    k.time,
    k.message,
    ...(adopted ? [mono(k.adoptedBy ?? '')] : []),
  ]);
}

function custodyBadge(v: string) {
  return badge(v, v === 'NonExtractable' ? 'pass' : v === 'Extractable' ? 'fail' : 'unknown');
}

function hubArticle(h: ReportHub, index: number): string {
  const k = h.keys;
  const c = k.custody;
  return [
    `<article class="hub ${h.compliant ? 'is-ok' : 'is-bad'}" id="hub-${index}">`,
    `<h3>${esc(h.namespace)}/${esc(h.name)} ${h.compliant ? badge('compliant', 'pass').html : badge('not compliant', 'fail').html}</h3>`,
    `<p>SovereigntyPolicy <strong>${esc(h.policy)}</strong> · UID <span class="mono">${esc(h.uid)}</span></p>`,
    '<h4>Conditions</h4>',
    table(
      ['Type', 'Status', 'Reason', 'Message', 'Since'],
      h.conditions.map((x) => [
        x.type,
        x.status === 'True' ? badge('True', 'pass') : badge(x.status, 'fail'),
        x.reason,
        x.message,
        x.lastTransitionTime,
      ]),
    ),
    '<h4>Pods</h4>',
    table(
      ['Pod', 'Node', 'Region', 'Zone', 'Policy labels', 'Provider ID', 'Verdict', 'Why'],
      h.pods.map((p) => [
        p.name,
        p.node,
        p.region,
        p.zone,
        {
          html: Object.entries(p.policyLabels)
            .map(([key, v]) => `<span class="mono">${esc(key)}=${esc(v)}</span>`)
            .join('<br>'),
        },
        mono(p.providerID ?? ''),
        verdict(p.verdict),
        p.reason,
      ]),
    ),
    '<h4>Volumes</h4>',
    table(
      ['Claim', 'Volume', 'Class', 'Encrypted', 'Regions', 'Zones', 'Capacity', 'Verdict', 'Why'],
      h.volumes.map((v) => [
        v.claim,
        v.volume,
        v.storageClass,
        {
          html: `${v.encryption.attested ? badge('yes', 'pass').html : badge('no', 'fail').html} ${esc(v.encryption.why)}`,
        },
        v.regions.join(', '),
        v.zones.join(', '),
        v.capacity,
        verdict(v.verdict),
        v.reasons.join('; '),
      ]),
    ),
    '<h4>Keys</h4>',
    table(
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
          mono(k.keyRef ?? ''),
          k.activeVersion,
          k.versions,
          k.lastRotationTime,
          k.rotationInterval,
          k.nextRotationTime,
        ],
      ],
    ),
    `<p>Custody ${custodyBadge(c.verdict).html}${c.weakest ? ' ' + badge('weakest', 'warning').html : ''} ${esc(c.message)}</p>`,
    c.attributes.length
      ? table(
          ['Attribute', 'Expected', 'Observed', ''],
          c.attributes.map((a) => [
            mono(a.name),
            a.expected,
            a.observed,
            a.expected === a.observed ? badge('ok', 'pass') : badge('differs', 'fail'),
          ]),
        )
      : '',
    '<h4>History</h4>',
    table(['Time', 'Type', 'Reason', 'Hub', 'Pod', 'Node', 'Message'], historyRows(h.history), 'No entry.'),
    '</article>',
  ].join('\n');
}

function mapSection(report: ComplianceReport): string {
  const regions = placementMap(report);
  if (regions.length === 0) return '<p class="muted">No pod or bound volume.</p>';
  const item = (i: { kind: string; label: string; verdict: string }) =>
    `<li class="${i.verdict === 'pass' ? 'pass' : i.verdict === 'fail' ? 'fail' : 'unknown'}">${i.kind === 'pod' ? 'pod' : 'volume'} ${esc(i.label)}</li>`;
  return [
    '<div class="map">',
    ...regions.map((r) =>
      [
        `<div class="region"><h3>${esc(r.region)}</h3><div class="zones">`,
        ...r.zones.map(
          (z) => `<div class="zone"><h4>${esc(z.zone)}</h4><ul>${z.items.map(item).join('')}</ul></div>`,
        ),
        '</div></div>',
      ].join('\n'),
    ),
    '</div>',
  ].join('\n');
}

function footer(report: ComplianceReport): string {
  const i = report.integrity;
  if (!i) return '<footer><p>Not sealed: no digest was computed for this report.</p></footer>';
  return [
    '<footer>',
    `<p>SHA-256 of the canonical JSON (${esc(i.canonicalization)}) of the report: <span class="mono">${esc(i.digest)}</span></p>`,
    '<p>Tied to its JSON: the JSON report written by the same run carries this digest ' +
      '(<code>kubectl hdh report --format json,html --out PREFIX</code> writes both), and ' +
      '<code>kubectl hdh verify PREFIX.json</code> prints it once it has checked it.</p>',
    i.signature
      ? `<p>Signed with Ed25519 by the key below; check the JSON report with <code>kubectl hdh verify report.json --public-key pub.pem</code>.</p><pre class="mono">${esc(i.signature.publicKey)}</pre>`
      : '<p>Not signed.</p>',
    '</footer>',
  ].join('\n');
}

export function renderHtml(r: ComplianceReport): string {
  const s = r.summary;
  const scope = r.scope.namespaces ? `namespaces ${r.scope.namespaces.join(', ')}` : 'all namespaces';
  const card = (n: number, label: string, kind: string) =>
    `<div class="card ${kind}"><span class="n">${n}</span>${esc(label)}</div>`;
  return `${[
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Compliance report · ${esc(r.generatedAt)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    '<header><h1>Compliance report</h1><dl class="meta">',
    `<dt>Generated</dt><dd>${esc(r.generatedAt)}</dd>`,
    `<dt>Cluster (kube-system UID)</dt><dd class="mono">${esc(r.cluster.uid)}</dd>`,
    `<dt>Operator</dt><dd>${esc(r.operator.version ?? 'unknown version')} <span class="muted">(${esc(r.operator.source)})</span></dd>`,
    `<dt>Generator</dt><dd>${esc(r.generator.version)}</dd>`,
    `<dt>Scope</dt><dd>${esc(scope)}${r.scope.since ? `; history since ${esc(r.scope.since)}` : ''}</dd>`,
    r.historySource
      ? `<dt>History read from</dt><dd>${r.historySource.operatorFound ? '' : `${badge('operator not found there', 'warning').html} `}${esc(r.historySource.source)}</dd>`
      : '',
    '</dl></header>',
    '<section id="summary"><h2>Summary</h2><div class="cards">',
    card(s.hubs, 'hubs', ''),
    card(s.compliant, 'compliant', 'ok'),
    card(s.notCompliant, 'not compliant', s.notCompliant ? 'bad' : 'ok'),
    card(s.failures, 'failures', s.failures ? 'bad' : 'ok'),
    card(s.warnings, 'warnings', s.warnings ? 'warn' : 'ok'),
    '</div>',
    table(
      ['Policy', 'Hubs', 'Compliant', 'Not compliant'],
      s.byPolicy.map((p) => [p.policy, p.hubs, p.compliant, p.notCompliant]),
    ),
    '</section>',
    r.hubs.length
      ? `<nav class="toc"><ul>${r.hubs.map((h, i) => `<li><a href="#hub-${i + 1}">${esc(h.namespace)}/${esc(h.name)}</a> ${h.compliant ? badge('compliant', 'pass').html : badge('not compliant', 'fail').html}</li>`).join('')}</ul></nav>`
      : '',
    '<section id="findings"><h2>Findings</h2>',
    table(
      ['Severity', 'Check', 'Namespace', 'Hub', 'Subject', 'Why'],
      r.findings.map((f) => [
        badge(f.severity, f.severity === 'failure' ? 'failure' : 'warning'),
        f.check,
        f.namespace,
        f.hub,
        f.subject,
        f.message,
      ]),
    ),
    '</section>',
    '<section id="map"><h2>Where pods and volumes are</h2>',
    mapSection(r),
    '</section>',
    '<section id="policies"><h2>Policies</h2>',
    table(
      ['Policy', 'Generation', 'Regions', 'Enforcement', 'Spec SHA-256'],
      r.policies.map((p) => [
        p.name,
        p.generation,
        p.spec.regions.join(', '),
        p.spec.enforcement ?? 'Enforce',
        mono(p.specSha256),
      ]),
    ),
    '</section>',
    '<section id="hubs"><h2>Hubs</h2>',
    r.hubs.length ? r.hubs.map((h, i) => hubArticle(h, i + 1)).join('\n') : '<p class="muted">No hub.</p>',
    '</section>',
    '<section id="history"><h2>Other history of the namespaces</h2>',
    table(
      ['Namespace', 'Time', 'Type', 'Reason', 'Hub', 'Pod', 'Node', 'Message'],
      r.namespaceHistory.map((e) => [e.namespace, ...historyRows([e])[0]!]),
      'No entry.',
    ),
    '<h2>Retained keys</h2>',
    table(
      ['Namespace', 'Hub', 'Hub UID', 'Retained', 'Message', 'Adopted by hub UID'],
      keyRows(r.retainedKeys, true),
    ),
    '<h2>Crypto-shredded keys</h2>',
    table(['Namespace', 'Hub', 'Hub UID', 'Shredded', 'Message'], keyRows(r.shreddedKeys)),
    '</section>',
    footer(r),
    '</body>',
    '</html>',
  ].join('\n')}\n`;
}
