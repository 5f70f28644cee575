/* global document */ // used only inside functions that run in the page
// End-to-end harness: the packaged extension in a real VS Code (code-server 4.100.3) driven from
// Debian's Chromium with playwright-core. See README "End-to-end tests".
//
//   import { withVSCode } from './harness.mjs';
//   await withVSCode({ name: 'diagnostics', workspace: fixture('basic') }, async (vs) => {
//     await vs.openFile('configs/bad.yaml');
//     const problems = await vs.waitForProblems((ps) => ps.length > 0);
//   });
//
// Two layers:
//   - UI tests (`withVSCode` / `launchVSCode`): click and type like a person; every helper saves a
//     screenshot of the step under test-results/<name>/.
//   - extension-host tests (`runExtensionHostTests`): a suite that calls the VS Code API from
//     inside the extension host, through VS Code's own web test harness (the payload
//     `extensionDevelopmentPath` + `extensionTestsPath`; the exit code arrives through
//     `window.codeAutomationExit`).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { startCodeServer } from './lib/codeServer.mjs';
import { bundleCli, CLI_ENV, packageExtension } from './lib/packaging.mjs';
import { CHROMIUM, REPO_ROOT, RESULTS_DIR, playwright } from './lib/paths.mjs';
import { RUN_ID_ENV, RUN_TAG, SESSION_TAG, killTagged } from './lib/processes.mjs';

export { REPO_ROOT, RESULTS_DIR } from './lib/paths.mjs';
export { bundleCli, packageExtension } from './lib/packaging.mjs';

/** Environment variable naming the file where the extension-host framework writes its results. */
export const RESULTS_ENV = 'CVW_E2E_RESULTS';

/** The extension's id (publisher.name) as VS Code knows it. */
export const EXTENSION_ID = (() => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  return `${pkg.publisher}.${pkg.name}`;
})();

/** Chromium's flags on these machines (ENVIRONMENT.md); playwright adds --headless and a fresh profile. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A fixture workspace folder under test/e2e/fixtures. */
export function fixture(name) {
  return join(REPO_ROOT, 'test', 'e2e', 'fixtures', name);
}

function slug(s) {
  return String(s).replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'step';
}

/** A temporary copy of `workspace` (a folder to copy, or { 'rel/path': text }); tests may change it freely. */
function makeWorkspace(workspace) {
  // Named after the fixture, so that screenshots show a meaningful folder name.
  const dir = join(mkdtempSync(join(tmpdir(), 'cvw-e2e-ws-')), typeof workspace === 'string' ? basename(workspace) : 'workspace');
  mkdirSync(dir);
  if (typeof workspace === 'string') cpSync(workspace, dir, { recursive: true });
  else if (workspace) {
    for (const [rel, text] of Object.entries(workspace)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
  }
  return dir;
}

/** Kill what a crashed test process left running (vitest workers exit without our finally blocks). */
function guardExit(tags) {
  const handler = () => {
    for (const t of tags()) killTagged(SESSION_TAG, t);
  };
  process.on('exit', handler);
  return () => process.off('exit', handler);
}

async function launchBrowser(tag) {
  const { chromium } = playwright();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, [SESSION_TAG]: tag, [RUN_TAG]: process.env[RUN_ID_ENV] ?? tag },
  });
}

/** Remote URI of a path on the server's machine, as the workbench of `url` names it. */
function remoteUri(url, path) {
  return `vscode-remote://${new URL(url).host}${path}`;
}

/**
 * Start code-server with the packaged extension, Chromium, and the workbench on `workspace`.
 * Options: name (results folder), workspace (folder to copy or { path: text }), settings (user
 * settings), env (for code-server and the extension host), viewport, screenshots (default true),
 * payload (extra [key, value] pairs for the workbench URL), navigate (default true: load the
 * workbench and wait for it), workspaceTrust (default false: VS Code's workspace trust is off;
 * true leaves it to the settings `security.workspace.trust.*`).
 * Resolves to a session (see VSCodeSession); call `close()` when done.
 */
