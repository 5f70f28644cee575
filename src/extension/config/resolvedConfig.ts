/**
 * "Show Resolved Config": the fully merged config (its `_base_` chain, optional command-line
 * overrides, the schema's defaults) as a read-only YAML document, in which every value says where
 * it came from — the file and line that set it, the override, or the default — as an inlay hint
 * at the end of its line and as a hover; both link to that line. The text and the origins are
 * those of `cvw config print --origins` (src/core/config/resolvedView.ts).
 *
 * The document's URI carries the config and the overrides, so a restored tab shows the same view
 * again; it follows edits of the config and of its bases (open buffers included).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseArgs, UsageError } from '../../cli/args';
import { configPrintCommand } from '../../cli/commands/config';
import { checkConfig } from '../../core/check';
import { describeOrigin, resolvedView, type ResolvedValue, type ResolvedView } from '../../core/config/resolvedView';
import { withDefaults } from '../../core/defaults';
import { clip } from '../../core/format';
import type { Origin } from '../../core/config/yamlFile';
import { COMMAND_LINE, formatProblem } from '../../core/problems';
import { ArgumentsError, parseRunArgs } from '../../runs/args';
import { CONFIG_FILE_PATTERN } from '../configDetection';
import { COMMANDS } from '../ids';
import { openBufferReader, toVsRange } from '../language/documents';
import { ensureRegistry } from '../registry';
import { trustCheckOptions } from '../trust';
import { escapeMarkdown } from '../../core/markdown';

export const RESOLVED_SCHEME = 'cvw-resolved';
/** Edits pause this long before the open resolved views are computed again. */
const REFRESH_DELAY_MS = 300;
/** Errors listed at the top of a view of a config that has some (the view is then a best effort). */
const MAX_ERRORS_SHOWN = 5;

interface Target {
  /** The config file (absolute). */
  file: string;
  /** Override words, as typed for `cvw config print` (`--optimizer.lr 0.01`). */
  args: string[];
}

interface Shown {
  view: ResolvedView;
  /** Every file the config read: a change to any of them refreshes the view. */
  files: string[];
  /** The folder origins are shown relative to. */
  root: string;
}

/** A Markdown link to the line an origin names (the override's text for the command line). */
function originLink(origin: Origin, root: string): string {
  const label = escapeMarkdown(describeOrigin(origin, root));
  if (origin.file === COMMAND_LINE) return label;
  const at = origin.key ?? origin.value;
  return `[${label}](${vscode.Uri.file(origin.file).with({ fragment: `L${at.start.line + 1},${at.start.character + 1}` }).toString()})`;
}

/** The URI of the resolved view of `target`: `<dir>/<name> (resolved).yaml`, the target in the query. */
export function resolvedUri(target: Target): vscode.Uri {
  const name = path.basename(target.file).replace(CONFIG_FILE_PATTERN, '');
  return vscode.Uri.from({ scheme: RESOLVED_SCHEME, path: path.join(path.dirname(target.file), `${name} (resolved).yaml`), query: JSON.stringify(target) });
}

function targetOf(uri: vscode.Uri): Target {
  return JSON.parse(uri.query) as Target;
}

/** The overrides of `words`, parsed as `cvw config print` parses them (errors name the option). */
function overridesOf(file: string, words: string[]) {
  return parseArgs(configPrintCommand, [file, ...words]).overrides;
}

/** Where origin paths are shown from: the workspace folder of the config, else its folder. */
function rootOf(file: string): string {
  return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))?.uri.fsPath ?? path.dirname(file);
}

