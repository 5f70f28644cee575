/**
 * Slurm in the editor (issue 18): "Submit to Slurm…" beside Train on every config (when `sbatch` is
 * on PATH), the `cvWorkbench.submitToSlurm` command, `cvw-slurm` tasks, and the queue poller that
 * keeps submitted runs' states true to Slurm's. The run itself is an ordinary run directory:
 * pending at once, then live in the Runs view like any other once the job writes it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isBaseConfigFile } from '../../core/check';
import { CONTEXT, SETTINGS_SECTION, SLURM_COMMANDS, SLURM_SETTINGS, SLURM_TASK_TYPE } from '../ids';
import { addConfigLens } from '../language';
import type { RunsApi } from '../runs';
import type { SlurmSubmitChoice } from './args';
import { SlurmQueuePoller } from './queue';
import { submitToSlurm } from './submit';
import { SlurmTaskProvider } from './tasks';
import { numberSetting } from '../numberSettings';

export interface SlurmApi {
  poller: SlurmQueuePoller;
  /** Whether the CodeLens is shown: sbatch was found on PATH at activation. */
  available: boolean;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

export function registerSlurm(context: vscode.ExtensionContext, runs: RunsApi, output: vscode.OutputChannel): SlurmApi {
  const service = runs.service;
  const seconds = numberSetting(SLURM_SETTINGS.pollSeconds, vscode.workspace.getConfiguration(SETTINGS_SECTION).get(SLURM_SETTINGS.pollSeconds));
  const poller = new SlurmQueuePoller(service, output, seconds * 1000);
  const afterSubmit = () => void poller.poll();
  const available = onPath('sbatch');
  void vscode.commands.executeCommand('setContext', CONTEXT.slurmAvailable, available);
  context.subscriptions.push(
    poller,
    vscode.commands.registerCommand(SLURM_COMMANDS.submit, (arg?: unknown, choice?: SlurmSubmitChoice) => submitToSlurm(service, arg, choice, afterSubmit)),
    vscode.tasks.registerTaskProvider(SLURM_TASK_TYPE, new SlurmTaskProvider(service, afterSubmit)),
  );
  if (available) {
    context.subscriptions.push(
      addConfigLens((doc) =>
        isBaseConfigFile(doc.uri.fsPath)
          ? []
          : [{ title: '$(server-process) Submit to Slurm…', command: SLURM_COMMANDS.submit, arguments: [doc.uri], tooltip: 'Train this config on a Slurm cluster (cvw submit): asks for partition, nodes, ranks and time' }],
      ),
    );
  }
  return { poller, available };
}
