/**
 * Workspace trust (Restricted Mode). A cloned repository is not the user's code: in a workspace
 * that is not trusted the extension runs none of it. The language features work without loading
 * `custom_imports` (an information diagnostic on the key says why), and everything that would run
 * the workspace's code — training, resuming, debugging, evaluation, export, benchmarks, reports,
 * the workspace's own `node_modules/cv-workbench` — is refused with a message that offers to
 * manage trust. package.json declares `untrustedWorkspaces: limited`; granting trust re-validates
 * (the listeners of `onDidGrantWorkspaceTrust`).
 */
import * as vscode from 'vscode';
import type { CheckOptions } from '../core/check';

export const MANAGE_TRUST_COMMAND = 'workbench.trust.manage';
export const MANAGE_TRUST = 'Manage Workspace Trust';

/** Why `custom_imports` are not loaded, for the information diagnostic on the key. */
export const UNTRUSTED_REASON = 'this workspace is not trusted (Restricted Mode), and loading them would run its code; trust the workspace to check them';

export function workspaceTrusted(): boolean {
  return vscode.workspace.isTrusted;
}

/** How configs are checked here: custom modules only in a trusted workspace. */
export function trustCheckOptions(): Pick<CheckOptions, 'customImports' | 'customImportsOffReason'> {
  return workspaceTrusted() ? {} : { customImports: false, customImportsOffReason: UNTRUSTED_REASON };
}

/** The message of a refused action (also the text the e2e tests look for). */
export function untrustedMessage(action: string): string {
  return `${action} is not available: this workspace is not trusted, and it would run the workspace's code (custom_imports, its node_modules/cv-workbench). Trust the workspace to allow it.`;
}

/**
 * True in a trusted workspace. Otherwise shows why `action` is refused, with a button that opens
 * the workspace trust editor, and returns false.
 */
export function ensureTrusted(action: string): boolean {
  if (workspaceTrusted()) return true;
  void vscode.window.showWarningMessage(untrustedMessage(action), MANAGE_TRUST).then((choice) => {
    if (choice === MANAGE_TRUST) void vscode.commands.executeCommand(MANAGE_TRUST_COMMAND);
  });
  return false;
}
