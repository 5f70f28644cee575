/**
 * A crash's stack trace pointing into the user's files becomes a diagnostic there: the innermost
 * frame in a custom module (custom_imports) or a config line named by an error message, with the
 * other user frames as related information. Cleared when the config is trained again or the run
 * resumed or deleted.
 */
import * as vscode from 'vscode';
import { crashPlaces, type CrashPlace } from '../../runs/crash';
import { runCwd } from '../../runs/manager';
import type { RunRecord } from '../../rundir';

export const CRASH_SOURCE = 'cvw train';

export class CrashDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('cvw-run');
  /** What each run (or failed start) reported, and the config it ran. */
  private readonly reports = new Map<string, { places: CrashPlace[]; config?: string }>();

  constructor(private readonly toolkitRoots: (cwd: string) => string[]) {}

  /** Diagnostics for a failed run (from run.json's error, else from what it printed). Returns the places. */
  reportRun(run: RunRecord, output?: string): CrashPlace[] {
    const cwd = runCwd(run.dir);
    const error = run.info.error;
    const text = [error?.stack, output].filter(Boolean).join('\n');
    const places = crashPlaces(text || error?.message || '', { cwd, toolkitRoots: this.toolkitRoots(cwd), message: error?.message });
    this.set(run.dir, places, run.info.config);
    return places;
  }

  /** Diagnostics from the output of a `cvw` that failed before it made a run (config errors). */
  reportOutput(key: string, output: string, cwd: string, config?: string): CrashPlace[] {
    const places = crashPlaces(output, { cwd, toolkitRoots: this.toolkitRoots(cwd) });
    this.set(key, places, config);
    return places;
  }

  /** Remove what one run reported. */
  clearRun(key: string): void {
    if (this.reports.delete(key)) this.render();
  }

  /** Remove what the runs of `config` reported (it is being trained again). */
  clearConfig(config: string): void {
    let changed = false;
    for (const [key, r] of [...this.reports]) if (r.config === config) changed = this.reports.delete(key) || changed;
    if (changed) this.render();
  }

  private set(key: string, places: CrashPlace[], config?: string): void {
    if (places.length) this.reports.set(key, { places, config });
    else this.reports.delete(key);
    this.render();
  }

  private render(): void {
    this.collection.clear();
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const { places } of this.reports.values()) {
      for (const p of places) {
        const line = Math.max(0, p.line - 1);
        const col = Math.max(0, p.column - 1);
        const severity = p.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error;
        const d = new vscode.Diagnostic(new vscode.Range(line, col, line, Number.MAX_SAFE_INTEGER), `Training failed: ${p.message}`, severity);
        d.source = CRASH_SOURCE;
        d.relatedInformation = p.stack
          .slice(1)
          .map((f) => new vscode.DiagnosticRelatedInformation(new vscode.Location(vscode.Uri.file(f.file), new vscode.Position(Math.max(0, f.line - 1), Math.max(0, f.column - 1))), `called from ${f.fn ?? 'here'}`));
        byFile.set(p.file, [...(byFile.get(p.file) ?? []), d]);
      }
    }
    for (const [file, ds] of byFile) this.collection.set(vscode.Uri.file(file), ds);
  }

  dispose(): void {
    this.collection.dispose();
  }
}
