/**
 * "Create Sample Workspace" (the walkthrough's first step): src/templates/sampleWorkspace.ts's
 * samples copied into the open folder, or into a folder the user picks, which is then opened.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SAMPLE_CONFIG, writeSampleWorkspace } from '../../templates/sampleWorkspace';

export async function createSampleWorkspace(extensionRoot: string, target?: string): Promise<string | undefined> {
  let folder = target ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const openAfter = !folder;
  if (!folder) {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Create the sample workspace here', title: 'Folder for the CV Workbench sample workspace' });
    folder = picked?.[0]?.fsPath;
    if (!folder) return undefined;
  }
  let written: string[];
  try {
    written = writeSampleWorkspace(extensionRoot, folder);
  } catch (err) {
    void vscode.window.showErrorMessage(`Create Sample Workspace: ${(err as Error).message}`);
    return undefined;
  }
  const config = path.join(folder, SAMPLE_CONFIG);
  if (openAfter) {
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(folder));
    return folder;
  }
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(config));
  void vscode.window.showInformationMessage(
    written.length ? `Sample workspace: ${written.length} files written (data/fashion-mnist-sample, data/images-sample, configs/). Train opens from the editor's Train lens.` : 'Sample workspace: every file was there already.',
  );
  return folder;
}
