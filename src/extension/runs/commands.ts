/**
 * The run commands: Train, Debug Training, Evaluate, Export, Benchmark, and the Runs view's
 * actions (Stop, Resume, Open Log, Show Output, Open Run Folder, Open Config, Delete). Each takes
 * what the place it is called from gives — a config Uri (CodeLens, editor title, explorer), a run
 * node of the view, a run directory path (panels, status bar, notifications) — or asks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ArgumentsError, joinArgs, parseRunArgs } from '../../runs/args';
import type { ManagedProcess, ManagedRun } from '../../runs/manager';
import { configStem } from '../../runs/manager';
import { CHECKPOINT_EXT, RUN_FILES, canStopRun, runFile, type RunRecord } from '../../rundir';
import { CONFIG_FILE_PATTERN } from '../configDetection';
import { configFileOf, isUriLike, runDirOf, runDirsOf } from '../commandArgs';
import { configGlob } from '../configDocuments';
import type { CrashDiagnostics } from './crashDiagnostics';
import { DEBUG_TYPE, PANEL_COMMANDS } from '../ids';
import type { RunNotifier } from './notifier';
import { describeRun } from './runsTreeModel';
import { runSettings, type RunsService } from './service';
import type { ActiveRunStatus } from './statusBar';
import { ensureTrusted } from '../trust';
import { workspaceFile } from '../panels/messageGuard';
import { workspaceFolderPaths } from '../panels/panelBase';

/** Options a caller (a test, a task, another command) may pass instead of being asked. */
export interface StartOptions {
  /** Extra `cvw train` arguments (a line as typed, or argv words); skips the question. */
  args?: string | string[];
  backend?: string;
  detached?: boolean;
}

export interface RunCommandContext {
  service: RunsService;
  notifier: RunNotifier;
  crashes: CrashDiagnostics;
  status: ActiveRunStatus;
  /** The panels' dashboard is registered (registered in the same activation: extension.ts). */
  dashboard: boolean;
}

/** The config a Train or Debug command was given, else the active editor's. */
export function configUriOf(arg: unknown): vscode.Uri | undefined {
  const file = configFileOf(isUriLike(arg) ? arg : vscode.window.activeTextEditor?.document.uri);
  return file ? vscode.Uri.file(file) : undefined;
}

export async function pickConfig(): Promise<vscode.Uri | undefined> {
  const items: Array<vscode.QuickPickItem & { uri: vscode.Uri }> = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const files = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, configGlob(folder)), '**/{node_modules,_base_}/**', 500);
    for (const uri of files) {
      if (!CONFIG_FILE_PATTERN.test(uri.fsPath)) continue;
      items.push({ label: path.basename(uri.fsPath), description: path.relative(folder.uri.fsPath, path.dirname(uri.fsPath)), uri });
    }
  }
  if (!items.length) {
    void vscode.window.showWarningMessage('No configs found: open a config file, or set cvWorkbench.configGlob.');
    return undefined;
  }
  items.sort((a, b) => `${a.description}/${a.label}`.localeCompare(`${b.description}/${b.label}`));
  return (await vscode.window.showQuickPick(items, { title: 'Train which config?', matchOnDescription: true }))?.uri;
}

/** The config a command works on: the one given, or (called with nothing) picked; a given thing that is no config is said. */
export async function targetConfig(arg: unknown, action: string): Promise<vscode.Uri | undefined> {
  const uri = configUriOf(arg) ?? (arg === undefined ? await pickConfig() : undefined);
  if (!uri && arg !== undefined) void vscode.window.showWarningMessage(`${action}: open a config file (YAML or JSON) first.`);
  return uri;
}

