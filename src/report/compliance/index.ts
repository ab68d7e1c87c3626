// The compliance report: a snapshot of the cluster in, a sealed document out, in JSON (with the
// schema docs/compliance-report.schema.json), Markdown or one self-contained HTML page. Pure:
// the command line reads the cluster and writes the files.
export { buildComplianceReport, REQUIRED_CONDITIONS } from './build.js';
export { canonicalJson, CANONICALIZATION, sha256Hex } from './canonical-json.js';
export { renderHtml } from './html.js';
export {
  renderJson,
  sealReport,
  signedBytes,
  verifyReport,
  type SealOptions,
  type Verification,
  type VerifyOptions,
} from './integrity.js';
export { renderMarkdown } from './markdown.js';
export * from './model.js';
