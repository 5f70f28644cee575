/**
 * The runs feature's shared state: the watcher of every workspace folder's `work_dirs`, the run
 * manager that starts `cvw` children, which `cvw` and Node to use, the terminals showing runs, and
 * the arguments last typed per config. The panels (issue 11) follow runs through it too.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveCvw, nodeRuntime, type CvwLocation } from '../../runs/cvw';
import { RunManager, type CvwInvocation, type ManagedProcess, type ManagedRun } from '../../runs/manager';
import type { MetricsRead, RunRecord } from '../../rundir';
import { RunWatcher, type RunChange } from '../../runs/watcher';
import { workspaceTrusted } from '../trust';
import { RUN_COMMANDS, SETTINGS, SETTINGS_SECTION } from '../ids';
import { FileOutputSource, type OutputSource } from './outputSource';
import { OutputPty } from './terminal';
import { numberSetting } from '../numberSettings';

export interface RunSettings {
  cvwPath: string;
  nodePath: string;
  backend: string;
  detached: boolean;
  stopGraceSeconds: number;
  askForArguments: boolean;
}

export function runSettings(scope?: vscode.Uri): RunSettings {
  const c = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  return {
    cvwPath: c.get<string>(SETTINGS.cvwPath, '').trim(),
    nodePath: c.get<string>(SETTINGS.nodePath, '').trim(),
    backend: c.get<string>(SETTINGS.backend, '').trim(),
    detached: c.get<boolean>(SETTINGS.detached, false),
    stopGraceSeconds: numberSetting(SETTINGS.stopGraceSeconds, c.get(SETTINGS.stopGraceSeconds)),
    askForArguments: c.get<boolean>(SETTINGS.askForArguments, true),
  };
}

const ARGS_KEY = 'cvWorkbench.runs.lastArgs';

export class RunsService implements vscode.Disposable {
  readonly manager: RunManager;
  private watcher: RunWatcher | undefined;
  private readonly changed = new vscode.EventEmitter<RunChange>();
  /** Every change of a run (added, changed, removed), from any source. */
  readonly onDidChangeRuns = this.changed.event;
  /** Resolves once the runs already on disk are known. */
  readonly ready: Promise<void>;
  private readonly terminals = new Map<string, vscode.Terminal>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.OutputChannel,
  ) {
    this.manager = new RunManager((cwd) => this.invocation(cwd));
    this.ready = this.startWatcher();
    this.disposables.push(
      this.changed,
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.watcher?.setRoots(this.roots())),
      vscode.window.onDidCloseTerminal((t) => {
        for (const [key, term] of this.terminals) if (term === t) this.terminals.delete(key);
      }),
    );
  }

  private roots(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => path.join(f.uri.fsPath, 'work_dirs'));
  }

  private async startWatcher(): Promise<void> {
    try {
      this.watcher = await RunWatcher.start(this.roots());
      this.watcher.onChange((c) => this.changed.fire(c));
    } catch (err) {
      this.output.appendLine(`runs: cannot watch work_dirs: ${(err as Error).message}`);
    }
  }

  /** The watcher, once started (the panels follow runs through it). */
  get runWatcher(): RunWatcher | undefined {
    return this.watcher;
  }

  /** Every run found, newest first. */
  runs(): RunRecord[] {
    return this.watcher?.runs() ?? [];
  }

  get(dir: string): RunRecord | undefined {
    return this.watcher?.get(dir) ?? this.watcher?.refresh(dir);
  }

  /** Read a run's run.json again now. */
  refresh(dir: string): RunRecord | undefined {
    return this.watcher?.refresh(dir);
  }

  /** Follow a run's metrics.jsonl: every record so far at once, then each appended batch (see RunWatcher). */
  followMetrics(dir: string, listener: (read: MetricsRead) => void): vscode.Disposable {
    const d = this.watcher?.followMetrics(dir, listener);
    return new vscode.Disposable(() => d?.dispose());
  }

  /** The workspace folder a file belongs to (its folder, when outside every workspace folder). */
  folderOf(file: string): string {
    return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))?.uri.fsPath ?? path.dirname(file);
  }

  /**
   * Which `cvw` runs for work in `cwd`: the setting, the workspace's package, or the bundled one.
   * In a workspace that is not trusted its own package is workspace code: only the bundled CLI
   * (or a cvwPath from the user's settings; VS Code ignores the workspace's, a restricted setting).
   */
  cvwFor(cwd: string): CvwLocation {
    const settings = runSettings(vscode.Uri.file(cwd));
    return resolveCvw({ configured: settings.cvwPath || undefined, folder: workspaceTrusted() ? cwd : undefined, bundled: path.join(this.context.extensionPath, 'dist', 'cli', 'cvw.js') });
  }

  invocation(cwd: string): CvwInvocation {
    const cvw = this.cvwFor(cwd);
    const node = nodeRuntime(runSettings(vscode.Uri.file(cwd)).nodePath || undefined);
    // The bundled CLI leaves the native packages (sharp, onnxruntime-node) outside: let it find the workspace's.
    if (cvw.source === 'bundled' && workspaceTrusted()) node.env.NODE_PATH = [path.join(cwd, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
    return { node, cvw };
  }

  /** The arguments last used for `config` (else the last used for any config). */
  lastArgs(config: string): string | undefined {
    const all = this.context.workspaceState.get<Record<string, string>>(ARGS_KEY, {});
    return all[config] ?? all['*'];
  }

  async rememberArgs(config: string, args: string): Promise<void> {
    const all = { ...this.context.workspaceState.get<Record<string, string>>(ARGS_KEY, {}) };
    all[config] = args;
    all['*'] = args;
    await this.context.workspaceState.update(ARGS_KEY, all);
  }

  /** Log a started process in the output channel. */
  logStart(p: ManagedProcess, what: string): void {
    const cvw = this.cvwFor(p.cwd);
    this.output.appendLine(`${what}: ${p.argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}  (cwd ${p.cwd}; ${cvw.source} cvw, pid ${p.pid})`);
  }

  /** Show a process in a terminal of its own (reused by key). */
  showProcess(key: string, name: string, source: OutputSource, options: { onInterrupt?: () => void; header?: string; preserveFocus?: boolean } = {}): vscode.Terminal {
    this.terminals.get(key)?.dispose();
    const pty = new OutputPty(source, { header: options.header, onInterrupt: options.onInterrupt });
    const terminal = vscode.window.createTerminal({ name, pty, iconPath: new vscode.ThemeIcon('beaker') });
    this.terminals.set(key, terminal);
    terminal.show(options.preserveFocus ?? true);
    return terminal;
  }

  /** Show a run's output (the live process when the editor started it, else its output file). */
  showRunOutput(dir: string, options: { preserveFocus?: boolean } = {}): vscode.Terminal {
    const existing = this.terminals.get(dir);
    if (existing) {
      existing.show(options.preserveFocus ?? false);
      return existing;
    }
    const run = this.get(dir);
    const name = `cvw: ${run?.group ?? path.basename(path.dirname(dir))}/${path.basename(dir)}`;
    const managed = this.manager.runFor(dir);
    return this.showProcess(dir, name, managed ?? FileOutputSource.forRun(dir), {
      preserveFocus: options.preserveFocus ?? false,
      onInterrupt: () => void vscode.commands.executeCommand(RUN_COMMANDS.stopRun, dir),
    });
  }

  /** Show a run the editor just started, in its own terminal. */
  showStartedRun(run: ManagedRun): void {
    const name = `cvw: ${path.basename(path.dirname(run.runDir))}/${path.basename(run.runDir)}`;
    this.showProcess(run.runDir, name, run, {
      header: `$ cvw ${run.argv.slice(2).join(' ')}`,
      onInterrupt: () => void vscode.commands.executeCommand(RUN_COMMANDS.stopRun, run.runDir),
    });
  }

  dispose(): void {
    // Runs not started detached stop (SIGINT: a last checkpoint) when the editor goes.
    this.manager.dispose();
    void this.watcher?.close();
    for (const d of this.disposables) d.dispose();
  }
}