async function pickRun(service: RunsService, title: string, filter: (r: RunRecord) => boolean, group?: string): Promise<string | undefined> {
  await service.ready;
  const runs = service.runs().filter((r) => filter(r) && (!group || r.group === group));
  if (!runs.length) {
    void vscode.window.showInformationMessage(`${title}: no run to choose from${group ? ` for ${group}` : ''}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: `${r.group}/${path.basename(r.dir)}`, description: describeRun(r), dir: r.dir })),
    { title, matchOnDescription: true },
  );
  return picked?.dir;
}

const hasCheckpoint = (r: RunRecord) => fs.existsSync(path.join(r.dir, RUN_FILES.checkpoints)) && fs.readdirSync(path.join(r.dir, RUN_FILES.checkpoints)).some((f) => f.endsWith(CHECKPOINT_EXT));

/** The run a command works on: given, or (for a config) one of its runs, or picked from all. */
async function targetRun(ctx: RunCommandContext, arg: unknown, title: string, filter: (r: RunRecord) => boolean): Promise<string | undefined> {
  const config = configFileOf(arg);
  if (config) return pickRun(ctx.service, title, filter, configStem(config));
  const dir = runDirOf(arg);
  if (dir) return dir;
  const editorConfig = configUriOf(undefined);
  return pickRun(ctx.service, title, filter, editorConfig ? configStem(editorConfig.fsPath) : undefined);
}

/** The extra arguments: given by the caller, or asked (prefilled with the last ones used). */
export async function askArgs(ctx: RunCommandContext, config: string, title: string, given?: string | string[]): Promise<string[] | undefined> {
  if (Array.isArray(given)) return given;
  let text = given;
  if (text === undefined) {
    if (!runSettings(vscode.Uri.file(config)).askForArguments) text = ctx.service.lastArgs(config) ?? '';
    else {
      text = await vscode.window.showInputBox({
        title,
        prompt: 'Options and config overrides for cvw train (empty: the config as it is)',
        placeHolder: '--max-iters 100  data.train.batch_size=32  --optimizer.lr 0.01',
        value: ctx.service.lastArgs(config) ?? '',
        ignoreFocusOut: true,
        validateInput: (v) => {
          try {
            parseRunArgs(v);
            return undefined;
          } catch (e) {
            return (e as ArgumentsError).message;
          }
        },
      });
      if (text === undefined) return undefined;
    }
  }
  const args = parseRunArgs(text);
  await ctx.service.rememberArgs(config, joinArgs(args));
  return args;
}

export async function saveIfDirty(file: string): Promise<void> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
  if (doc?.isDirty) await doc.save();
}

/** Follow a started run to its end: announce it, report a crash, or the failure of a run that never began. */
function watchRun(ctx: RunCommandContext, run: ManagedRun, config?: string): void {
  ctx.notifier.expect(run.runDir);
  ctx.status.noteStarted(run.runDir);
  void run.exited.then(async (exit) => {
    if (fs.existsSync(path.join(run.runDir, RUN_FILES.run))) {
      await ctx.notifier.ended(run.runDir, run.tail(400));
      return;
    }
    const output = run.tail(400);
    const places = ctx.crashes.reportOutput(run.runDir, output, run.cwd, config);
    const last = output.split('\n').filter(Boolean).slice(-3).join(' ⏎ ');
    const choice = await vscode.window.showErrorMessage(`cvw train did not start (exit code ${exit.code}): ${last}`, ...(places.length ? ['Show Problems'] : []), 'Show Output');
    if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
    else if (choice === 'Show Output') ctx.service.showRunOutput(run.runDir);
  });
}

export async function train(ctx: RunCommandContext, arg?: unknown, options: StartOptions = {}): Promise<string | undefined> {
  if (!ensureTrusted('Train')) return undefined;
  const uri = await targetConfig(arg, 'Train');
  if (!uri) return undefined;
  const config = uri.fsPath;
  const args = await askArgs(ctx, config, `Train ${path.basename(config)}`, options.args);
  if (!args) return undefined;
  await saveIfDirty(config);
  const settings = runSettings(uri);
  const cwd = ctx.service.folderOf(config);
  ctx.crashes.clearConfig(config);
  let run: ManagedRun;
  try {
    run = ctx.service.manager.train({ config, cwd, args, backend: options.backend ?? (settings.backend || undefined), detached: options.detached ?? settings.detached });
  } catch (e) {
    void vscode.window.showErrorMessage(`Train: ${(e as Error).message}`);
    return undefined;
  }
  ctx.service.logStart(run, 'train');
  ctx.service.showStartedRun(run);
  watchRun(ctx, run, config);
  return run.runDir;
}

export async function resume(ctx: RunCommandContext, arg?: unknown, options: StartOptions = {}): Promise<string | undefined> {
  if (!ensureTrusted('Resume')) return undefined;
  const dir = await targetRun(ctx, arg, 'Resume which run?', (r) => r.resumable);
  if (!dir) return undefined;
  const settings = runSettings(vscode.Uri.file(dir));
  let run: ManagedRun;
  try {
    run = ctx.service.manager.resume({
      runDir: dir,
      args: typeof options.args === 'string' ? parseRunArgs(options.args) : options.args,
      backend: options.backend ?? (settings.backend || undefined),
      detached: options.detached ?? settings.detached,
    });
  } catch (e) {
    void vscode.window.showErrorMessage(`Resume: ${(e as Error).message}`);
    return undefined;
  }
  ctx.crashes.clearRun(dir);
  ctx.service.logStart(run, 'resume');
  ctx.service.showStartedRun(run);
  watchRun(ctx, run);
  return run.runDir;
}

export async function stop(ctx: RunCommandContext, arg?: unknown, selected?: unknown): Promise<void> {
  let dirs = runDirsOf(arg, selected);
  if (!dirs.length) {
    const dir = await pickRun(ctx.service, 'Stop which run?', canStopRun);
    if (!dir) return;
    dirs = [dir];
  }
  const here: string[] = [];
  for (const dir of dirs) {
    const host = ctx.service.get(dir)?.elsewhere;
    if (!host) here.push(dir);
    else void vscode.window.showInformationMessage(`${path.basename(dir)} runs on ${host}, as its run.json says: this editor stops runs of this machine and Slurm jobs only; stop it on ${host}.`);
  }
  await Promise.all(
    here.map((dir) =>
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Stopping ${path.basename(path.dirname(dir))}/${path.basename(dir)}: waiting for its last checkpoint` }, async () => {
        const grace = runSettings(vscode.Uri.file(dir)).stopGraceSeconds;
        const outcome = await ctx.service.manager.stop(dir, { graceMs: grace * 1000 });
        ctx.service.refresh(dir);
        if (outcome === 'not-running') void vscode.window.showInformationMessage(`${path.basename(dir)} is not running.`);
        else if (outcome === 'killed') void vscode.window.showWarningMessage(`${path.basename(dir)} did not stop within ${grace} s and was killed; Resume continues from its last checkpoint.`);
      }),
    ),
  );
}

