/**
 * Panels in a real browser, without VS Code: the webview bundles (built from the sources into a
 * private folder, as scripts/bundles.mjs builds them), served from a local HTTP server inside the
 * same page VS Code would get (src/extension/panels/html.ts: strict CSP, nonce) plus
 * fixtures/fake-host.js in place of VS Code. Debian's Chromium through playwright-core (installed
 * in .e2e/ by scripts/setup-e2e.sh). Screenshots go to test-results/webview/.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { panelHtml } from '../../src/extension/panels/html';
import { tableToJson, type MetricTable } from '../../src/report/model/metrics';
// @ts-expect-error — a plain .mjs module of the e2e harness
import { CHROMIUM, playwright } from '../e2e/lib/paths.mjs';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'webview');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Build every webview bundle into a fresh folder; returns it. */
export async function buildWebviews(): Promise<string> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-webview-'));
  const { bundleOptions } = (await import(path.join(REPO_ROOT, 'scripts', 'bundles.mjs'))) as { bundleOptions: (root: string, outDir: string) => Array<{ entryPoints: string[] }> };
  const esbuild = await import('esbuild');
  const webviewSources = path.join(REPO_ROOT, 'webview', 'src') + path.sep;
  for (const b of bundleOptions(REPO_ROOT, out)) {
    if (!String(b.entryPoints?.[0] ?? '').startsWith(webviewSources)) continue;
    await esbuild.build({ ...(b as object), logLevel: 'error' });
  }
  return out;
}

export interface PanelServer {
  origin: string;
  url(kind: string, state: unknown, theme?: string): string;
  close(): Promise<void>;
}

/** Serve the bundles, the fake host, panel pages and (as /files/<abs path>) run files. */
export async function servePanels(bundleDir: string): Promise<PanelServer> {
  const fakeHost = fs.readFileSync(path.join(__dirname, 'fixtures', 'fake-host.js'));
  const pages = new Map<string, string>();
  let origin = '';
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (u.pathname === '/fake-host.js') return send(200, 'text/javascript', fakeHost);
    if (u.pathname.startsWith('/webview/')) {
      const f = path.join(bundleDir, 'webview', path.basename(u.pathname));
      return fs.existsSync(f) ? send(200, f.endsWith('.map') ? 'application/json' : 'text/javascript', fs.readFileSync(f)) : send(404, 'text/plain', 'no such bundle');
    }
    if (u.pathname.startsWith('/page/')) {
      const html = pages.get(u.pathname.slice('/page/'.length));
      return html ? send(200, 'text/html', html) : send(404, 'text/plain', 'no such page');
    }
    if (u.pathname.startsWith('/files/')) {
      const f = decodeURIComponent(u.pathname.slice('/files'.length));
      const type = f.endsWith('.png') ? 'image/png' : f.endsWith('.jpg') ? 'image/jpeg' : 'application/octet-stream';
      return fs.existsSync(f) ? send(200, type, fs.readFileSync(f)) : send(404, 'text/plain', 'no such file');
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let n = 0;
  return {
    origin,
    url(kind, state, theme = 'dark') {
      const id = `${kind}-${++n}`;
      pages.set(id, panelHtml({ title: `CV Workbench ${kind}`, cspSource: origin, scripts: [`${origin}/fake-host.js`, `${origin}/webview/${kind}.js`], state }));
      return `${origin}/page/${id}?theme=${theme}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Chromium (headless, fresh profile). */
export async function launchChromium(): Promise<any> {
  // playwright-core lives in .e2e/ (a test tool, not a dependency), so it is not typed here.
  const { chromium } = playwright() as { chromium: { launch(o: object): Promise<any> } };
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** A message as JSON for window.__send (typed columns as arrays with null for NaN). */
export function jsonMessage(msg: unknown): unknown {
  return JSON.parse(
    JSON.stringify(msg, (_k, v: unknown) => {
      if (v && typeof v === 'object' && 'columns' in (v as object) && 'split' in (v as object)) return tableToJson(v as MetricTable);
      return v;
    }),
  );
}

export async function screenshot(page: { screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown> }, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
