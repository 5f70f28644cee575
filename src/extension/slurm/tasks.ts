/**
 * Tasks of type `cvw-slurm` (tasks.json), which submit a config as "Submit to Slurm…" does, with
 * the choices in the task instead of questions (unset ones from the `cvWorkbench.slurm.*` settings):
 *
 *   { "type": "cvw-slurm", "config": "configs/x.yaml", "nodes": 2, "ntasksPerNode": 4, "gpusPerTask": 1,
 *     "partition": "gpu", "time": "4:00:00", "args": ["--max-iters", "1000"] }
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunsService } from '../runs';
import { SLURM_TASK_TYPE } from '../ids';
import type { SlurmSubmitChoice } from './args';
import { slurmDefaults, submitToSlurm } from './submit';

interface SlurmTaskDefinition extends vscode.TaskDefinition, Partial<SlurmSubmitChoice> {
  type: typeof SLURM_TASK_TYPE;
  config: string;
}

export class SlurmTaskProvider implements vscode.TaskProvider {
  constructor(
    private readonly service: RunsService,
    private readonly afterSubmit: () => void,
  ) {}

  provideTasks(): vscode.Task[] {
    return [];
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as SlurmTaskDefinition;
    if (def.type !== SLURM_TASK_TYPE || typeof def.config !== 'string') return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
    const cwd = folder?.uri.fsPath ?? process.cwd();
    const execution = new vscode.CustomExecution(async () => {
      const write = new vscode.EventEmitter<string>();
      const close = new vscode.EventEmitter<number>();
      return {
        onDidWrite: write.event,
        onDidClose: close.event,
        open: () => {
          const config = path.resolve(cwd, def.config);
          const choice = { ...slurmDefaults(vscode.Uri.file(config)), ...def };
          write.fire(`cvw submit ${def.config} (${choice.nodes} node(s) x ${choice.ntasksPerNode} rank(s))\r\n`);
          void submitToSlurm(this.service, config, choice, this.afterSubmit).then(
            (r) => {
              write.fire(r ? `Slurm job ${r.jobId ?? '?'}: ${r.runDir}\r\n` : 'not submitted (see the CV Workbench output)\r\n');
              close.fire(r ? 0 : 1);
            },
            (e: Error) => {
              // e.g. no cvw to start: the task ends with the reason instead of hanging open.
              write.fire(`not submitted: ${e.message}\r\n`);
              close.fire(1);
            },
          );
        },
        close: () => undefined,
      };
    });
    return new vscode.Task(def, folder ?? vscode.TaskScope.Workspace, task.name || `submit ${def.config}`, SLURM_TASK_TYPE, execution);
  }
}
