import {
  buildComplianceReport,
  renderHtml,
  renderMarkdown,
  sealReport,
  type ComplianceSnapshot,
} from '../../../../src/report/compliance/index.js';
import { mdCell, mdText } from '../../../../src/report/compliance/markdown.js';
import { cluster, entry, HDS, JURISDICTION, node, pod, storageClass } from './fixtures.js';

const SCRIPT = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(2)>';
const PAGE_TAGS = (
  '!doctype a article body br code dd div dl dt footer h1 h2 h3 h4 head header html li meta nav p pre ' +
  'section span strong style table tbody td th thead title tr ul'
).split(' ');

/** The fixture cluster with tenant-written text where a page would show it. */
function hostile(): ComplianceSnapshot {
  const s = cluster();
  // A node label the policy names, a pod name, and the encryption annotation of a class.
  s.nodes = [...s.nodes, node('evil-node', 'fr-par', 'fr-par-1', { [HDS]: `${SCRIPT}${IMG}` })];
  s.pods = [...s.pods, pod(`x${IMG}|y\n# heading`, 'team-a', 'evil-node')];
  s.storageClasses = [
    storageClass('encrypted', { 'hdh.sovereign.eu/encrypted': 'true' }),
    storageClass('plain', { 'hdh.sovereign.eu/encrypted': `${IMG}${SCRIPT}` }),
  ];
  return s;
}

describe('renderHtml', () => {
  const report = sealReport(buildComplianceReport(cluster()));
  const html = renderHtml(report);

  it('is one page that loads nothing: a strict CSP, inline CSS, no script, no external reference', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    );
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|@import|url\(/i);
    expect(html).not.toMatch(/\s(src|href|action)=(?!"#)/i);
  });

  it('has the summary at the top, each hub, the map by region and zone, and the digest in the footer', () => {
    const summary = html.indexOf('id="summary"');
    expect(summary).toBeGreaterThan(0);
    expect(summary).toBeLessThan(html.indexOf('id="hubs"'));
    expect(html).toMatch(/<span class="n">7<\/span>hubs/);
    expect(html).toMatch(/<span class="n">3<\/span>compliant/);
    for (const h of report.hubs) expect(html).toContain(`<h3>${h.namespace}/${h.name} `);
    expect(html).toMatch(/<div class="region"><h3>fr-par<\/h3>/);
    expect(html).toMatch(/<div class="zone"><h4>de-fra-1<\/h4><ul>.*pod team-a\/web/);
    expect(html).toContain('volume team-c/data-paris-0');
    expect(html.slice(html.indexOf('<footer>'))).toContain(report.integrity!.digest);
  });

  it('renders hostile labels, names and annotations inert', () => {
    const page = renderHtml(sealReport(buildComplianceReport(hostile())));
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img');
    expect(page).not.toMatch(/<[^>]*\sonerror=/);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    // Each way in was shown, escaped: the label, the pod's name, the class annotation.
    expect(page).toContain(`${HDS}=&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img`);
    expect(page).toContain('<td>x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;|y\n# heading</td>');
    expect(page).toContain(
      'hdh.sovereign.eu/encrypted: &quot;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&lt;script&gt;',
    );
    // The only tags are the page's own.
    const tags = new Set([...page.matchAll(/<\/?([a-zA-Z0-9!]+)/g)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].filter((t) => !PAGE_TAGS.includes(t))).toEqual([]);
  });
});

describe('hidden characters', () => {
  it('bidirectional overrides, zero-width and control characters are written out, not obeyed', () => {
    const s = cluster();
    s.pods = [...s.pods, pod('invoice\u202efdp.exe\u200b\u0007', 'team-a', 'eu-fr-par-1')];
    const r = buildComplianceReport(s);
    for (const page of [renderHtml(r), renderMarkdown(r)]) {
      expect(page).toMatch(/invoice\\{1,2}u\{202e\}fdp\.exe\\{1,2}u\{200b\}\\{1,2}u\{7\}/);
      for (const c of ['\u202e', '\u200b', '\u0007']) expect(page).not.toContain(c);
    }
  });
});