/** Run another `cvw` command on a run in a terminal, and announce its end. */
function execInTerminal(ctx: RunCommandContext, title: string, args: string[], cwd: string, done?: (p: ManagedProcess) => Promise<void>): ManagedProcess | undefined {
  let proc: ManagedProcess;
  try {
    proc = ctx.service.manager.exec(args, { cwd });
  } catch (e) {
    void vscode.window.showErrorMessage(`${title}: ${(e as Error).message}`);
    return undefined;
  }
  ctx.service.logStart(proc, args[0]);
  ctx.service.showProcess(`exec:${proc.pid}`, `cvw ${args[0]}${args[0] === 'benchmark' || args[0] === 'data' ? ` ${args[1]}` : ''}`, proc, { header: `$ cvw ${joinArgs(args)}`, onInterrupt: () => proc.signal('SIGINT') });
  void proc.exited.then(async (exit) => {
    if (exit.code === 0) await done?.(proc);
    else void vscode.window.showErrorMessage(`${title} failed (exit code ${exit.code ?? exit.signal}): ${proc.tail(3).split('\n').join(' ⏎ ')}`);
  });
  return proc;
}

export async function evaluate(ctx: RunCommandContext, arg?: unknown): Promise<ManagedProcess | undefined> {
  if (!ensureTrusted('Evaluate')) return undefined;
  const dir = await targetRun(ctx, arg, 'Evaluate which run?', hasCheckpoint);
  if (!dir) return undefined;
  return execInTerminal(ctx, 'Evaluate', ['eval', dir], ctx.service.folderOf(dir), async (p) => {
    void vscode.window.showInformationMessage(`Evaluated ${path.basename(dir)}: ${p.tail(2).split('\n').join(' ')}`);
  });
}

/** The bundled CLI has no onnxruntime-node of its own: it uses the workspace's when installed. */
function onnxUnavailable(ctx: RunCommandContext, dir: string): boolean {
  const cwd = ctx.service.folderOf(dir);
  try {
    return ctx.service.cvwFor(cwd).source === 'bundled' && !fs.existsSync(path.join(cwd, 'node_modules', 'onnxruntime-node'));
  } catch {
    return false;
  }
}

