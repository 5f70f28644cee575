/**
 * Notifications when a run ends: finished (its final metrics), failed (the error's last lines,
 * Open Log), stopped or interrupted (Resume). Runs the editor started are announced when their
 * process exits; runs started elsewhere when the watcher sees them leave `running`.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord } from '../../rundir';
import { formatNumber } from '../../train/progress';
import type { CrashDiagnostics } from './crashDiagnostics';
import { PANEL_COMMANDS, RUN_COMMANDS } from '../ids';
import { runDuration } from './runsTreeModel';
import type { RunsService } from './service';

const OPEN_LOG = 'Open Log';
const SHOW_OUTPUT = 'Show Output';
const OPEN_DASHBOARD = 'Open Dashboard';
const RESUME = 'Resume';
const SHOW_PROBLEM = 'Show Problem';

function name(run: RunRecord): string {
  return `${run.group}/${path.basename(run.dir)}`;
}

function metricsLine(run: RunRecord): string {
  const entries = Object.entries(run.info.metrics ?? {});
  if (entries.length) return entries.map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ');
  return run.info.last_loss !== undefined ? `loss ${formatNumber(run.info.last_loss)}` : 'no metrics';
}

/** The last lines of an error message (a config error lists one problem per line). */
export function errorLastLines(message: string, lines = 3): string {
  return message.trim().split('\n').filter(Boolean).slice(-lines).join(' ⏎ ');
}

export class RunNotifier implements vscode.Disposable {
  private readonly own = new Set<string>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly service: RunsService,
    private readonly crashes: CrashDiagnostics,
    /** The panels' dashboard is registered: "Open Dashboard" buttons. */
    private readonly dashboard: boolean,
  ) {
    this.subscription = service.onDidChangeRuns(({ kind, run, previous }) => {
      if (kind !== 'changed' || this.own.has(run.dir)) return;
      if (previous?.state === 'running' && run.state !== 'running') void this.announce(run);
    });
  }

  /** A run the editor started: announced by `ended()`, not by the watcher. */
  expect(dir: string): void {
    this.own.add(dir);
  }

  /** The editor's run process exited: read its run again and announce how it ended. */
  async ended(dir: string, output: string): Promise<void> {
    this.own.delete(dir);
    const run = this.service.refresh(dir);
    if (run) await this.announce(run, output);
  }

  private async announce(run: RunRecord, output?: string): Promise<void> {
    const dashboard = this.dashboard ? [OPEN_DASHBOARD] : [];
    let choice: string | undefined;
    switch (run.state) {
      case 'finished':
        choice = await vscode.window.showInformationMessage(`Run ${name(run)} finished in ${runDuration(run)}: ${metricsLine(run)}`, ...dashboard, OPEN_LOG);
        break;
      case 'failed':
      case 'crashed': {
        const places = run.state === 'failed' ? this.crashes.reportRun(run, output) : [];
        const message = run.info.error ? errorLastLines(run.info.error.message) : 'its process ended before the first checkpoint';
        const where = places[0] ? ` (${path.basename(places[0].file)}:${places[0].line})` : '';
        const buttons = places.length ? [SHOW_PROBLEM, OPEN_LOG, SHOW_OUTPUT] : [OPEN_LOG, SHOW_OUTPUT];
        choice = await vscode.window.showErrorMessage(`Run ${name(run)} ${run.state} at iteration ${run.info.error?.iter ?? run.info.iter}: ${message}${where}`, ...buttons);
        if (choice === SHOW_PROBLEM && places[0]) {
          const doc = await vscode.workspace.openTextDocument(places[0].file);
          const pos = new vscode.Position(Math.max(0, places[0].line - 1), Math.max(0, places[0].column - 1));
          await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos) });
        }
        break;
      }
      case 'stopped':
        choice = await vscode.window.showInformationMessage(`Run ${name(run)} stopped at iteration ${run.info.iter} (last checkpoint written)`, RESUME, OPEN_LOG);
        break;
      case 'interrupted':
        choice = await vscode.window.showWarningMessage(`Run ${name(run)} was interrupted at iteration ${run.info.iter} (its process is gone)`, RESUME, OPEN_LOG);
        break;
      default:
        return;
    }
    if (choice === OPEN_LOG) await vscode.commands.executeCommand(RUN_COMMANDS.openRunLog, run.dir);
    else if (choice === SHOW_OUTPUT) await vscode.commands.executeCommand(RUN_COMMANDS.openRunOutput, run.dir);
    else if (choice === OPEN_DASHBOARD) await vscode.commands.executeCommand(PANEL_COMMANDS.openDashboard, run.dir);
    else if (choice === RESUME) await vscode.commands.executeCommand(RUN_COMMANDS.resumeRun, run.dir);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
