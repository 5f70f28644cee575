/* global fetch */
// A throw-away code-server: its own user-data, extensions and config folders under one temporary
// directory, the extension installed from its VSIX, a free local port, no auth, no telemetry.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_SERVER_BIN, checkPrerequisites } from './paths.mjs';
import { RUN_ID_ENV, RUN_TAG, SESSION_TAG, spawnGroup, stopGroup } from './processes.mjs';

/** User settings of every session: no trust dialog, no welcome page, nothing that phones home. */
export const DEFAULT_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  // Each opened file gets its own tab, so a test that opens two files sees two editors.
  'workbench.editor.enablePreview': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'github.gitAuthentication': false,
  'chat.commandCenter.enabled': false,
  'files.autoSave': 'off',
  // Typed text lands exactly as typed.
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoSurround': 'never',
  'editor.formatOnType': false,
};

const START_TIMEOUT_MS = 60_000;

/** Environment without the variables that would make code-server talk to an enclosing VS Code. */
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') continue;
    env[k] = v;
  }
  return env;
}

/**
 * Start code-server with `vsix` installed; `workspaceTrust` leaves VS Code's workspace trust on
 * (by default it is off: no trust dialog, every folder trusted). Resolves once it answers HTTP; throws with its log when
 * it does not come up within `startTimeoutMs`.
 */
export async function startCodeServer({ vsix, settings = {}, env = {}, startTimeoutMs = START_TIMEOUT_MS, workspaceTrust = false } = {}) {
  checkPrerequisites();
  const root = mkdtempSync(join(tmpdir(), 'cvw-e2e-'));
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  const xdg = join(root, 'xdg');
  for (const d of [join(userDataDir, 'User'), extensionsDir, xdg]) mkdirSync(d, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2));
  // Its own config file, so nothing is read from or written to ~/.config/code-server.
  const configFile = join(root, 'config.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');

  const tag = randomUUID();
  let logText = '';
  const log = (s) => {
    logText += s;
  };
  const serverEnv = { ...cleanEnv(), XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg, [SESSION_TAG]: tag, [RUN_TAG]: process.env[RUN_ID_ENV] ?? tag, ...env };
  delete serverEnv[RUN_ID_ENV];
  const common = ['--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  if (vsix) {
    log(`$ code-server --install-extension ${vsix}\n`);
    const install = spawnGroup(process.execPath, [CODE_SERVER_BIN, ...common, '--install-extension', vsix, '--force'], { env: serverEnv, log });
    const { code } = await install.exited;
    if (code !== 0) {
      rmSync(root, { recursive: true, force: true });
      throw new Error(`e2e: installing ${vsix} into code-server failed (exit ${code}):\n${logText}`);
    }
  }

  const args = [
    ...common,
    '--auth', 'none',
    '--bind-addr', '127.0.0.1:0', // the kernel picks a free port; code-server prints it
    '--disable-telemetry',
    '--disable-update-check',
    // Workspace trust is off unless a test is about it (it then sets the trust settings too).
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--disable-file-downloads',
  ];
  log(`$ code-server ${args.join(' ')}\n`);
  const server = spawnGroup(process.execPath, [CODE_SERVER_BIN, ...args], { env: serverEnv, log });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopGroup(server.child, server.exited, tag);
  };

  let url;
  try {
    url = await waitForListening(() => logText, server.exited, startTimeoutMs);
    await waitForHealth(url, startTimeoutMs);
  } catch (err) {
    await stop();
    rmSync(root, { recursive: true, force: true });
    throw new Error(`e2e: code-server did not come up: ${err.message}\n--- code-server log ---\n${logText.slice(-8000)}`);
  }

  return {
    url,
    tag,
    root,
    userDataDir,
    extensionsDir,
    /** Everything code-server printed so far. */
    log: () => logText,
    async stop({ keepFiles = false } = {}) {
      await stop();
      if (!keepFiles) rmSync(root, { recursive: true, force: true });
    },
  };
}

async function waitForListening(getLog, exited, timeoutMs) {
  let exitInfo;
  exited.then((e) => (exitInfo = e));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = /HTTP server listening on (http:\/\/[^\s]+)/.exec(getLog());
    if (m) return m[1].endsWith('/') ? m[1] : m[1] + '/';
    if (exitInfo) throw new Error(`it exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before listening`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`it printed no "HTTP server listening on" line within ${timeoutMs / 1000} s`);
}

async function waitForHealth(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(new URL('healthz', url));
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}healthz did not answer within ${timeoutMs / 1000} s (last: ${last})`);
}