export async function exportRun(ctx: RunCommandContext, arg?: unknown, format?: string): Promise<ManagedProcess | undefined> {
  if (!ensureTrusted('Export')) return undefined;
  const dir = await targetRun(ctx, arg, 'Export which run?', hasCheckpoint);
  if (!dir) return undefined;
  const fmt =
    typeof format === 'string'
      ? format
      : (
          await vscode.window.showQuickPick(
            [
              { label: 'onnx', description: `one .onnx file for onnxruntime (export/model.onnx)${onnxUnavailable(ctx, dir) ? ' — needs onnxruntime-node in the workspace: npm install onnxruntime-node' : ''}` },
              { label: 'tfjs', description: 'a TF.js graph model (export/tfjs/)' },
            ],
            { title: `Export ${path.basename(dir)} as` },
          )
        )?.label;
  if (!fmt) return undefined;
  return execInTerminal(ctx, 'Export', ['export', dir, '--format', fmt], ctx.service.folderOf(dir), async () => {
    const target = runFile(dir, 'export');
    const choice = await vscode.window.showInformationMessage(`Exported ${path.basename(dir)} (${fmt}) to ${target}`, 'Reveal');
    if (choice === 'Reveal') await revealPath(target);
  });
}

/** Browse Views: `cvw data browse` on a config's training data in a terminal; the picture opens once drawn. */
export async function browseViews(ctx: RunCommandContext, arg?: unknown): Promise<ManagedProcess | undefined> {
  if (!ensureTrusted('Browse Views')) return undefined;
  const uri = await targetConfig(arg, 'Browse Views');
  if (!uri) return undefined;
  const config = uri.fsPath;
  await saveIfDirty(config);
  const cwd = ctx.service.folderOf(config);
  const out = path.join(cwd, 'work_dirs', 'browse', `${configStem(config)}_train_e0.png`);
  return execInTerminal(ctx, 'Browse Views', ['data', 'browse', config, '--out', out], cwd, async () => {
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(out));
  });
}

/** Model Summary: `cvw summary` on a config in a terminal (it builds the model and measures a step: workspace code runs). */
export async function modelSummary(ctx: RunCommandContext, arg?: unknown): Promise<ManagedProcess | undefined> {
  if (!ensureTrusted('Model Summary')) return undefined;
  const uri = await targetConfig(arg, 'Model Summary');
  if (!uri) return undefined;
  await saveIfDirty(uri.fsPath);
  return execInTerminal(ctx, 'Model Summary', ['summary', uri.fsPath], ctx.service.folderOf(uri.fsPath));
}

export async function benchmark(ctx: RunCommandContext, arg?: unknown, kind?: string): Promise<ManagedProcess | undefined> {
  if (!ensureTrusted('Benchmark')) return undefined;
  const dir = await targetRun(ctx, arg, 'Benchmark which run?', hasCheckpoint);
  if (!dir) return undefined;
  const which =
    typeof kind === 'string'
      ? kind
      : (
          await vscode.window.showQuickPick(
            [
              { label: 'knn', description: 'weighted kNN accuracy of the frozen features' },
              { label: 'linear', description: 'linear probe on the frozen features' },
            ],
            { title: `Benchmark ${path.basename(dir)}` },
          )
        )?.label;
  if (!which) return undefined;
  return execInTerminal(ctx, 'Benchmark', ['benchmark', which, dir], ctx.service.folderOf(dir), async (p) => {
    void vscode.window.showInformationMessage(`Benchmark ${which} of ${path.basename(dir)}: ${p.tail(1)}`);
  });
}

export async function debugTraining(ctx: RunCommandContext, arg?: unknown, options: StartOptions = {}): Promise<boolean> {
  if (!ensureTrusted('Debug Training')) return false;
  const uri = await targetConfig(arg, 'Debug Training');
  if (!uri) return false;
  const args = await askArgs(ctx, uri.fsPath, `Debug training ${path.basename(uri.fsPath)}`, options.args);
  if (!args) return false;
  await saveIfDirty(uri.fsPath);
  ctx.crashes.clearConfig(uri.fsPath);
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  return vscode.debug.startDebugging(folder, { type: DEBUG_TYPE, request: 'launch', name: `Debug training ${path.basename(uri.fsPath)}`, config: uri.fsPath, args, backend: options.backend });
}

