/**
 * Live diagnostics for configs: the very validator of `cvw validate` (`checkConfig` from
 * src/core), fed with the editor's unsaved buffers, so the editor shows the same messages at the
 * same positions as the CLI — as the user types (debounced), and again for every open config that
 * inherits from a base file when that base changes (in an editor or on disk).
 *
 * A problem is shown in the file that wrote the bad value, exactly as the CLI names it: a mistake
 * in `_base_/runtime.yaml` appears under that file, whichever config pulled it in.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkConfig } from '../../core/check';
import { customImportFiles } from '../../core/customImports';
import { COMMAND_LINE, type Problem, type Severity } from '../../core/problems';
import { isConfigDocument } from '../configDocuments';
import { CONFIG_FILE_PATTERN } from '../configDetection';
import { ensureRegistry } from '../registry';
import { trustCheckOptions } from '../trust';

/** Typing pauses shorter than this do not trigger a check. */
export const DIAGNOSTICS_DELAY_MS = 300;
export const DIAGNOSTIC_SOURCE = 'cvw';

export interface DiagnosticsOptions {
  /** Where internal failures of the checker are written (the extension's output channel). */
  log?: (line: string) => void;
  delayMs?: number;
}

export interface ConfigDiagnostics {
  /**
   * Check a config now and publish its problems; `keep` keeps them after its editor closes (for
   * explicit "Validate" commands). Returns every problem, in any file, as `cvw validate` would.
   */
  checkNow(file: string, options?: { keep?: boolean }): Problem[];
  /** Resolves when no check is pending (tests and commands that want settled diagnostics). */
  settled(): Promise<void>;
}

/** What one checked config (an "entry") contributed, and what it depends on. */
interface Entry {
  problems: Problem[];
  /** The entry and every base file it read. */
  files: Set<string>;
  /** Modules its `custom_imports` load. */
  customModules: Set<string>;
  /** Files it could not find (a `_base_` not yet created): their creation re-checks it. */
  missing: boolean;
  /** Checked by a command rather than because it is open: kept when its editor closes. */
  kept: boolean;
}

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

export function toDiagnostic(p: Problem): vscode.Diagnostic {
  const { start, end } = p.range;
  const d = new vscode.Diagnostic(new vscode.Range(start.line, start.character, end.line, end.character), p.message, SEVERITY[p.severity]);
  d.source = DIAGNOSTIC_SOURCE;
  if (p.code) d.code = p.code;
  return d;
}

