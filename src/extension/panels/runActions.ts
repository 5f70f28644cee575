/**
 * What the buttons of a run do. Stop, Resume and Export belong to the runs support (src/extension/runs):
 * its commands, registered in the same activation before the panels (extension.ts), are executed
 * with the run directory. Opening files and panels is done here.
 */
import * as vscode from 'vscode';
import { readRunSummary } from '../../report/runFiles';
import { runFile } from '../../rundir';
import { RunAction } from '../protocol';
import { workspaceFile } from './messageGuard';
import { openFile, workspaceFolderPaths } from './panelBase';
import { PANEL_COMMANDS, RUN_COMMANDS } from '../ids';

/** The buttons that are commands of the runs support. */
const RUN_ACTION_COMMANDS = { [RunAction.Stop]: RUN_COMMANDS.stopRun, [RunAction.Resume]: RUN_COMMANDS.resumeRun, [RunAction.Export]: RUN_COMMANDS.export } as const;

export async function runAction(action: RunAction, dir: string): Promise<void> {
  switch (action) {
    case RunAction.Stop:
    case RunAction.Resume:
    case RunAction.Export: {
      await vscode.commands.executeCommand(RUN_ACTION_COMMANDS[action], dir);
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
