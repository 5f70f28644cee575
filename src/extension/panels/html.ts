/**
 * The HTML of every panel: an empty body that the panel's bundle (dist/webview/<kind>.js) fills,
 * under a strict Content-Security-Policy — nothing but the extension's own scripts (with a fresh
 * nonce), images from the webview's resource origin (run thumbnails) and data: URIs, styles
 * adopted as constructed style sheets. No `vscode` import: the browser tests render the same page
 * around a fake host.
 */
import { randomBytes } from 'node:crypto';

export interface PanelHtmlOptions {
  title: string;
  /** `webview.cspSource`: the origin VS Code serves `asWebviewUri` resources from. */
  cspSource: string;
  /** Script URIs, in order (the panel's bundle last). */
  scripts: string[];
  /** The state the page starts from (the run it shows), read by webview/src/lib/host.ts. */
  state: unknown;
  nonce?: string;
}

/** A nonce for one page load: 128 random bits (crypto, not Math.random). */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    // Lit (vscode-elements) and the pages adopt constructed style sheets; uPlot sets element.style
    // through the CSSOM. Neither needs 'unsafe-inline'.
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function panelHtml(o: PanelHtmlOptions): string {
  const nonce = o.nonce ?? makeNonce();
  const scripts = o.scripts.map((src) => `<script nonce="${nonce}" src="${escapeHtml(src)}"></script>`).join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(o.cspSource, nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>${escapeHtml(o.title)}</title>
  </head>
  <body data-state="${escapeHtml(JSON.stringify(o.state))}">
    ${scripts}
  </body>
</html>
`;
}
