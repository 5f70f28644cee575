/**
 * "Submit to Slurm…" (CodeLens beside Train, command palette, editor context): asks for the
 * partition, nodes, ranks per node, GPUs per rank and time limit (defaults from the
 * `cvWorkbench.slurm.*` settings), runs `cvw submit`, and the run shows in the Runs view as
 * `pending` at once (cvw submit writes it before releasing the job).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SETTINGS_SECTION, SLURM_SETTINGS } from '../ids';
import { ensureTrusted } from '../trust';
import type { RunsService } from '../runs';
import { countInput, parseSubmitOutput, submitArgs, type SlurmSubmitChoice } from './args';
import { numberSetting } from '../numberSettings';

export function slurmDefaults(scope?: vscode.Uri): SlurmSubmitChoice {
  const c = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  return {
    partition: c.get<string>(SLURM_SETTINGS.partition, ''),
    nodes: numberSetting(SLURM_SETTINGS.nodes, c.get(SLURM_SETTINGS.nodes)),
    ntasksPerNode: numberSetting(SLURM_SETTINGS.ntasksPerNode, c.get(SLURM_SETTINGS.ntasksPerNode)),
    gpusPerTask: numberSetting(SLURM_SETTINGS.gpusPerTask, c.get(SLURM_SETTINGS.gpusPerTask)),
    time: c.get<string>(SLURM_SETTINGS.time, ''),
  };
}

/** Ask for each choice, starting from `defaults`; undefined when the user cancels. */
async function askChoice(defaults: SlurmSubmitChoice): Promise<SlurmSubmitChoice | undefined> {
  const ask = (prompt: string, value: string, validate?: (v: string) => string | undefined) =>
    vscode.window.showInputBox({ title: 'Submit to Slurm', prompt, value, ignoreFocusOut: true, validateInput: validate });
  const count = (what: string, zeroOk = false) => (v: string) => {
    const r = countInput(v, what, zeroOk);
    return typeof r === 'string' ? r : undefined;
  };
  const partition = await ask('Partition (empty: the cluster\'s default)', defaults.partition ?? '');
  if (partition === undefined) return undefined;
  const nodes = await ask('Nodes', String(defaults.nodes), count('nodes'));
  if (nodes === undefined) return undefined;
  const tasks = await ask('Ranks (processes) per node', String(defaults.ntasksPerNode), count('ranks per node'));
  if (tasks === undefined) return undefined;
  const gpus = await ask('GPUs per rank (0: none)', String(defaults.gpusPerTask ?? 0), count('GPUs per rank', true));
  if (gpus === undefined) return undefined;
  const time = await ask('Time limit, e.g. 2:00:00 (empty: the partition\'s)', defaults.time ?? '');
  if (time === undefined) return undefined;
  return { partition, nodes: Number(nodes), ntasksPerNode: Number(tasks), gpusPerTask: Number(gpus), time };
}

function configUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string') return vscode.Uri.file(arg);
  return vscode.window.activeTextEditor?.document.uri;
}

export interface SubmitResult {
  runDir: string;
  jobId?: string;
}

/**
 * Submit `arg` (a config's uri or path; else the active editor's). `choice` skips the questions
 * (tasks, tests); the run directory and job id come back, or undefined when cancelled or refused.
 */
export async function submitToSlurm(service: RunsService, arg?: unknown, choice?: SlurmSubmitChoice, afterSubmit?: () => void): Promise<SubmitResult | undefined> {
  const uri = configUri(arg);
  if (!uri || uri.scheme !== 'file') {
    void vscode.window.showErrorMessage('Submit to Slurm: open a config (YAML or JSON) first, or run the command from its CodeLens');
    return undefined;
  }
  if (!ensureTrusted('Submitting to Slurm')) return undefined;
  const chosen = choice ?? (await askChoice(slurmDefaults(uri)));
  if (!chosen) return undefined;
  // What the job trains is the file on disk.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open?.isDirty) await open.save();
  const cwd = service.folderOf(uri.fsPath);
  const proc = service.manager.exec(submitArgs(uri.fsPath, chosen), { cwd });
  service.logStart(proc, 'submit to Slurm');
  let text = '';
  const listening = proc.onOutput((t) => (text += t));
  const exit = await proc.exited;
  listening.dispose();
  const result = exit.code === 0 ? parseSubmitOutput(text) : undefined;
  if (!result) {
    service.output.appendLine(text);
    void vscode.window.showErrorMessage(`cvw submit ${path.basename(uri.fsPath)} failed: ${proc.tail(6) || `exit code ${exit.code}`}`);
    return undefined;
  }
  service.refresh(result.runDir);
  afterSubmit?.();
  service.output.appendLine(`submit to Slurm: job ${result.jobId ?? '?'}, run ${result.runDir}`);
  void vscode.window.showInformationMessage(`Submitted ${path.basename(uri.fsPath)} to Slurm as job ${result.jobId ?? '?'}: pending in the Runs view until it starts.`);
  return result;
}
