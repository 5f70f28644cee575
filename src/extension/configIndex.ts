/**
 * The workspace's trainable configs, for the explorer's Train, Debug and Submit to Slurm entries.
 * A `when` clause cannot read a file, and configs outside `cvWorkbench.configGlob` are known by
 * their content, so the extension lists them in a context key and package.json asks
 * `resourcePath in cvWorkbench.trainableConfigs` (`resourcePath` is the file's fsPath).
 *
 * A trainable config is what isConfigDocument accepts, read from disk, less `_base_` fragments.
 * The scan is bounded (MAX_FILES names from findFiles, files of at most MAX_DETECTION_BYTES read). Until
 * `cvWorkbench.configIndexComplete` says a scan listed them all (before the extension is active,
 * or where the scan hit the bound), the menus show on every YAML/JSON file outside `_base_/`
 * (Train on a file that is not a config reports the validator's errors).
 */
import * as vscode from 'vscode';
import { isBaseConfigFile } from '../core/check';
import { readRegularFile } from '../core/boundedRead';
import { CONFIG_FILE_PATTERN, looksLikeConfigText, MAX_DETECTION_BYTES } from './configDetection';
import { isUnderConfigGlob } from './configDocuments';
import { CONTEXT, SETTINGS, SETTINGS_SECTION } from './ids';

const PATTERN = '**/*.{yaml,yml,json}';
/** Folders whose YAML is never a user's config: skipped by the scan and the watcher's updates. */
const SKIPPED = /[\\/](?:node_modules|\.git|work_dirs)[\\/]/;
export const MAX_FILES = 5000;
/** Time spent reading files between yields to the event loop, so that a scan never stalls the extension host. */
const SLICE_MS = 20;

/** True when the file at `file` (a YAML or JSON path) is a config one can train. */
export function isTrainableConfigFile(uri: vscode.Uri): boolean {
  const file = uri.fsPath;
  if (!CONFIG_FILE_PATTERN.test(file) || SKIPPED.test(file) || isBaseConfigFile(file)) return false;
  if (isUnderConfigGlob(uri)) return true;
  if (!/\.ya?ml$/i.test(file)) return false;
  const text = readSmallText(file);
  return text !== undefined && looksLikeConfigText(text);
}

/** The text of a regular file of at most MAX_DETECTION_BYTES, else undefined (a FIFO, a device, a big or vanished file). */
function readSmallText(file: string): string | undefined {
  try {
    // Non-blocking, and checked on the descriptor: a FIFO named x.yaml must not hang the host.
    return readRegularFile(file, { what: 'YAML file', maxBytes: MAX_DETECTION_BYTES }).toString('utf8');
  } catch {
    return undefined;
  }
}

export class ConfigFileIndex implements vscode.Disposable {
  private readonly files = new Set<string>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private generation = 0;
  private publishTimer: NodeJS.Timeout | undefined;
  /** Settles when the first scan has been published. */
  readonly ready: Promise<void>;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher(PATTERN);
    this.subscriptions.push(
      watcher,
      watcher.onDidCreate((uri) => this.recheck(uri)),
      watcher.onDidChange((uri) => this.recheck(uri)),
      watcher.onDidDelete((uri) => this.forget(uri)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.scan()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SETTINGS_SECTION}.${SETTINGS.configGlob}`)) void this.scan();
      }),
    );
    this.ready = this.scan();
  }

  /** The trainable configs' fsPaths, sorted. */
  list(): string[] {
    return [...this.files].sort();
  }

  private async scan(): Promise<void> {
    const generation = ++this.generation;
    const found = await vscode.workspace.findFiles(PATTERN, '**/{node_modules,.git,work_dirs}/**', MAX_FILES);
    const files = new Set<string>();
    let slice = Date.now();
    for (const uri of found) {
      if (isTrainableConfigFile(uri)) files.add(uri.fsPath);
      if (Date.now() - slice < SLICE_MS) continue;
      await new Promise((resolve) => setImmediate(resolve));
      if (generation !== this.generation) return; // a newer scan (folders or the glob changed) owns the result
      slice = Date.now();
    }
    this.files.clear();
    for (const f of files) this.files.add(f);
    void vscode.commands.executeCommand('setContext', CONTEXT.configIndexComplete, found.length < MAX_FILES);
    this.publishNow();
  }

  private recheck(uri: vscode.Uri): void {
    if (uri.scheme !== 'file') return;
    const was = this.files.has(uri.fsPath);
    const is = isTrainableConfigFile(uri);
    if (was === is) return;
    if (is) this.files.add(uri.fsPath);
    else this.files.delete(uri.fsPath);
    this.publishSoon();
  }

  private forget(uri: vscode.Uri): void {
    // A deleted folder is reported as itself, not file by file: its configs stay listed, harmlessly
    // (no explorer row names them), until a file created at their path is checked again.
    if (this.files.delete(uri.fsPath)) this.publishSoon();
  }

  /** A save, a checkout or a generator changes many files at once: one context update for them. */
  private publishSoon(): void {
    if (this.publishTimer) return;
    this.publishTimer = setTimeout(() => this.publishNow(), 200);
  }

  private publishNow(): void {
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    void vscode.commands.executeCommand('setContext', CONTEXT.trainableConfigs, this.list());
  }

  dispose(): void {
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.generation++;
    for (const s of this.subscriptions) s.dispose();
  }
}
