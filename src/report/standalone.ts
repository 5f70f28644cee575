/**
 * A run report as one standalone HTML file: the report page's bundle inlined (nonce'd), the data
 * embedded as JSON, the images as data: URIs — no network, no VS Code, the same strict CSP. Open
 * it in any browser, attach it to a mail, put it in a wiki.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { realFileInside, refuseLinks } from './insideDir';
import { tableToJson, type MetricTableJson } from './model/metrics';
import { REPORT_DIR, type ReportData } from './model/report';
import { readReportData } from './runFiles';
import { readRegularFile } from '../core/boundedRead';
import { writeAtomic } from '../rundir/atomic';

/** What a standalone page embeds: the report with its tables as plain JSON. */
export type EmbeddedReport = Omit<ReportData, 'tables'> & { tables: MetricTableJson[] };

const MIME: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif' };

/** An image a page embeds is at most this large (`cvw report`'s are a few hundred KiB). */
const MAX_IMAGE_BYTES = 16 << 20;

/** The image as a data: URI; undefined when it is not a regular file of at most MAX_IMAGE_BYTES. */
export function dataUri(file: string): string | undefined {
  const mime = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  try {
    return `data:${mime};base64,${readRegularFile(file, { what: 'report image', maxBytes: MAX_IMAGE_BYTES }).toString('base64')}`;
  } catch {
    return undefined;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside <script>: no `</script>`, no `<!--`. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The HTML of a report; `bundle` is dist/webview/report.js's text. */
export function standaloneReportHtml(report: ReportData, bundle: string): string {
  const nonce = randomBytes(16).toString('base64');
  const embedded: EmbeddedReport = { ...report, tables: report.tables.map(tableToJson) };
  const title = `${report.summary.configStem} ${report.summary.id} — CV Workbench report`;
  const csp = `default-src 'none'; img-src data:; script-src 'nonce-${nonce}'`;
  // `</script` cannot appear inside the inline bundle; `<\/script` means the same in JS.
  const js = bundle.replace(/<\/script/gi, '<\\/script').replace(/\/\/# sourceMappingURL=.*$/m, '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="CV Workbench">
<title>${escapeHtml(title)}</title>
</head>
<body data-standalone="1">
<script type="application/json" id="cvw-data">${scriptJson(embedded)}</script>
<script nonce="${nonce}">${js}</script>
</body>
</html>
`;
}

/**
 * Write `<run>/report/report.html` (or `out`) from the run's files; returns the path. Only files
 * inside the run directory are embedded: report.json is data, and a name in it such as
 * `/etc/hostname`, `../../x` or a symlink that points out would otherwise put that file in a page
 * meant to be mailed around.
 */
export function writeStandaloneReport(dir: string, bundleFile: string, out?: string): string {
  const report = readReportData(dir, (rel) => {
    const file = realFileInside(dir, rel);
    return file && dataUri(file);
  });
  const html = standaloneReportHtml(report, fs.readFileSync(bundleFile, 'utf8'));
  const file = path.resolve(out ?? path.join(dir, REPORT_DIR, 'report.html'));
  // Into the run (the default, and the save dialog's): through none of its links. The file
  // itself is replaced, never written through (a link planted as report.html stays a link).
  const inRun = path.relative(path.resolve(dir), path.dirname(file));
  if (!inRun.startsWith('..') && !path.isAbsolute(inRun)) refuseLinks(dir, inRun ? inRun.split(path.sep) : []);
  writeAtomic(file, [html]);
  return file;
}
