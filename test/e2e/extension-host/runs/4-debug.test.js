// Debug Training: `cvw train` under VS Code's JavaScript debugger stops at breakpoints in a custom
// module (TypeScript loaded through custom_imports) and in the toolkit's own sources.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { test } = require('../framework');
const { EXTENSION_ID, REPO_ROOT, workspacePath } = require('./helpers');

/** Start debugging, wait for the first stop; resolves to the top stack frame ({ path, line }), then ends the session. */
async function firstStop(start) {
  let tracker;
  const stopped = new Promise((resolve, reject) => {
    tracker = vscode.debug.registerDebugAdapterTrackerFactory('*', {
      createDebugAdapterTracker(session) {
        return {
          onDidSendMessage: async (m) => {
            if (m.type !== 'event' || m.event !== 'stopped') return;
            try {
              const trace = await session.customRequest('stackTrace', { threadId: m.body.threadId, startFrame: 0, levels: 1 });
              const top = trace.stackFrames[0];
              // Remote hosts (code-server) name files by vscode-remote:// URIs.
              const p = top.source && top.source.path;
              resolve({ path: p && p.includes('://') ? vscode.Uri.parse(p).fsPath : p, line: top.line, session });
            } catch (err) {
              reject(err);
            }
          },
        };
      },
    });
  });
  try {
    const started = await start();
    assert.equal(started, true, 'the debug session started');
    const stop = await Promise.race([stopped, new Promise((_, reject) => setTimeout(() => reject(new Error('no breakpoint was hit within 90 s')), 90_000))]);
    return stop;
  } finally {
    tracker.dispose();
    await vscode.debug.stopDebugging();
  }
}

test(
  'a breakpoint in a custom module (custom_imports, TypeScript) is hit at its own line',
  async () => {
    const hook = workspacePath('hooks/boom_hook.ts');
    const bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(hook), new vscode.Position(8, 0)));
    vscode.debug.addBreakpoints([bp]);
    try {
      const stop = await firstStop(() => vscode.commands.executeCommand('cvWorkbench.debugTraining', vscode.Uri.file(workspacePath('configs/boom.yaml')), { args: [] }));
      assert.equal(stop.path, hook);
      assert.equal(stop.line, 9);
    } finally {
      vscode.debug.removeBreakpoints([bp]);
    }
  },
  { timeout: 150_000 },
);

test(
  'a breakpoint in the toolkit\'s TypeScript sources is hit (through the bundled CLI\'s source map)',
  async () => {
    const source = fs.readFileSync(path.join(REPO_ROOT, 'src', 'train', 'runner.ts'), 'utf8').split('\n');
    const line = source.findIndex((l) => l.includes('this.runDir.appendMetrics('));
    assert.ok(line >= 0, 'runner.ts appends metric lines');
    // Where the bundled CLI's source map says runner.ts is (its sources are relative to the map;
    // the file need not exist: the map carries its text).
    const cliDir = path.join(vscode.extensions.getExtension(EXTENSION_ID).extensionPath, 'dist', 'cli');
    const map = JSON.parse(fs.readFileSync(path.join(cliDir, 'main.js.map'), 'utf8'));
    const rel = map.sources.find((s) => s.endsWith('src/train/runner.ts'));
    assert.ok(rel, 'the bundled CLI maps runner.ts');
    const file = path.resolve(cliDir, rel);
    const bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(file), new vscode.Position(line, 0)));
    vscode.debug.addBreakpoints([bp]);
    try {
      const stop = await firstStop(() => vscode.debug.startDebugging(vscode.workspace.workspaceFolders[0], { type: 'cvw', request: 'launch', name: 'Debug tiny', config: workspacePath('configs/tiny.yaml') }));
      assert.equal(stop.path, file);
      assert.equal(stop.line, line + 1);
    } finally {
      vscode.debug.removeBreakpoints([bp]);
    }
  },
  { timeout: 150_000 },
);