async function revealPath(p: string): Promise<void> {
  const uri = vscode.Uri.file(p);
  if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
  else await vscode.commands.executeCommand('revealFileInOS', uri);
}

export async function openLog(ctx: RunCommandContext, arg?: unknown): Promise<void> {
  const dir = await targetRun(ctx, arg, 'Open the log of which run?', () => true);
  if (!dir) return;
  const log = path.join(dir, RUN_FILES.log);
  const file = fs.existsSync(log) ? log : path.join(dir, RUN_FILES.output);
  if (!fs.existsSync(file)) {
    void vscode.window.showWarningMessage(`${path.basename(dir)} has no log yet.`);
    return;
  }
  const editor = await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
  const last = editor.document.lineCount - 1;
  editor.revealRange(new vscode.Range(last, 0, last, 0));
}

export async function openOutput(ctx: RunCommandContext, arg?: unknown): Promise<void> {
  const dir = await targetRun(ctx, arg, 'Show the output of which run?', () => true);
  if (dir) ctx.service.showRunOutput(dir);
}

export async function openFolder(ctx: RunCommandContext, arg?: unknown): Promise<void> {
  const dir = await targetRun(ctx, arg, 'Open the folder of which run?', () => true);
  if (dir) await revealPath(dir);
}

export async function openConfig(ctx: RunCommandContext, arg?: unknown): Promise<void> {
  const dir = await targetRun(ctx, arg, 'Open the config of which run?', () => true);
  if (!dir) return;
  // The config the run was started from while it is a file of the workspace (run.json names it:
  // data, not a licence to open any file), else the run's resolved copy; as the panels do.
  const original = workspaceFile(ctx.service.get(dir)?.info.config, workspaceFolderPaths());
  const file = original && fs.existsSync(original) ? original : path.join(dir, RUN_FILES.config);
  await vscode.window.showTextDocument(vscode.Uri.file(file));
}

export async function deleteRuns(ctx: RunCommandContext, arg?: unknown, selected?: unknown, confirmed = false): Promise<string[]> {
  let dirs = runDirsOf(arg, selected);
  if (!dirs.length) {
    const dir = await pickRun(ctx.service, 'Delete which run?', (r) => !canStopRun(r));
    if (!dir) return [];
    dirs = [dir];
  }
  // A pending Slurm job would start later against a deleted directory: it is stopped (cancelled) first.
  const live = dirs.filter((d) => {
    const r = ctx.service.get(d);
    return r && canStopRun(r);
  });
  if (live.length) {
    void vscode.window.showWarningMessage(`Stop ${live.map((d) => path.basename(d)).join(', ')} before deleting ${live.length === 1 ? 'it' : 'them'}.`);
    return [];
  }
  if (!confirmed) {
    const what = dirs.length === 1 ? `run ${path.basename(path.dirname(dirs[0]))}/${path.basename(dirs[0])}` : `${dirs.length} runs`;
    const elsewhere = dirs.flatMap((d) => {
      const host = ctx.service.get(d)?.elsewhere;
      return host ? [`${path.basename(d)} says it is running on ${host}, which this editor cannot check; delete it only if it has ended there.`] : [];
    });
    const answer = await vscode.window.showWarningMessage(`Delete ${what} with its checkpoints, metrics and logs? This cannot be undone.${elsewhere.length ? ` ${elsewhere.join(' ')}` : ''}`, { modal: true }, 'Delete');
    if (answer !== 'Delete') return [];
  }
  for (const dir of dirs) {
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.crashes.clearRun(dir);
    // An emptied config folder goes too.
    const parent = path.dirname(dir);
    if (fs.existsSync(parent) && fs.readdirSync(parent).length === 0) fs.rmdirSync(parent);
  }
  return dirs;
}

/** The status bar item's click: the dashboard when the panels offer one, else the run's output. */
export async function showActiveRun(ctx: RunCommandContext, arg?: unknown): Promise<void> {
  const dir = runDirOf(arg) ?? ctx.status.active;
  if (!dir) return;
  if (ctx.dashboard) await vscode.commands.executeCommand(PANEL_COMMANDS.openDashboard, dir);
  else ctx.service.showRunOutput(dir);
}
