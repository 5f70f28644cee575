/**
 * What every panel does the same way: the page (src/extension/panels/html.ts: strict CSP with a
 * fresh nonce, the bundle through asWebviewUri), `localResourceRoots` limited to the extension's
 * webview bundles and the run directories shown, nothing posted before the page says it is ready
 * (and everything sent again when it reloads), every disposable tracked. Every message is checked
 * against what the panel shows (./messageGuard.ts) before anything acts on it.
 */
import * as vscode from 'vscode';
import { PanelKind, WebviewMessageType, type HostMessage, type PanelState, type RunAction, type TableActionMessage, type TableSettingsMessage, type WebviewMessage } from '../protocol';
import { panelHtml } from './html';
import { isRunAction, openableFile, shownRunDir, shownRunDirList } from './messageGuard';
import type { PanelContext } from './panelContext';

/** The workspace folders on disk: where run directories from a page's saved state must lie. */
export function workspaceFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
}

export function webviewOptions(ctx: PanelContext, runDirs: readonly string[]): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'webview'), ...runDirs.map((d) => vscode.Uri.file(d))],
    // The page rebuilds itself from the host's messages when shown again; no hidden page kept in memory.
    retainContextWhenHidden: false,
  };
}

export abstract class PanelBase<S extends PanelState> implements vscode.Disposable {
  protected readonly disposables: vscode.Disposable[] = [];
  /** Disposed and renewed each time the page (re)loads: subscriptions that feed it. */
  protected pageDisposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;

  protected constructor(
    readonly panel: vscode.WebviewPanel,
    protected readonly ctx: PanelContext,
    readonly kind: PanelKind,
    protected state: S,
    runDirs: readonly string[],
  ) {
    this.setPage(runDirs);
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: WebviewMessage) => this.receive(m), null, this.disposables);
  }

  /** (Re)load the page; `runDirs` are the folders its images may come from. */
  protected setPage(runDirs: readonly string[]): void {
    this.ready = false;
    this.disposePage();
    const webview = this.panel.webview;
    webview.options = webviewOptions(this.ctx, runDirs);
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'webview', `${this.kind}.js`));
    webview.html = panelHtml({ title: this.panel.title, cspSource: webview.cspSource, scripts: [script.toString()], state: this.state });
  }

  /** Send to the page; dropped before it is ready (onReady sends everything then). */
  protected post(message: HostMessage): void {
    if (!this.ready || this.disposed) return;
    void this.panel.webview.postMessage(message);
  }

  /** The page is loaded and listening: send it everything, subscribe to what changes. */
  protected abstract onReady(): void;

  /** The run directories this panel shows: the only ones its page may name. */
  protected abstract shownRunDirs(): readonly string[];

  /** What a table action may name: the runs shown, and rows of other kinds (the runs table's queued runs). */
  protected shownRowIds(): readonly string[] {
    return this.shownRunDirs();
  }

  /** Files outside the shown runs that the page may open (what the panel itself listed). */
  protected listedFiles(): readonly string[] {
    return [];
  }

  protected onRunAction(action: RunAction, dir: string): void {
    this.ctx.runAction(action, dir).catch((err: unknown) => {
      this.ctx.output.appendLine(`${action} ${dir}: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`${action}: ${(err as Error).message}`);
    });
  }

  protected onGenerateReport(_dir: string): void {
    // only the report panel
  }

  protected onExportHtml(_dir: string): void {
    // only the report panel
  }

  /** Only the runs table; `dirs` are shown run directories (checked). */
  protected onTableAction(_msg: TableActionMessage, _dirs: string[]): void {
    // only the runs table
  }

  protected onTableSettings(_msg: TableSettingsMessage): void {
    // only the runs table
  }

  protected onRefresh(): void {
    this.disposePage();
    this.onReady();
  }

  private receive(msg: WebviewMessage): void {
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case WebviewMessageType.Ready:
        this.ready = true;
        this.disposePage();
        this.onReady();
        break;
      case WebviewMessageType.RunAction: {
        const dir = shownRunDir(msg.dir, this.shownRunDirs());
        if (dir && isRunAction(msg.action)) this.onRunAction(msg.action, dir);
        else this.refuse(msg);
        break;
      }
      case WebviewMessageType.OpenFile: {
        const file = openableFile(msg.file, this.shownRunDirs(), this.listedFiles());
        if (file) void openFile(file, typeof msg.line === 'number' ? msg.line : undefined);
        else this.refuse(msg);
        break;
      }
      case WebviewMessageType.GenerateReport: {
        const dir = shownRunDir(msg.dir, this.shownRunDirs());
        if (dir) this.onGenerateReport(dir);
        else this.refuse(msg);
        break;
      }
      case WebviewMessageType.ExportHtml: {
        const dir = shownRunDir(msg.dir, this.shownRunDirs());
        if (dir) this.onExportHtml(dir);
        else this.refuse(msg);
        break;
      }
      case WebviewMessageType.Refresh:
        this.onRefresh();
        break;
      case WebviewMessageType.TableAction: {
        const dirs = shownRunDirList(msg.dirs, this.shownRowIds());
        if (dirs) this.onTableAction(msg, dirs);
        else this.refuse(msg);
        break;
      }
      case WebviewMessageType.TableSettings:
        this.onTableSettings(msg);
        break;
      case WebviewMessageType.Error:
        this.ctx.output.appendLine(`[${this.kind} panel] ${String(msg.message).slice(0, 2000)}`);
        break;
      default: {
        const unhandled: never = msg;
        this.ctx.output.appendLine(`[${this.kind} panel] unknown message ${JSON.stringify(unhandled).slice(0, 300)}`);
      }
    }
  }

  /** A message naming something the panel does not show: a bug or a tampered page; logged, not acted on. */
  private refuse(msg: WebviewMessage): void {
    this.ctx.output.appendLine(`[${this.kind} panel] refused ${msg.type}: ${JSON.stringify(msg).slice(0, 300)} names nothing this panel shows`);
  }

  protected disposePage(): void {
    for (const d of this.pageDisposables.splice(0)) d.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposePage();
    this.onDispose();
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** Subclasses drop themselves from their registry here. */
  protected abstract onDispose(): void;
}

export async function openFile(file: string, line?: number): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  if (line && line > 0) {
    const pos = new vscode.Position(line - 1, 0);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.AtTop);
  }
}
