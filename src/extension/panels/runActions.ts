/**
 * What the buttons of a run do. Stop, Resume and Export belong to the runs support (src/extension/runs):
 * its commands are executed with the run directory. Opening files and panels is done here.
 */
import * as vscode from 'vscode';
import { readRunSummary } from '../../report/runFiles';
import { runFile } from '../../rundir';
import { RunAction } from '../protocol';
import { workspaceFile } from './messageGuard';
import { openFile, workspaceFolderPaths } from './panelBase';
import { PANEL_COMMANDS, RUN_COMMANDS } from './panelCommands';

async function registered(id: string): Promise<boolean> {
  return (await vscode.commands.getCommands(true)).includes(id);
}

export async function runAction(action: RunAction, dir: string): Promise<void> {
  switch (action) {
    case RunAction.Stop:
    case RunAction.Resume:
    case RunAction.Export: {
      const id = RUN_COMMANDS[action];
      if (!(await registered(id))) throw new Error(`no command to ${action} runs is registered (the Runs view provides ${id})`);
      await vscode.commands.executeCommand(id, dir);
      return;
    }
    case RunAction.OpenConfig: {
      // The config the run was started from when it is still in the workspace (run.json names it:
      // data, not a licence to open any file), else the resolved copy.
      const source = workspaceFile(readRunSummary(dir).configFile, workspaceFolderPaths());
      await openFile(source ?? runFile(dir, 'config'));
      return;
    }
    case RunAction.OpenLog:
      await openFile(runFile(dir, 'log'));
      return;
    case RunAction.OpenFolder:
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(dir));
      return;
    case RunAction.OpenDashboard:
      await vscode.commands.executeCommand(PANEL_COMMANDS.openDashboard, dir);
      return;
    case RunAction.OpenReport:
      await vscode.commands.executeCommand(PANEL_COMMANDS.openReport, dir);
      return;
    default: {
      const unhandled: never = action;
      throw new Error(`unknown run action ${String(unhandled)}`);
    }
  }
}
