/**
 * What a command was given, read one way for every command. VS Code calls a command with whatever
 * the place it is invoked from holds: a Uri (explorer, editor title, CodeLens), a node of a tree
 * view and the view's selection (context menus), a run directory path (panels, status bar,
 * notifications, tests), a run record, or an array of directories (code).
 *
 * No vscode import (a Uri is recognised by its shape), so that the parsing is unit-tested.
 */
import * as path from 'node:path';
import { CONFIG_FILE_PATTERN } from './configDetection';

/** The part of a vscode.Uri the parser reads. */
export interface UriLike {
  scheme: string;
  fsPath: string;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return !!x && typeof x === 'object';
}

export function isUriLike(x: unknown): x is UriLike {
  return isObject(x) && typeof x.scheme === 'string' && typeof x.fsPath === 'string';
}

/**
 * The run directory an argument names, absolute: a path, a Uri, a Runs view node or run record
 * (`{ dir }`), a record wrapped in `{ run: { dir } }`, a tree item (`{ resourceUri }`).
 */
export function runDirOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg ? path.resolve(arg) : undefined;
  if (!isObject(arg) || Array.isArray(arg)) return undefined;
  if (isUriLike(arg)) return path.resolve(arg.fsPath);
  if (typeof arg.dir === 'string') return path.resolve(arg.dir);
  if (isObject(arg.run) && typeof arg.run.dir === 'string') return path.resolve(arg.run.dir);
  if (isUriLike(arg.resourceUri)) return path.resolve(arg.resourceUri.fsPath);
  return undefined;
}

/**
 * The run directories a command acts on, without duplicates. From a tree view with multi-select
 * VS Code passes (clicked node, selected nodes): the selection when the clicked node is part of it,
 * else the clicked node alone (as the explorer does). From code: an array of directories first.
 */
export function runDirsOf(first: unknown, selected?: unknown): string[] {
  const dirsOf = (list: unknown[]) => [...new Set(list.map(runDirOf).filter((d): d is string => !!d))];
  if (Array.isArray(first)) return dirsOf(first);
  const all = Array.isArray(selected) ? dirsOf(selected) : [];
  const one = runDirOf(first);
  if (one && all.includes(one)) return all;
  return one ? [one] : all;
}

/** A config file on disk (a `file:` Uri of a YAML or JSON file), as commands that train take it. */
export function configFileOf(arg: unknown): string | undefined {
  return isUriLike(arg) && arg.scheme === 'file' && CONFIG_FILE_PATTERN.test(arg.fsPath) ? arg.fsPath : undefined;
}
