// The page's only styling, inline (the page loads nothing): readable on screen, printable on A4.
export const REPORT_CSS = `
:root { --ok: #1b7f3b; --ok-bg: #e7f5ec; --bad: #b3261e; --bad-bg: #fdecea; --warn: #8a5a00;
  --warn-bg: #fff4de; --line: #d0d7de; --muted: #57606a; --ink: #1f2328; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 24px; max-width: 1280px; }
h1 { font-size: 26px; margin: 0 0 8px; }
h2 { font-size: 20px; margin: 32px 0 12px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 17px; margin: 0 0 8px; }
h4 { font-size: 14px; margin: 16px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 16px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 140px; }
.card .n { font-size: 28px; font-weight: 700; display: block; }
.card.ok { background: var(--ok-bg); border-color: var(--ok); }
.card.bad { background: var(--bad-bg); border-color: var(--bad); }
.card.warn { background: var(--warn-bg); border-color: var(--warn); }
table { border-collapse: collapse; width: 100%; margin: 4px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top;
  overflow-wrap: break-word; }
th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-weight: 600; font-size: 12px;
  white-space: nowrap; }
.pass, .compliant { color: var(--ok); background: var(--ok-bg); }
.fail, .not-compliant, .failure { color: var(--bad); background: var(--bad-bg); }
.unknown, .warning { color: var(--warn); background: var(--warn-bg); }
article.hub { border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin: 16px 0;
  break-inside: avoid-page; }
article.hub.is-bad { border-left: 6px solid var(--bad); }
article.hub.is-ok { border-left: 6px solid var(--ok); }
.map { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.region { border: 2px solid #8c959f; border-radius: 10px; padding: 8px; background: #f6f8fa; }
.region > h3 { margin: 0 0 6px; }
.zones { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 8px; }
.zone { border: 1px dashed #8c959f; border-radius: 6px; padding: 6px; background: #fff; }
.zone > h4 { margin: 0 0 4px; text-transform: none; letter-spacing: 0; }
.zone ul { list-style: none; margin: 0; padding: 0; }
.zone li { margin: 2px 0; padding: 1px 4px; border-radius: 4px; font-size: 12px; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
nav.toc ul { columns: 3 240px; padding-left: 18px; }
footer { margin-top: 32px; border-top: 2px solid var(--line); padding-top: 8px; color: var(--muted);
  overflow-wrap: anywhere; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  nav.toc { display: none; }
  h2 { break-after: avoid; }
  .badge, .card, .zone li, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;