export function registerDiagnostics(context: vscode.ExtensionContext, options: DiagnosticsOptions = {}): ConfigDiagnostics {
  const delay = options.delayMs ?? DIAGNOSTICS_DELAY_MS;
  const log = options.log ?? (() => undefined);
  const collection = vscode.languages.createDiagnosticCollection('cv-workbench');
  context.subscriptions.push(collection);

  const entries = new Map<string, Entry>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** What each file currently shows, as a signature, so unchanged files are not re-published. */
  const published = new Map<string, string>();
  let idleWaiters: Array<() => void> = [];

  const openText = (): Map<string, string> => {
    const texts = new Map<string, string>();
    for (const d of vscode.workspace.textDocuments) if (d.uri.scheme === 'file') texts.set(d.uri.fsPath, d.getText());
    return texts;
  };

  function check(file: string, keep: boolean): Problem[] {
    const texts = openText();
    let problems: Problem[];
    let entry: Entry;
    try {
      ensureRegistry();
      const result = checkConfig(file, { readText: (f) => texts.get(f), ...trustCheckOptions() });
      problems = result.problems;
      entry = {
        problems,
        files: new Set([file, ...result.loaded.files]),
        customModules: new Set(customImportFiles(result.loaded).map((m) => m.file)),
        missing: problems.some((p) => p.code === 'file-not-found'),
        kept: keep || (entries.get(file)?.kept ?? false),
      };
    } catch (err) {
      // A bug in a validator must not take the editor down with it; the message goes to the output.
      log(`internal error while checking ${file}: ${(err as Error).stack ?? String(err)}`);
      problems = [];
      entry = { problems, files: new Set([file]), customModules: new Set(), missing: false, kept: keep };
    }
    entries.set(file, entry);
    return problems;
  }

  function publish(): void {
    const byFile = new Map<string, Problem[]>();
    const seen = new Set<string>();
    for (const entry of entries.values()) {
      for (const p of entry.problems) {
        if (p.file === COMMAND_LINE) continue;
        const key = `${p.file}:${p.range.start.line}:${p.range.start.character}:${p.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        (byFile.get(p.file) ?? byFile.set(p.file, []).get(p.file)!).push(p);
      }
    }
    for (const file of published.keys()) {
      if (byFile.has(file)) continue;
      collection.delete(vscode.Uri.file(file));
      published.delete(file);
    }
    for (const [file, problems] of byFile) {
      const signature = JSON.stringify(problems.map((p) => [p.range, p.message, p.severity]));
      if (published.get(file) === signature) continue;
      collection.set(vscode.Uri.file(file), problems.map(toDiagnostic));
      published.set(file, signature);
    }
  }

  /** Re-check `file` (when it is a config we follow) and every followed config that reads it. */
  function recheckAround(file: string): void {
    if (entries.has(file) || isOpenConfig(file)) check(file, false);
    for (const [entryFile, entry] of entries) {
      if (entryFile !== file && (entry.files.has(file) || entry.customModules.has(file))) check(entryFile, false);
    }
    publish();
  }

  function isOpenConfig(file: string): boolean {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
    return !!doc && isConfigDocument(doc);
  }

  function schedule(file: string, ms = delay): void {
    clearTimeout(timers.get(file));
    timers.set(
      file,
      setTimeout(() => {
        timers.delete(file);
        try {
          recheckAround(file);
        } finally {
          notifyIfIdle();
        }
      }, ms),
    );
  }

  function notifyIfIdle(): void {
    if (timers.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  /** True when a change to `file` matters to some followed config. */
  function isFollowed(file: string): boolean {
    if (entries.has(file)) return true;
    for (const entry of entries.values()) if (entry.files.has(file) || entry.customModules.has(file)) return true;
    return false;
  }

  function forget(file: string): void {
    const entry = entries.get(file);
    if (!entry || entry.kept) return;
    entries.delete(file);
    clearTimeout(timers.get(file));
    timers.delete(file);
    publish();
    notifyIfIdle();
  }

  const onOpen = (doc: vscode.TextDocument) => {
    if (isConfigDocument(doc)) schedule(doc.uri.fsPath, 0);
  };

  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument(onOpen),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.scheme !== 'file' || e.contentChanges.length === 0) return;
      const file = e.document.uri.fsPath;
      if (isFollowed(file) || isConfigDocument(e.document)) schedule(file);
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      if (doc.uri.scheme !== 'file') return;
      forget(doc.uri.fsPath);
      // The closed buffer may have held unsaved text that other configs were checked against.
      if (isFollowed(doc.uri.fsPath)) schedule(doc.uri.fsPath, 0);
    }),
    // Trust granted: the custom modules may load now; check every followed and open config again.
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      for (const file of entries.keys()) schedule(file, 0);
      for (const doc of vscode.workspace.textDocuments) onOpen(doc);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('cvWorkbench.configGlob')) return;
      for (const doc of vscode.workspace.textDocuments) {
        if (isConfigDocument(doc)) schedule(doc.uri.fsPath, 0);
        else if (entries.has(doc.uri.fsPath)) forget(doc.uri.fsPath);
      }
    }),
    {
      dispose: () => {
        for (const t of timers.values()) clearTimeout(t);
        timers.clear();
      },
    },
  );

  // Changes on disk (git checkout, another tool, a save of a custom module): open documents are
  // already handled through their change events, so only files without an editor matter here.
  const configWatcher = vscode.workspace.createFileSystemWatcher('**/*.{yaml,yml,json}');
  const moduleWatcher = vscode.workspace.createFileSystemWatcher('**/*.{ts,mts,cts,js,mjs,cjs}');
  const onDiskChange = (uri: vscode.Uri) => {
    const file = uri.fsPath;
    const open = vscode.workspace.textDocuments.some((d) => d.uri.scheme === 'file' && d.uri.fsPath === file && d.isDirty);
    if (!open && isFollowed(file)) schedule(file);
  };
  const onCreateOrDelete = (uri: vscode.Uri) => {
    if (!CONFIG_FILE_PATTERN.test(uri.fsPath) && !isFollowed(uri.fsPath)) return;
    // A created file may be a `_base_` someone was missing; a deleted one breaks its dependants.
    for (const [file, entry] of entries) if (entry.missing || entry.files.has(uri.fsPath)) schedule(file);
  };
  context.subscriptions.push(
    configWatcher,
    moduleWatcher,
    configWatcher.onDidChange(onDiskChange),
    configWatcher.onDidCreate(onCreateOrDelete),
    configWatcher.onDidDelete(onCreateOrDelete),
    moduleWatcher.onDidChange(onDiskChange),
    moduleWatcher.onDidCreate(onCreateOrDelete),
  );

  for (const doc of vscode.workspace.textDocuments) onOpen(doc);

  return {
    checkNow(file: string, opts: { keep?: boolean } = {}): Problem[] {
      const abs = path.resolve(file);
      clearTimeout(timers.get(abs));
      timers.delete(abs);
      const problems = check(abs, opts.keep ?? false);
      publish();
      notifyIfIdle();
      return problems;
    },
    settled(): Promise<void> {
      if (timers.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