export async function launchVSCode(options = {}) {
  const name = slug(options.name ?? 'session');
  const resultsDir = join(RESULTS_DIR, name);
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  const workspace = makeWorkspace(options.workspace);
  const vsix = options.vsix ?? (await packageExtension());
  let server;
  let browser;
  const tags = [];
  const unguard = guardExit(() => tags);
  try {
    server = await startCodeServer({ vsix, settings: options.settings, env: options.env, startTimeoutMs: options.startTimeoutMs, workspaceTrust: options.workspaceTrust });
    tags.push(server.tag);
    browser = await launchBrowser(server.tag);
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1600, height: 1000 } });
    // A reload with unsaved editors asks "leave the page?": yes (VS Code keeps them as backups).
    page.on('dialog', (d) => (d.type() === 'beforeunload' ? d.accept() : d.dismiss()).catch(() => undefined));
    const session = new VSCodeSession({ name, resultsDir, workspace, server, browser, page, screenshots: options.screenshots !== false, unguard });
    if (options.navigate !== false) await session.open(options.payload);
    return session;
  } catch (err) {
    await browser?.close().catch(() => undefined);
    if (server) {
      writeFileSync(join(resultsDir, 'code-server.log'), server.log());
      await server.stop();
    }
    rmSync(dirname(workspace), { recursive: true, force: true });
    unguard();
    throw err;
  }
}

/** `launchVSCode(options)`, run `fn(session)`, and always close; a failure saves a screenshot and the logs. */
export async function withVSCode(options, fn) {
  const vs = await launchVSCode(options);
  let failed = false;
  try {
    return await fn(vs);
  } catch (err) {
    failed = true;
    await vs.screenshot('failure').catch(() => undefined);
    throw err;
  } finally {
    await vs.close({ keepLogs: true, failed });
  }
}

/**
 * The extension-host layer: start VS Code with `extensionTestsPath` = `suite` (a CommonJS module
 * exporting `run(): Promise<void>`, loaded inside the extension host with the installed extension
 * as the development extension) and wait for its exit code.
 * The suite's framework (extension-host/framework.js) writes each test's outcome to the file named
 * by $CVW_E2E_RESULTS. Resolves to { exitCode, results: [{ name, ok, error, ms }], console: lines
 * the extension host printed, resultsDir }.
 */
export async function runExtensionHostTests({ name = 'extension-host', suite, workspace, settings, env = {}, timeoutMs = 180_000 }) {
  const suitePath = isAbsolute(suite) ? suite : join(REPO_ROOT, suite);
  const resultsFile = join(RESULTS_DIR, slug(name), 'results.json');
  // The suite may compare with the CLI: $CVW_E2E_CLI names a runnable `cvw`.
  const suiteEnv = { [CLI_ENV]: await bundleCli(), ...env, [RESULTS_ENV]: resultsFile };
  const vs = await launchVSCode({ name, workspace, settings, env: suiteEnv, screenshots: false, navigate: false });
  const consoleLines = [];
  try {
    let resolveExit;
    const exit = new Promise((resolve) => (resolveExit = resolve));
    await vs.page.exposeFunction('codeAutomationExit', (code, logs) => resolveExit({ code, logs: logs ?? [] }));
    vs.page.on('console', (m) => {
      // The extension host's console is forwarded to the page as "[Extension Host] ..." messages.
      const text = m.text();
      if (text.includes('[Extension Host]')) consoleLines.push(text.replace(/%c/g, '').replace(/\s*color: [^ ]+\s*/g, ' ').trim());
    });
    const devPath = join(vs.server.extensionsDir, installedFolder(vs.server.extensionsDir));
    const payload = [
      ['extensionDevelopmentPath', remoteUri(vs.server.url, devPath)],
      ['extensionTestsPath', remoteUri(vs.server.url, suitePath)],
    ];
    await vs.page.goto(vs.workbenchUrl(payload));
    let timer;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`extension-host tests did not finish within ${timeoutMs / 1000} s (see ${vs.resultsDir})`)), timeoutMs)));
    const { code, logs } = await Promise.race([exit, timeout]).finally(() => clearTimeout(timer));
    for (const l of logs) {
      const target = join(vs.resultsDir, 'logs', l.relativePath);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, l.contents);
    }
    writeFileSync(join(vs.resultsDir, 'extension-host-console.log'), consoleLines.join('\n') + '\n');
    let results = [];
    try {
      results = JSON.parse(readFileSync(resultsFile, 'utf8'));
    } catch {
      // the suite died before writing them; the exit code and console say why
    }
    return { exitCode: code, results, console: consoleLines, resultsDir: vs.resultsDir };
  } finally {
    await vs.close({ keepLogs: true });
  }
}

function installedFolder(extensionsDir) {
  const prefix = EXTENSION_ID.toLowerCase() + '-';
  const found = readdirSync(extensionsDir).find((d) => d.toLowerCase().startsWith(prefix) && statSync(join(extensionsDir, d)).isDirectory());
  if (!found) throw new Error(`e2e: ${EXTENSION_ID} is not installed in ${extensionsDir}`);
  return found;
}

