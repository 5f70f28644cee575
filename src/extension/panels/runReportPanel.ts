/**
 * The run report: a notebook-like page of cells — summary, curves, confusion matrices, sample
 * predictions, nearest neighbours, a 2-D projection of features, benchmarks. The predictions come
 * from `cvw report <run>` (src/report/generate.ts), run in a child process from the page's
 * "Generate" button, never in the extension host. "Export HTML" writes one standalone file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { realFileInside } from '../../report/insideDir';
import { readMetricSplitsInTurns, readReportData } from '../../report/runFiles';
import { writeStandaloneReport } from '../../report/standalone';
import { HostMessageType, PanelKind, VIEW_TYPES, isPanelState, type ReportState } from '../protocol';
import { ensureTrusted, untrustedMessage } from '../trust';
import { workspaceRunDir } from './messageGuard';
import { PanelBase, webviewOptions, workspaceFolderPaths } from './panelBase';
import type { CvwProcess, PanelContext } from './panelContext';

export class RunReportPanel extends PanelBase<ReportState> {
  private static readonly open = new Map<string, RunReportPanel>();
  private job = false;

  private constructor(panel: vscode.WebviewPanel, ctx: PanelContext, state: ReportState) {
    super(panel, ctx, PanelKind.Report, state, [state.dir]);
    RunReportPanel.open.set(state.dir, this);
  }

  static createOrShow(ctx: PanelContext, dir: string): RunReportPanel {
    const resolved = path.resolve(dir);
    const existing = RunReportPanel.open.get(resolved);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const title = `Report ${path.basename(path.dirname(resolved))}/${path.basename(resolved)}`;
    const panel = vscode.window.createWebviewPanel(VIEW_TYPES[PanelKind.Report], title, vscode.ViewColumn.Active, webviewOptions(ctx, [resolved]));
    return new RunReportPanel(panel, ctx, { kind: PanelKind.Report, dir: resolved });
  }

  /** After a reload, from the page's saved state: only a real run directory of the workspace (see the dashboard's). */
  static revive(panel: vscode.WebviewPanel, ctx: PanelContext, state: unknown): RunReportPanel | undefined {
    const dir = isPanelState(state, PanelKind.Report) ? workspaceRunDir((state as ReportState).dir, workspaceFolderPaths()) : undefined;
    if (!dir) {
      panel.dispose();
      return undefined;
    }
    RunReportPanel.open.get(dir)?.dispose();
    return new RunReportPanel(panel, ctx, { kind: PanelKind.Report, dir });
  }

  static panels(): RunReportPanel[] {
    return [...RunReportPanel.open.values()];
  }

  protected onReady(): void {
    this.sendReport();
  }

  private sendReport(): void {
    this.readAndSendReport().catch((e: unknown) => this.ctx.output.appendLine(`[run report] ${this.state.dir}: ${(e as Error).message}`));
  }

  private async readAndSendReport(): Promise<void> {
    const dir = this.state.dir;
    const webview = this.panel.webview;
    // The curves first, a slice per turn: a metrics.jsonl of hundreds of MB does not hold the host.
    const metrics = await readMetricSplitsInTurns(dir);
    const state = this.ctx.runs?.()?.runs().find((r) => path.resolve(r.dir) === dir)?.state;
    const report = readReportData(
      dir,
      // Only images inside the run (report.json is data); named by their path under `dir`, which
      // is what localResourceRoots allows even when `dir` is reached through a symlink.
      (rel) => (realFileInside(dir, rel) ? webview.asWebviewUri(vscode.Uri.file(path.resolve(dir, rel))).toString() : undefined),
      { state, metrics },
    );
    this.post({ type: HostMessageType.Report, report });
  }

  protected shownRunDirs(): readonly string[] {
    return [this.state.dir];
  }

  protected override onGenerateReport(dir: string): void {
    if (this.job) return;
    // `cvw report` loads the run's model, with its config's custom_imports: workspace code.
    if (!ensureTrusted('Generate report')) {
      this.post({ type: HostMessageType.ReportJob, state: 'failed', text: untrustedMessage('Generate report') });
      return;
    }
    if (!this.ctx.execCvw) {
      this.post({ type: HostMessageType.ReportJob, state: 'failed', text: 'Running cvw needs the runs support of CV Workbench; run `cvw report <run>` in a terminal instead.' });
      return;
    }
    const cwd = path.dirname(path.dirname(path.dirname(dir)));
    let proc: CvwProcess;
    try {
      proc = this.ctx.execCvw(['report', dir], fs.existsSync(cwd) ? cwd : dir);
    } catch (e) {
      // No cvw to start (cvWorkbench.runs.cvwPath names a missing file, ...): say so on the page.
      this.post({ type: HostMessageType.ReportJob, state: 'failed', text: (e as Error).message });
      return;
    }
    this.job = true;
    this.post({ type: HostMessageType.ReportJob, state: 'running', text: `cvw report ${dir}` });
    const sub = proc.onOutput(() => this.post({ type: HostMessageType.ReportJob, state: 'running', text: proc.tail(3) }));
    void proc.exited.then((exit) => {
      sub.dispose();
      this.job = false;
      this.ctx.output.appendLine(`cvw report ${dir}: exit ${exit.code ?? exit.signal}\n${proc.tail(20)}`);
      if (exit.code === 0) {
        this.post({ type: HostMessageType.ReportJob, state: 'finished', text: proc.tail(2) });
        this.sendReport();
      } else {
        this.post({ type: HostMessageType.ReportJob, state: 'failed', text: proc.tail(12) });
      }
    });
  }

  protected override onExportHtml(dir: string): void {
    void this.exportHtml(dir);
  }

  private async exportHtml(dir: string): Promise<void> {
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(dir, 'report', 'report.html')),
      filters: { HTML: ['html'] },
      title: 'Export the run report as one HTML file',
    });
    if (!target) return;
    const bundle = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'webview', 'report.js').fsPath;
    try {
      const file = writeStandaloneReport(dir, bundle, target.fsPath);
      this.ctx.output.appendLine(`report exported to ${file}`);
      const open = await vscode.window.showInformationMessage(`Report exported to ${path.basename(file)}`, 'Open in Browser', 'Reveal');
      if (open === 'Open in Browser') await vscode.env.openExternal(vscode.Uri.file(file));
      else if (open === 'Reveal') await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(file));
    } catch (err) {
      void vscode.window.showErrorMessage(`Could not export the report: ${(err as Error).message}`);
    }
  }

  protected onDispose(): void {
    if (RunReportPanel.open.get(this.state.dir) === this) RunReportPanel.open.delete(this.state.dir);
  }
}
