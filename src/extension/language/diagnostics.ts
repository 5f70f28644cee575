/**
 * Live diagnostics for configs, the VS Code side: editor and file-system events go to the
 * editor-independent DiagnosticsEngine (diagnosticsCore.ts), which decides what to check and when
 * (as the user types, debounced, and again for every open config that inherits from a base file
 * when that base changes, in an editor or on disk); its problems come back as vscode.Diagnostics.
 */
import * as vscode from 'vscode';
import type { Problem, Severity } from '../../core/problems';
import { isConfigDocument } from '../configDocuments';
import { SETTINGS, SETTINGS_SECTION } from '../ids';
import { ensureRegistry } from '../registry';
import { trustCheckOptions } from '../trust';
import { DIAGNOSTICS_DELAY_MS, DiagnosticsEngine, type ConfigDiagnostics, type DiagnosticsHost } from './diagnosticsCore';
import { openBufferTexts } from './documents';

export { DIAGNOSTICS_DELAY_MS, type ConfigDiagnostics } from './diagnosticsCore';
export const DIAGNOSTIC_SOURCE = 'cvw';

export interface DiagnosticsOptions {
  /** Where internal failures of the checker are written (the extension's output channel). */
  log?: (line: string) => void;
  delayMs?: number;
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

function fileDocument(file: string): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
}

/** The engine's view of the editor: open buffers, trust, and a diagnostic collection to show in. */
export function editorDiagnosticsHost(collection: vscode.DiagnosticCollection, log: (line: string) => void): DiagnosticsHost {
  return {
    openTexts: openBufferTexts,
    isOpenConfig: (file) => {
      const doc = fileDocument(file);
      return !!doc && isConfigDocument(doc);
    },
    show: (file, problems) => collection.set(vscode.Uri.file(file), problems.map(toDiagnostic)),
    clear: (file) => collection.delete(vscode.Uri.file(file)),
    prepare: ensureRegistry,
    checkOptions: trustCheckOptions,
    log,
  };
}

/** Feeds the engine with the editor's events; disposing it stops them and every pending check. */
export class ConfigDiagnosticsProvider implements ConfigDiagnostics, vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly engine: DiagnosticsEngine,
    collection: vscode.DiagnosticCollection,
  ) {
    const onOpen = (doc: vscode.TextDocument) => {
      if (isConfigDocument(doc)) engine.schedule(doc.uri.fsPath, 0);
    };
    // Changes on disk (git checkout, another tool, a save of a custom module): open documents are
    // already handled through their change events, so only files without an editor matter there.
    const configWatcher = vscode.workspace.createFileSystemWatcher('**/*.{yaml,yml,json}');
    const moduleWatcher = vscode.workspace.createFileSystemWatcher('**/*.{ts,mts,cts,js,mjs,cjs}');
    const onDiskChange = (uri: vscode.Uri) => engine.changedOnDisk(uri.fsPath, !!fileDocument(uri.fsPath)?.isDirty);
    const onCreateOrDelete = (uri: vscode.Uri) => engine.createdOrDeleted(uri.fsPath);
    this.disposables.push(
      collection,
      vscode.workspace.onDidOpenTextDocument(onOpen),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.scheme === 'file' && e.contentChanges.length > 0) engine.changed(e.document.uri.fsPath, isConfigDocument(e.document));
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc.uri.scheme === 'file') engine.closed(doc.uri.fsPath);
      }),
      // Trust granted: the custom modules may load now; check every followed and open config again.
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        for (const file of engine.followed()) engine.schedule(file, 0);
        for (const doc of vscode.workspace.textDocuments) onOpen(doc);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(`${SETTINGS_SECTION}.${SETTINGS.configGlob}`)) return;
        for (const doc of vscode.workspace.textDocuments) {
          if (isConfigDocument(doc)) engine.schedule(doc.uri.fsPath, 0);
          else engine.forget(doc.uri.fsPath);
        }
      }),
      configWatcher,
      moduleWatcher,
      configWatcher.onDidChange(onDiskChange),
      configWatcher.onDidCreate(onCreateOrDelete),
      configWatcher.onDidDelete(onCreateOrDelete),
      moduleWatcher.onDidChange(onDiskChange),
      moduleWatcher.onDidCreate(onCreateOrDelete),
      { dispose: () => engine.dispose() },
    );
    for (const doc of vscode.workspace.textDocuments) onOpen(doc);
  }

  checkNow(file: string, options?: { keep?: boolean }): Problem[] {
    return this.engine.checkNow(file, options);
  }

  settled(): Promise<void> {
    return this.engine.settled();
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** The diagnostics of configs, disposed with the extension. */
export function registerDiagnostics(context: vscode.ExtensionContext, options: DiagnosticsOptions = {}): ConfigDiagnostics {
  const collection = vscode.languages.createDiagnosticCollection('cv-workbench');
  const host = editorDiagnosticsHost(collection, options.log ?? (() => undefined));
  const provider = new ConfigDiagnosticsProvider(new DiagnosticsEngine(host, options.delayMs ?? DIAGNOSTICS_DELAY_MS), collection);
  context.subscriptions.push(provider);
  return provider;
}