/** One VS Code window in Chromium, with helpers that act like a person and screenshot each step. */
export class VSCodeSession {
  constructor({ name, resultsDir, workspace, server, browser, page, screenshots, unguard }) {
    this.name = name;
    this.resultsDir = resultsDir;
    /** Absolute path of the temporary workspace folder (on the same machine as the test). */
    this.workspace = workspace;
    this.server = server;
    this.browser = browser;
    /** The playwright Page of the workbench. */
    this.page = page;
    this.screenshots = screenshots;
    this.step = 0;
    this.unguard = unguard;
    this.closed = false;
  }

  /** URL of the workbench on the workspace, with optional payload pairs. */
  workbenchUrl(payload) {
    const u = new URL(this.server.url);
    u.searchParams.set('folder', this.workspace);
    if (payload?.length) u.searchParams.set('payload', JSON.stringify(payload));
    return u.toString();
  }

  async open(payload) {
    await this.page.goto(this.workbenchUrl(payload));
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
    // The explorer lists the workspace once the remote file system answers.
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    await this.screenshot('workbench');
  }

  /** Absolute path of a workspace file. */
  path(rel) {
    return join(this.workspace, rel);
  }

  /** Save a screenshot as test-results/<name>/<NN>-<label>.png; returns its path. */
  async screenshot(label) {
    if (!this.screenshots && label !== 'failure') return undefined;
    this.step++;
    const file = join(this.resultsDir, `${String(this.step).padStart(2, '0')}-${slug(label)}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Open a workspace file through Quick Open (Ctrl+P), as a person would; waits for its editor. */
  async openFile(rel) {
    const { page } = this;
    const name = basename(rel);
    const dir = dirname(rel) === '.' ? '' : dirname(rel);
    await page.keyboard.press('Control+P');
    await this.quickInputFocused();
    await page.keyboard.type(rel);
    // File search runs on the server; wait for the row of exactly this file.
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({
      has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }),
    }).filter(dir ? { has: page.locator('.label-description', { hasText: new RegExp(`^${escapeRegExp(dir)}$`) }) } : {});
    await row.first().waitFor({ timeout: 30_000 });
    await row.first().click();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await this.activeTab(name);
    await page.locator('.editor-instance .monaco-editor').first().waitFor({ state: 'visible' });
    // Just after a window reload the tab can be active before its text is shown, and keys typed
    // then (Go to Line) are lost: wait for the active group's editor to render its lines.
    await page.locator('.editor-group-container.active .monaco-editor .view-lines .view-line').first().waitFor({ timeout: 15_000 }).catch(() => undefined);
    await this.screenshot(`open-${rel}`);
  }

  /**
   * The entries of the explorer's context menu on the workspace file `rel`, as a person sees them
   * on a right-click (the file is opened and revealed first, so that its row is in view).
   */
  async explorerMenu(rel) {
    const { page } = this;
    await this.openFile(rel);
    await this.runCommand('File: Reveal Active File in Explorer View');
    const row = page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: basename(rel) });
    await row.waitFor({ timeout: 15_000 });
    await row.click({ button: 'right' });
    const menu = page.locator('.context-view .monaco-menu');
    await menu.waitFor({ timeout: 10_000 });
    await this.screenshot(`explorer-menu-${rel}`);
    const labels = (await menu.locator('.action-label').allTextContents()).map((t) => t.trim()).filter(Boolean);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    return labels;
  }

  /** Waits until the active editor tab is `label`. */
  async activeTab(label) {
    await this.page.locator('.tabs-container .tab.active', { has: this.page.locator('.label-name', { hasText: label }) }).first().waitFor({ timeout: 30_000 });
  }

  /** Open the command palette and type `filter`; returns the titles listed (closes the palette). */
  async paletteCommands(filter) {
    const { page } = this;
    await this.openPalette();
    await page.keyboard.type(filter);
    // Results update as one types; wait for the list to settle on rows matching the filter.
    await page.waitForTimeout(300);
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await rows.first().waitFor({ timeout: 10_000 }).catch(() => undefined);
    // The list is virtual: only the rows in view exist. Page down until no new title appears.
    const titles = [];
    for (let round = 0, idle = 0; round < 50 && idle < 3; round++) {
      const visible = await rows.evaluateAll((els) => els.map((e) => e.querySelector('.label-name')?.textContent ?? ''));
      const fresh = visible.filter((t) => !titles.includes(t));
      idle = fresh.length ? 0 : idle + 1;
      titles.push(...fresh);
      await page.keyboard.press('PageDown');
      await page.waitForTimeout(200);
    }
    await this.screenshot(`palette-${filter}`);
    await page.keyboard.press('Escape');
    return titles;
  }

  async openPalette() {
    await this.page.keyboard.press('F1');
    await this.quickInputFocused();
  }

  /**
   * Waits until the quick input (palette, Quick Open, Go to Line) is shown AND has the keyboard
   * focus: it receives focus a moment after it appears, and keys typed in between would land in
   * the editor.
   */
  async quickInputFocused() {
    await this.page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible' });
    await this.page.waitForFunction(() => document.activeElement?.matches('.quick-input-widget .quick-input-box input') === true);
  }

  /** Waits until an editor has the keyboard focus (after a quick input closed). */
  async editorFocused({ timeout = 10_000 } = {}) {
    try {
      await this.page.waitForFunction(() => document.activeElement?.closest('.editor-instance .monaco-editor') != null, undefined, { timeout });
    } catch {
      await this.screenshot('no-editor-focus');
      throw new Error('no editor has the keyboard focus: open a file (openFile) or move the cursor (goTo) first');
    }
  }

  /**
   * Run a command by its palette title ("CV Workbench: Validate Config"): F1, type, click the exact
   * row. For a command that asks something in a quick pick, pass `{ opensQuickPick: true }` and
   * answer with `pick(label)`.
   */
  async runCommand(title, { opensQuickPick = false, timeout = 45_000, attempt = 1 } = {}) {
    const { page } = this;
    const row = this.quickPickRow(title);
    // The palette lists what is registered when one types: an extension's commands that arrive a
    // moment later (just after start-up) only show when the palette is opened again.
    const deadline = Date.now() + timeout;
    for (;;) {
      await this.openPalette();
      await page.keyboard.type(title);
      const found = await row.waitFor({ timeout: 5_000 }).then(() => true, () => false);
      if (found) break;
      if (Date.now() > deadline) {
        const seen = await page.locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name').allTextContents();
        await this.screenshot(`command-missing-${title}`);
        throw new Error(`command "${title}" is not in the palette (rows: ${JSON.stringify(seen)})`);
      }
      await page.keyboard.press('Escape');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    }
    await row.click();
    if (opensQuickPick) {
      // The palette's input starts with ">"; the command's own quick pick replaces it.
      await page.waitForFunction(() => !document.querySelector('.quick-input-widget .quick-input-box input')?.value.startsWith('>'));
      // A quick pick closes when it loses focus: a webview that restores itself just after a
      // reload takes the focus and the pick is gone (one full CI run). Ask again if that happened.
      await page.waitForTimeout(500);
      if (!(await page.locator('.quick-input-widget .quick-input-box input').isVisible())) {
        if (attempt >= 3) throw new Error(`the quick pick of "${title}" closed as it opened, ${attempt} times`);
        return this.runCommand(title, { opensQuickPick, timeout, attempt: attempt + 1 });
      }
    } else {
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    }
    await this.screenshot(`command-${title}`);
  }

  /** The quick pick row whose label is exactly `label`. */
  quickPickRow(label) {
    return this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }) })
      .first();
  }

  /**
   * Tick the checkbox of a multi-select quick pick's row. A click that did not tick it (the list
   * redrawn under it: once in a full CI run, so Compare Runs opened nothing) is made again.
   */
  async tickQuickPickRow(label) {
    const row = this.quickPickRow(label);
    await row.waitFor({ timeout: 15_000 });
    const box = row.locator('.quick-input-list-checkbox, input[type=checkbox], .monaco-checkbox, .monaco-custom-toggle').first();
    const ticked = () => row.evaluate((el) => el.getAttribute('aria-checked') === 'true' || !!el.querySelector('input[type=checkbox]:checked, .monaco-custom-toggle.checked, .monaco-checkbox.checked, [aria-checked="true"]'));
    await box.click();
    for (let i = 0; i < 10 && !(await ticked()); i++) {
      await this.page.waitForTimeout(300);
      if (i === 4) await box.click();
    }
    if (!(await ticked())) throw new Error(`the quick pick row "${label}" did not tick`);
  }

  /** Answer the open quick pick: type `label`, click its row. */
  async pick(label) {
    await this.quickInputFocused();
    await this.page.keyboard.type(label);
    const row = this.quickPickRow(label);
    await row.waitFor({ timeout: 15_000 });
    await row.click();
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  }

  /** Show the Problems panel (Ctrl+Shift+M) unless it is visible. */
  async showProblems() {
    const panel = this.page.locator('.markers-panel');
    if (!(await panel.isVisible())) {
      await this.page.keyboard.press('Control+Shift+M');
      await panel.waitFor({ state: 'visible' });
    }
  }

  /**
   * The Problems panel's rows: [{ file (relative to the workspace), severity, message, source,
   * code, line, column }] with 1-based line and column as the panel prints them. Only rows the
   * panel renders are read (its list is virtual): keep fixtures to a screenful of problems.
   */
  async problems({ screenshot = true } = {}) {
    await this.showProblems();
    const rows = await this.page.locator('.markers-panel .monaco-list-row').evaluateAll((els) =>
      els
        .map((e) => ({
          index: Number(e.getAttribute('data-index')),
          file: e.querySelector('.resource-label-container .monaco-icon-label')?.getAttribute('aria-label') ?? null,
          severity: ['error', 'warning', 'info'].find((s) => e.querySelector(`.marker-icon.${s}`)) ?? null,
          message: e.querySelector('.marker-message')?.textContent ?? null,
          source: e.querySelector('.marker-source')?.textContent ?? null,
          code: e.querySelector('.marker-code')?.textContent ?? null,
          where: e.querySelector('.marker-line')?.textContent ?? null,
        }))
        .sort((a, b) => a.index - b.index),
    );
    const out = [];
    let file = null;
    for (const r of rows) {
      if (r.file) {
        file = r.file;
        continue;
      }
      if (r.message === null) continue;
      const m = /Ln (\d+), Col (\d+)/.exec(r.where ?? '');
      out.push({
        file: file && file.startsWith(this.workspace + '/') ? relative(this.workspace, file) : file,
        severity: r.severity,
        message: r.message,
        source: r.source,
        code: r.code,
        line: m ? Number(m[1]) : null,
        column: m ? Number(m[2]) : null,
      });
    }
    if (screenshot) await this.screenshot('problems');
    return out;
  }

  /** Poll the Problems panel until `predicate(problems)` holds; returns them, or throws with the last seen. */
  async waitForProblems(predicate, { timeout = 20_000 } = {}) {
    const deadline = Date.now() + timeout;
    let last = [];
    for (;;) {
      last = await this.problems({ screenshot: false });
      if (predicate(last)) {
        await this.screenshot('problems');
        return last;
      }
      if (Date.now() > deadline) {
        await this.screenshot('problems-timeout');
        throw new Error(`the Problems panel did not reach the expected state within ${timeout / 1000} s; it shows ${JSON.stringify(last, null, 1)}`);
      }
      await this.page.waitForTimeout(250);
    }
  }

  /** Texts of the visible notification toasts. */
  async notifications() {
    return this.page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allTextContents();
  }

  /** Wait for a notification whose text contains `text` (string or RegExp); returns its text. */
  async waitForNotification(text, { timeout = 20_000 } = {}) {
    const toast = this.page.locator('.notifications-toasts .notification-list-item-message', { hasText: text }).first();
    await toast.waitFor({ timeout });
    await this.page.waitForTimeout(400); // let the toast's fade-in finish before the screenshot
    await this.screenshot('notification');
    return toast.textContent();
  }

  /** The visible text of an output channel (Output panel, channel chosen as a person would). */
  async outputChannel(channel) {
    const { page } = this;
    await this.runCommand('Output: Show Output Channels...', { opensQuickPick: true });
    await this.pick(channel);
    const lines = page.locator('.panel .output-view .view-lines');
    await lines.waitFor({ state: 'visible' });
    await page.waitForTimeout(300); // the editor renders the channel's text in the next frames
    await this.screenshot(`output-${channel}`);
    // Monaco renders spaces as U+00A0 and only the lines in view.
    const text = await lines.evaluate((el) =>
      [...el.querySelectorAll('.view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map((l) => l.textContent)
        .join('\n'),
    );
    return text.replace(/\u00a0/g, ' ');
  }

  /** Dismiss every notification (so that later waits see only new ones). */
  async clearNotifications() {
    await this.runCommand('Notifications: Clear All Notifications');
  }

  /** Move the cursor of the active editor to a 1-based line and column (Ctrl+G). */
  async goTo(line, column = 1) {
    await this.page.keyboard.press('Control+G');
    await this.quickInputFocused();
    await this.page.keyboard.type(`${line}:${column}`);
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await this.editorFocused();
  }

  /** Type into the active editor at the cursor, like a person. */
  async type(text) {
    await this.editorFocused();
    await this.page.keyboard.type(text);
    await this.screenshot(`typed-${text}`);
  }

  /**
   * The aria-labels of the side bar's tree rows, top to bottom as shown. The lists reuse row
   * elements, so their order in the page is not the order on screen: sorted by position.
   */
  async sidebarRows() {
    return this.page.locator('.part.sidebar .monaco-list-row').evaluateAll((els) =>
      els
        .map((e) => ({ top: e.getBoundingClientRect().top, label: e.getAttribute('aria-label') ?? '' }))
        .sort((a, b) => a.top - b.top)
        .map((r) => r.label),
    );
  }

  /** Texts of the status bar items, left to right (e.g. "Ln 4, Col 17"). */
  async statusBarItems() {
    return (await this.page.locator('.part.statusbar .statusbar-item').evaluateAll((els) => els.map((e) => e.textContent?.trim() ?? ''))).filter(Boolean);
  }

  /**
   * Trigger completion at the cursor (Ctrl+Space) and return the labels offered ([] for "No
   * suggestions."); closes the list. A Ctrl+Space that opened nothing (the key lost while the
   * workbench was still settling: once in a full CI run) is pressed again, up to three times.
   */
  async suggestions() {
    const { page } = this;
    const widget = page.locator('.editor-widget.suggest-widget.visible');
    const rows = widget.locator('.monaco-list-row');
    const none = widget.locator('.message', { hasText: 'No suggestions' });
    for (let attempt = 1; ; attempt++) {
      await this.editorFocused();
      await page.keyboard.press('Control+Space');
      try {
        await rows.first().or(none).waitFor({ timeout: 10_000 });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
        await page.keyboard.press('Escape');
      }
    }
    await this.screenshot('suggestions');
    const labels = (await none.isVisible())
      ? []
      : await rows.evaluateAll((els) =>
          els
            .sort((a, b) => Number(a.getAttribute('data-index')) - Number(b.getAttribute('data-index')))
            .map((e) => e.querySelector('.monaco-icon-label .label-name')?.textContent ?? e.getAttribute('aria-label') ?? ''),
        );
    await page.keyboard.press('Escape');
    return labels;
  }

  /** Reload the window (webview panels, editors and views are restored by VS Code and the extension). */
  async reload() {
    await this.page.reload();
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    await this.screenshot('reloaded');
  }

  /**
   * The content frame of the webview titled `title` (its panel's title): VS Code hosts each webview
   * in `iframe.webview.ready`, whose `#active-frame` holds the extension's HTML.
   */
  async webviewFrame(title, { timeout = 20_000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      for (const outer of await this.page.locator('iframe.webview.ready').elementHandles()) {
        // A webview being loaded again (shown after it was hidden) detaches its old frames while
        // we look: such a frame is skipped, and the new one found on the next round.
        const frame = await (async () => {
          const outerFrame = await outer.contentFrame();
          const inner = outerFrame && (await outerFrame.$(`iframe#active-frame[title="${title.replace(/"/g, '\\"')}"]`));
          const found = inner && (await inner.contentFrame());
          if (found) await found.waitForLoadState('domcontentloaded');
          return found;
        })().catch((e) => {
          if (/detached/i.test(String(e))) return undefined;
          throw e;
        });
        if (frame && !frame.isDetached()) return frame;
      }
      if (Date.now() > deadline) {
        await this.screenshot(`webview-missing-${title}`);
        throw new Error(`no webview titled "${title}" within ${timeout / 1000} s`);
      }
      await this.page.waitForTimeout(200);
    }
  }

  /** Stop the browser and code-server (all their processes), keep screenshots and logs. */
  async close({ keepLogs = true } = {}) {
    if (this.closed) return;
    this.closed = true;
    await this.browser.close().catch(() => undefined);
    if (keepLogs) {
      writeFileSync(join(this.resultsDir, 'code-server.log'), this.server.log());
      try {
        cpSync(join(this.server.userDataDir, 'logs'), join(this.resultsDir, 'vscode-logs'), { recursive: true });
      } catch {
        // no logs written
      }
    }
    await this.server.stop();
    rmSync(dirname(this.workspace), { recursive: true, force: true });
    this.unguard();
  }
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export { RUN_TAG, SESSION_TAG };