describe('renderMarkdown', () => {
  const report = sealReport(buildComplianceReport(cluster()));
  const md = renderMarkdown(report);

  it('has the summary table, then each hub with its tables', () => {
    expect(md).toMatch(/^# Compliance report\n/);
    expect(md).toContain('**7 hub(s): 3 compliant, 4 not compliant**');
    expect(md).toContain('| eu-hds | 7 | 3 | 4 |');
    expect(md.indexOf('## Summary')).toBeLessThan(md.indexOf('## Hubs'));
    for (const h of report.hubs) expect(md).toContain(`### ${h.namespace}/${h.name}: `);
    for (const title of ['#### Conditions', '#### Pods', '#### Volumes', '#### Keys', '#### History']) {
      expect(md.split(title).length - 1).toBe(report.hubs.length);
    }
    expect(md).toContain(report.integrity!.digest);
  });

  it('keeps hostile text inside its cell: no new row, column, heading, link or HTML', () => {
    const page = renderMarkdown(buildComplianceReport(hostile()));
    const podRows = page.split('\n').filter((l) => l.startsWith('| x"'));
    expect(podRows.length).toBeGreaterThan(0);
    for (const row of podRows) {
      // Eight columns, so nine unescaped pipes.
      expect(row.match(/(?<!\\)\|/g)).toHaveLength(9);
    }
    expect(page).not.toMatch(/(?<!\\)<(script|img)/);
    expect(page).toContain('x"\\>\\<img src=x onerror=alert(2)\\>\\|y \\# heading');
    expect(page.split('\n').some((l) => l.startsWith('# heading'))).toBe(false);
  });
});

/** The Markdown outside code spans (a run of backticks up to the next run of as many). */
const outsideCode = (md: string) => md.replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, ' ');

/** What GFM turns into a link without any markup: URLs, `www.` names, e-mail addresses. */
const AUTOLINK = /[a-z][a-z0-9+.-]*:\/\/|www\.|[\w.+-]+@[\w-]+\.\w/i;

describe('GFM autolinks in Markdown', () => {
  it('writes text GFM would link as a code span, keeping a pipe inside its cell', () => {
    expect(mdText('Vault at https://vault.example:8200|x')).toBe('` Vault at https://vault.example:8200|x `');
    expect(mdCell('Vault at https://vault.example:8200|x')).toBe(
      '` Vault at https://vault.example:8200\\|x `',
    );
    expect(mdCell('www.evil.example')).toBe('` www.evil.example `');
    expect(mdCell('write to dpo@evil.example')).toBe('` write to dpo@evil.example `');
    // A backtick run in the text takes a longer fence; a backslash before a pipe cannot escape it.
    expect(mdCell('a `` b http://x')).toBe('``` a `` b http://x ```');
    expect(mdCell('a\\|b http://x')).toBe('` a\\u{5c}\\|b http://x `');
    // Text with nothing to link is escaped as before.
    expect(mdCell('fr-par')).toBe('fr-par');
  });

  it('leaves no URL, www. name or address outside a code span in the report', () => {
    const s = cluster();
    s.nodes = [
      ...s.nodes,
      node(
        'link-node',
        'fr-par',
        'fr-par-1',
        { [HDS]: 'www.evil.example', [JURISDICTION]: 'EU' },
        'https://evil.example/a|b',
      ),
    ];
    s.pods = [...s.pods, pod('linked', 'team-a', 'link-node')];
    const [first, ...rest] = s.histories;
    const mail = entry({
      time: '2025-03-07T09:00:00Z',
      type: 'Violation',
      message: 'write to dpo@evil.example or see http://evil.example',
    });
    s.histories = [{ ...first!, entries: [...first!.entries, mail] }, ...rest];
    const md = renderMarkdown(sealReport(buildComplianceReport(s)));
    const row = md.split('\n').find((l) => l.startsWith('| linked |'))!;
    expect(row).toContain('` https://evil.example/a\\|b `');
    expect(row.match(/(?<!\\)\|/g)).toHaveLength(9);
    expect(md).toContain('` write to dpo@evil.example or see http://evil.example `');
    expect(outsideCode(md)).not.toMatch(AUTOLINK);
  });
});

describe('where the history was read', () => {
  it('is shown on the page and in the Markdown, flagged when no operator was found there', () => {
    const source = {
      namespace: 'ops',
      operatorFound: false,
      source: 'ConfigMaps of namespace ops, where no hdh-operator Deployment was found',
    };
    const r = sealReport(buildComplianceReport({ ...cluster(), historySource: source }));
    expect(r.historySource).toEqual(source);
    expect(renderMarkdown(r)).toContain(
      '| History read from | **operator not found there**: ConfigMaps of namespace ops, where no hdh-operator Deployment was found |',
    );
    expect(renderHtml(r)).toContain(
      '<dt>History read from</dt><dd><span class="badge warning">operator not found there</span> ConfigMaps of namespace ops, where no hdh-operator Deployment was found</dd>',
    );
    const found = buildComplianceReport({ ...cluster(), historySource: { ...source, operatorFound: true } });
    expect(renderMarkdown(found)).toContain('| History read from | ConfigMaps of namespace ops');
  });
});

describe('a printed page and its JSON', () => {
  it('says the JSON report of the same run carries the digest shown', () => {
    const r = sealReport(buildComplianceReport(cluster()));
    for (const page of [renderMarkdown(r), renderHtml(r)]) {
      expect(page).toContain(r.integrity!.digest);
      expect(page).toContain('the JSON report written by the same run carries this digest');
    }
  });
});