export class ResolvedConfigProvider implements vscode.TextDocumentContentProvider, vscode.HoverProvider, vscode.InlayHintsProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly hintsChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeInlayHints = this.hintsChanged.event;
  private readonly shown = new Map<string, Shown>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  provideTextDocumentContent(uri: vscode.Uri): string {
    const target = targetOf(uri);
    ensureRegistry();
    const { loaded, problems } = checkConfig(target.file, { readText: openBufferReader(), overrides: overridesOf(target.file, target.args), ...trustCheckOptions() });
    const root = rootOf(target.file);
    const errors = problems.filter((p) => p.severity === 'error');
    const header = [
      `${path.relative(root, target.file)}${target.args.length ? ' ' + target.args.join(' ') : ''}, resolved: _base_ files merged, overrides applied, defaults filled in.`,
      'Each value says where it was set (hover, or the hint at the end of its line).',
      ...errors.slice(0, MAX_ERRORS_SHOWN).map((p) => formatProblem(p, root)),
      ...(errors.length > MAX_ERRORS_SHOWN ? [`... ${errors.length - MAX_ERRORS_SHOWN} more errors`] : []),
    ];
    const view = resolvedView(withDefaults(loaded.config), loaded.origins, loaded.config, { header, overridden: loaded.overridden });
    this.shown.set(uri.toString(), { view, files: loaded.files, root });
    this.hintsChanged.fire();
    return view.text;
  }

  /** The value whose line `position` is on. */
  private valueAt(document: vscode.TextDocument, position: vscode.Position): { value: ResolvedValue; shown: Shown } | undefined {
    const shown = this.shown.get(document.uri.toString());
    const value = shown?.view.values.find((v) => v.range.start.line === position.line);
    return shown && value ? { value, shown } : undefined;
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const found = this.valueAt(document, position);
    if (!found) return undefined;
    const { value, shown } = found;
    const md = new vscode.MarkdownString(`**${escapeMarkdown(value.path)}**\n\n`);
    const origin = value.origin;
    if (!origin) md.appendMarkdown('The default of the schema: no file and no override sets it.');
    else if (origin.file === COMMAND_LINE) md.appendMarkdown('Set on the command line: ').appendCodeblock(origin.arg ?? '', 'shell');
    else md.appendMarkdown(`Set by ${originLink(origin, shown.root)}`);
    // What it replaced, the latest first: the chain a value went through, each step a link.
    const before = [...(value.overridden ?? [])].reverse();
    if (before.length) md.appendMarkdown(`\n\nOverrides ${before.map((o) => `${originLink(o.origin, shown.root)} (${escapeMarkdown(clip(JSON.stringify(o.value) ?? 'null', 60))})`).join(', ')}`);
    return new vscode.Hover(md, toVsRange(value.key ?? value.range).union(toVsRange(value.range)));
  }

  provideInlayHints(document: vscode.TextDocument, range: vscode.Range): vscode.InlayHint[] {
    const shown = this.shown.get(document.uri.toString());
    if (!shown) return [];
    const hints: vscode.InlayHint[] = [];
    for (const value of shown.view.values) {
      if (value.range.start.line < range.start.line || value.range.start.line > range.end.line) continue;
      const origin = value.origin;
      const label = new vscode.InlayHintLabelPart(`← ${describeOrigin(origin, shown.root)}`);
      if (origin && origin.file !== COMMAND_LINE) {
        const at = toVsRange(origin.key ?? origin.value);
        label.location = new vscode.Location(vscode.Uri.file(origin.file), at);
        // Ctrl+click opens it; hovering previews it (VS Code shows that place's own hover).
        label.tooltip = `Open ${path.basename(origin.file)} at the line that set ${value.path}`;
      }
      const hint = new vscode.InlayHint(document.lineAt(value.range.start.line).range.end, [label]);
      hint.paddingLeft = true;
      hints.push(hint);
    }
    return hints;
  }

  /** Compute again, after a pause, the open views that read `file`. */
  refreshFor(file: string): void {
    const stale = [...this.shown].filter(([, s]) => s.files.includes(file)).map(([uri]) => uri);
    if (!stale.length) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      for (const uri of stale) this.changed.fire(vscode.Uri.parse(uri));
    }, REFRESH_DELAY_MS);
  }

  forget(uri: vscode.Uri): void {
    this.shown.delete(uri.toString());
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
    this.hintsChanged.dispose();
  }
}

/** The config of a command's argument (explorer), else of the active editor (a resolved view: its config). */
function configOf(arg: unknown): Target | undefined {
  const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
  if (uri?.scheme === RESOLVED_SCHEME) return targetOf(uri);
  return uri && uri.scheme === 'file' && CONFIG_FILE_PATTERN.test(uri.fsPath) ? { file: uri.fsPath, args: [] } : undefined;
}

/** The override words: given by the caller (a string or argv words), or asked for (empty: none). */
async function askOverrides(file: string, given: unknown): Promise<string[] | undefined> {
  const check = (words: string[]): string | undefined => {
    try {
      overridesOf(file, words);
      return undefined;
    } catch (e) {
      if (e instanceof UsageError || e instanceof ArgumentsError) return e.message;
      throw e;
    }
  };
  if (Array.isArray(given)) return given.map(String);
  const text =
    typeof given === 'string'
      ? given
      : await vscode.window.showInputBox({
          title: `Show Resolved Config: ${path.basename(file)}`,
          prompt: 'Config overrides, as for cvw train (empty: the config as it is)',
          placeHolder: '--optimizer.lr 0.01  data.train.batch_size=32',
          ignoreFocusOut: true,
          validateInput: (v) => {
            try {
              return check(parseRunArgs(v));
            } catch (e) {
              return (e as Error).message;
            }
          },
        });
  if (text === undefined) return undefined;
  const words = parseRunArgs(text);
  const problem = check(words);
  if (problem) {
    void vscode.window.showErrorMessage(`Show Resolved Config: ${problem}`);
    return undefined;
  }
  return words;
}

/** Show the resolved view of the config of `arg` (or the active editor), with `overrides` (asked when absent). */
export async function showResolvedConfig(arg?: unknown, overrides?: unknown): Promise<vscode.TextEditor | undefined> {
  const target = configOf(arg);
  if (!target) {
    void vscode.window.showWarningMessage('Show Resolved Config: open a config file (YAML or JSON) first.');
    return undefined;
  }
  const args = await askOverrides(target.file, overrides);
  if (!args) return undefined;
  const doc = await vscode.workspace.openTextDocument(resolvedUri({ file: target.file, args }));
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  await vscode.languages.setTextDocumentLanguage(doc, 'yaml');
  return editor;
}

export function registerResolvedConfig(context: vscode.ExtensionContext): ResolvedConfigProvider {
  const provider = new ResolvedConfigProvider();
  const selector: vscode.DocumentSelector = { scheme: RESOLVED_SCHEME };
  const refresh = (doc: vscode.TextDocument) => {
    if (doc.uri.scheme === 'file') provider.refreshFor(doc.uri.fsPath);
  };
  context.subscriptions.push(
    provider,
    vscode.workspace.registerTextDocumentContentProvider(RESOLVED_SCHEME, provider),
    vscode.languages.registerHoverProvider(selector, provider),
    vscode.languages.registerInlayHintsProvider(selector, provider),
    vscode.commands.registerCommand(COMMANDS.showResolvedConfig, showResolvedConfig),
    vscode.workspace.onDidChangeTextDocument((e) => refresh(e.document)),
    vscode.workspace.onDidSaveTextDocument(refresh),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      if (doc.uri.scheme === RESOLVED_SCHEME) provider.forget(doc.uri);
    }),
  );
  return provider;
}
