/**
 * Problems found in configs, and the error that carries them.
 *
 * A problem always says where: the file (or `<command line>` for an override), a 0-based range
 * like the Language Server Protocol's, the key path inside the resolved config, and what was
 * expected. The CLI prints `file:line:column: message` with 1-based numbers; editors use the
 * range directly.
 */

export interface Position {
  /** 0-based line. */
  line: number;
  /** 0-based UTF-16 column. */
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning' | 'info';

/** Where a value of the resolved config was written. */
export interface Location {
  /** Absolute path of the file, or `<command line>`. */
  file: string;
  range: Range;
}

export interface Problem {
  severity: Severity;
  message: string;
  file: string;
  range: Range;
  /** Dotted key path inside the resolved config (`model.backbone.depth`), '' for the root. */
  path: string;
  /** Replacement values the user probably meant ("did you mean X?"), best first. */
  suggestions?: string[];
  /** A short machine-readable code for editors' quick fixes. */
  code?: ProblemCode;
  /** Extra data for quick fixes: the missing parameters, the unknown key. */
  data?: Record<string, unknown>;
}

export type ProblemCode =
  | 'yaml-syntax'
  | 'file-not-found'
  | 'file-unreadable'
  | 'too-large'
  | 'base-cycle'
  | 'unknown-type'
  | 'wrong-slot'
  | 'missing-type'
  | 'unknown-key'
  | 'invalid-value'
  | 'missing-required'
  | 'bad-override'
  | 'shadowed-value'
  | 'custom-import';

import { clip } from './format';

export const COMMAND_LINE = '<command line>';

/**
 * Longest line of a message shown to a user. Values are clipped where they are echoed (format.ts);
 * this is the net under every message (problems, ConfigError, UserError) for what slips past.
 */
export const MESSAGE_LINE_LIMIT = 1000;

export function clipMessage(message: string): string {
  // Control characters from a file (a binary queue file's NUL, a planted ESC sequence) are shown,
  // not sent to the terminal: line breaks and tabs only pass.
  // eslint-disable-next-line no-control-regex -- matching them is the point
  const shown = message.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return shown.length <= MESSAGE_LINE_LIMIT ? shown : shown.split('\n').map((line) => clip(line, MESSAGE_LINE_LIMIT)).join('\n');
}

export const ZERO_RANGE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** `file:line:column: severity: message` with 1-based line and column, as compilers print. */
export function formatProblem(p: Problem, cwd = process.cwd()): string {
  const file = p.file === COMMAND_LINE ? p.file : relativeIfInside(p.file, cwd);
  const where = p.file === COMMAND_LINE ? file : `${file}:${p.range.start.line + 1}:${p.range.start.character + 1}`;
  return `${where}: ${p.severity}: ${clipMessage(p.message)}`;
}

function relativeIfInside(file: string, cwd: string): string {
  const prefix = cwd.endsWith('/') ? cwd : cwd + '/';
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}

/** The JSON form of `cvw validate --json`: 1-based line/column for people, the 0-based range for tools. */
export function problemToJson(p: Problem): Record<string, unknown> {
  return {
    file: p.file,
    line: p.range.start.line + 1,
    column: p.range.start.character + 1,
    range: p.range,
    severity: p.severity,
    message: clipMessage(p.message),
    path: clip(p.path, MESSAGE_LINE_LIMIT),
    ...(p.code ? { code: p.code } : {}),
    ...(p.suggestions?.length ? { suggestions: p.suggestions } : {}),
  };
}

/** Thrown when a config cannot be used; carries every problem found, each with its location. */
export class ConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => formatProblem(p)).join('\n'));
    this.name = 'ConfigError';
  }
}

/** An error meant for the user: the CLI prints its message without a stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(clipMessage(message));
    this.name = 'UserError';
  }
}

/**
 * A component's parameters cannot be used (a size too large to allocate), found while it is
 * built: the registry puts the config path of the component being built (`model.head: ...`) in
 * front, once, at the innermost build.
 */
export class ComponentError extends UserError {
  private located = false;

  /** This error, its message led by `path` unless a build inside already named one. */
  at(path: string): this {
    if (!this.located && path) this.message = clipMessage(`${path}: ${this.message}`);
    this.located = true;
    return this;
  }
}
