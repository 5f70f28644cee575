/**
 * The editor's notion of "a config": a text document that the extension validates and the
 * language features serve. Files under `cvWorkbench.configGlob` (relative to a workspace folder)
 * always are; YAML files elsewhere are when their content says so (see configDetection.ts).
 */
import * as vscode from 'vscode';
import { CONFIG_FILE_PATTERN, DEFAULT_CONFIG_GLOB, looksLikeConfigText, MAX_DETECTION_BYTES } from './configDetection';
import { SETTINGS, SETTINGS_SECTION } from './ids';

/** The config glob of `folder` (a resource setting: each folder of a multi-root workspace may set its own). */
export function configGlob(folder?: vscode.WorkspaceFolder): string {
  const glob = vscode.workspace.getConfiguration(SETTINGS_SECTION, folder?.uri).get<string>(SETTINGS.configGlob);
  return glob && glob.trim() ? glob.trim() : DEFAULT_CONFIG_GLOB;
}

/** True when the file path (a YAML or JSON file on disk) lies under the configured glob of its workspace folder. */
export function isUnderConfigGlob(uri: vscode.Uri): boolean {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  if (!folder) return false;
  // languages.match applies VS Code's own glob semantics (the ones users know from files.exclude).
  const selector: vscode.DocumentFilter = { pattern: new vscode.RelativePattern(folder, configGlob(folder)) };
  return vscode.languages.match(selector, { uri, languageId: '', isUntitled: false } as unknown as vscode.TextDocument) > 0;
}

/** Each open document's verdict by content, for its version: asked on every edit and editor switch. */
const byContent = new WeakMap<vscode.TextDocument, { version: number; config: boolean }>();

export function isConfigDocument(doc: vscode.TextDocument): boolean {
  if (doc.uri.scheme !== 'file' || !CONFIG_FILE_PATTERN.test(doc.uri.fsPath)) return false;
  if (isUnderConfigGlob(doc.uri)) return true;
  if (!/\.ya?ml$/i.test(doc.uri.fsPath)) return false;
  const known = byContent.get(doc);
  if (known?.version === doc.version) return known.config;
  // Its length without joining its lines: a large file (data, not a config) is not read.
  const length = doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
  const config = length <= MAX_DETECTION_BYTES && looksLikeConfigText(doc.getText());
  byContent.set(doc, { version: doc.version, config });
  return config;
}
