// The HTML report opened in a real browser: it loads nothing from outside (not even what a tenant
// writes into a name or a message), shows the summary and every hub, and looks as the README says.
// HDH_UPDATE_DOCS=1 saves the top of the page as docs/compliance-report.png.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildComplianceReport, renderHtml, sealReport } from '../../../../src/report/compliance/index.js';
import { visitInChromium } from '../../../support/chromium.js';
import { cluster, entry } from './fixtures.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('the HTML compliance report in headless Chromium', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hdh-report-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads with no request but its own file, and shows the summary and each hub', async () => {
    const base = cluster();
    const [first, ...rest] = base.histories;
    // Free text a tenant or a node can influence, written to make a browser fetch something.
    const hostile = entry({
      time: '2025-03-07T09:00:00Z',
      type: 'Violation',
      hub: 'stray',
      hubUID: 'uid-stray',
      message:
        '"><img src="http://attacker.invalid/pixel.png"><link rel="stylesheet" href="https://attacker.invalid/x.css">',
    });
    const snapshot = { ...base, histories: [{ ...first!, entries: [...first!.entries, hostile] }, ...rest] };
    const report = sealReport(buildComplianceReport(snapshot, {}));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report));

    const page = await visitInChromium(file);

    expect(page.requests).toEqual([pathToFileURL(file).href]);
    // Nothing refused either: the page never even tried (a CSP refusal would be logged).
    expect(page.log.filter((l) => l.level === 'error')).toEqual([]);
    expect(page.title).toContain('Compliance report');
    expect(page.text).toContain('Summary');
    for (const hub of report.hubs) expect(page.text).toContain(hub.name);
    expect(page.text).toContain(report.integrity!.digest);
    // The hostile message is shown as text.
    expect(page.text).toContain('<img src="http://attacker.invalid/pixel.png">');
    expect(page.screenshot.subarray(0, 8)).toEqual(PNG_MAGIC);
    expect(page.screenshot.length).toBeGreaterThan(10_000);
    if (process.env.HDH_UPDATE_DOCS === '1') {
      writeFileSync(join(process.cwd(), 'docs', 'compliance-report.png'), page.top);
    }
  }, 60_000);
});
