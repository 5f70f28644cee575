/**
 * Tasks of type `cvw`, so that training can live in tasks.json and be bound to keys:
 *
 *   { "type": "cvw", "command": "train", "config": "configs/x.yaml", "args": ["--max-iters", "100"] }
 *   { "type": "cvw", "command": "resume", "run": "work_dirs/x/20261128-120000" }
 *   { "type": "cvw", "command": "eval" | "export" | "benchmark knn" | "benchmark linear", "run": "..." }
 *
 * Each runs in a pseudo-terminal through the run manager (a training is a run like any other: it
 * shows in the Runs view); terminating the task stops the run with SIGINT (a last checkpoint).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ManagedProcess } from '../../runs/manager';
import { configGlob } from '../configDocuments';
import { CONFIG_FILE_PATTERN } from '../configDetection';
import { TASK_TYPE } from '../ids';
import { OutputPty } from './terminal';
import { runSettings, type RunsService } from './service';
import { ensureTrusted, untrustedMessage } from '../trust';

export const TASK_COMMANDS = ['train', 'resume', 'eval', 'export', 'benchmark knn', 'benchmark linear'] as const;
export type TaskCommand = (typeof TASK_COMMANDS)[number];

export interface CvwTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  command: TaskCommand;
  /** The config to train (relative to the workspace folder). */
  config?: string;
  /** The run to resume, evaluate, export or benchmark. */
  run?: string;
  args?: string[];
  backend?: string;
  detached?: boolean;
}

/** Start what a task definition asks for; throws with a message a person can act on. */
function start(service: RunsService, def: CvwTaskDefinition, cwd: string): { proc: ManagedProcess; stop: () => void; onStarted?: (dir: string) => void } {
  const settings = runSettings(vscode.Uri.file(cwd));
  const backend = def.backend ?? (settings.backend || undefined);
  const args = def.args ?? [];
  const need = (key: 'config' | 'run') => {
    const v = def[key];
    if (!v) throw new Error(`a cvw task with "command": "${def.command}" needs "${key}"`);
    return path.resolve(cwd, v);
  };
  switch (def.command) {
    case 'train': {
      const run = service.manager.train({ config: need('config'), cwd, args, backend, detached: def.detached ?? settings.detached });
      return { proc: run, stop: () => void service.manager.stop(run.runDir, { graceMs: settings.stopGraceSeconds * 1000 }) };
    }
    case 'resume': {
      const run = service.manager.resume({ runDir: need('run'), args, backend, detached: def.detached ?? settings.detached });
      return { proc: run, stop: () => void service.manager.stop(run.runDir, { graceMs: settings.stopGraceSeconds * 1000 }) };
    }
    default: {
      const words = def.command.split(' ');
      const proc = service.manager.exec([...words, need('run'), ...args, ...(backend && words[0] !== 'export' ? ['--backend', backend] : [])], { cwd });
      return { proc, stop: () => proc.signal('SIGINT') };
    }
  }
}

/** The terminal of a task: starts the process when opened, ends with its exit code. */
class TaskPty implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private inner: OutputPty | undefined;
  private stop: (() => void) | undefined;

  constructor(
    private readonly service: RunsService,
    private readonly def: CvwTaskDefinition,
    private readonly cwd: string,
  ) {}

  open(): void {
    if (!ensureTrusted(`The cvw ${this.def.command} task`)) {
      this.writeEmitter.fire(`cvw task: ${untrustedMessage(`The cvw ${this.def.command} task`)}\r\n`);
      this.closeEmitter.fire(2);
      return;
    }
    let started;
    try {
      started = start(this.service, this.def, this.cwd);
    } catch (e) {
      this.writeEmitter.fire(`cvw task: ${(e as Error).message}\r\n`);
      this.closeEmitter.fire(2);
      return;
    }
    this.stop = started.stop;
    this.service.logStart(started.proc, `task ${this.def.command}`);
    this.inner = new OutputPty(started.proc, { header: `$ cvw ${started.proc.argv.slice(2).join(' ')}`, closeOnExit: true, onInterrupt: started.stop });
    this.inner.onDidWrite((t) => this.writeEmitter.fire(t));
    this.inner.onDidClose((code) => this.closeEmitter.fire(code));
    this.inner.open();
  }

  handleInput(data: string): void {
    this.inner?.handleInput(data);
  }

  /** The task was terminated (or its terminal closed): stop the process as Ctrl+C would. */
  close(): void {
    this.stop?.();
    this.inner?.close();
  }
}

export class CvwTaskProvider implements vscode.TaskProvider {
  constructor(private readonly service: RunsService) {}

  /** One `train` task per config of the workspace (the Run Task list). */
  async provideTasks(): Promise<vscode.Task[]> {
    const tasks: vscode.Task[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const files = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, configGlob(folder)), '**/{node_modules,_base_}/**', 200);
      for (const uri of files) {
        if (!CONFIG_FILE_PATTERN.test(uri.fsPath)) continue;
        const def: CvwTaskDefinition = { type: TASK_TYPE, command: 'train', config: path.relative(folder.uri.fsPath, uri.fsPath) };
        tasks.push(this.task(def, folder));
      }
    }
    return tasks;
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as CvwTaskDefinition;
    if (def.type !== TASK_TYPE || !(TASK_COMMANDS as readonly string[]).includes(def.command)) return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
    return this.task(def, folder, task.name);
  }

  task(def: CvwTaskDefinition, folder: vscode.WorkspaceFolder | undefined, name?: string): vscode.Task {
    const cwd = folder?.uri.fsPath ?? process.cwd();
    const label = name ?? `${def.command} ${def.config ?? def.run ?? ''}`.trim();
    const task = new vscode.Task(def, folder ?? vscode.TaskScope.Workspace, label, TASK_TYPE, new vscode.CustomExecution(async () => new TaskPty(this.service, def, cwd)));
    task.group = def.command === 'train' || def.command === 'resume' ? vscode.TaskGroup.Build : undefined;
    task.isBackground = false;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
    return task;
  }
}
