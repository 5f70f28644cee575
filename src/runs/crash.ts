/**
 * Where did a run crash, in the user's own files? A failed run's run.json (`error.stack`) or its
 * output holds a Node stack trace; custom modules (`custom_imports`, TypeScript stripped by sucrase
 * with the lines kept) appear in it under their own paths and lines. Problem lines that the CLI
 * prints as `file:line:column: error: message` (config errors) point into configs. The editor
 * turns each place into a diagnostic.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StackFrame {
  file: string;
  /** 1-based, as stack traces print them. */
  line: number;
  column: number;
  /** The function, when the frame names one. */
  fn?: string;
}

export interface CrashPlace extends StackFrame {
  message: string;
  severity: 'error' | 'warning';
  /** The user frames of the stack, innermost first (for a stack place); empty for a problem line. */
  stack: StackFrame[];
}

export interface CrashOptions {
  /** Relative paths in problem lines are relative to this folder (the run's working directory). */
  cwd?: string;
  /** Files of the toolkit itself (its package root): frames there are not the user's. */
  toolkitRoots?: string[];
  /** Only files for which this holds count (default: the file exists). */
  exists?: (file: string) => boolean;
}

const FRAME = /^\s*at (?:(.*?) \()?((?:file:\/\/)?[^()\s][^()]*?):(\d+):(\d+)\)?\s*$/;
const PROBLEM = /^(.+?):(\d+):(\d+): (error|warning): (.+)$/;

/** Parse the frames of a Node stack trace (lines `at fn (file:line:col)` and `at file:line:col`). */
export function parseStack(stack: string): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    let file = m[2];
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    frames.push({ file, line: Number(m[3]), column: Number(m[4]), fn: m[1]?.replace(/^async /, '') || undefined });
  }
  return frames;
}

/** A frame in the user's code: a real file, not Node's, not a dependency's, not the toolkit's. */
export function isUserFrame(frame: StackFrame, options: CrashOptions = {}): boolean {
  const f = frame.file;
  if (!path.isAbsolute(f) || f.startsWith('node:')) return false;
  if (f.split(path.sep).includes('node_modules')) return false;
  if ((options.toolkitRoots ?? []).some((root) => f === root || f.startsWith(root + path.sep))) return false;
  return (options.exists ?? fs.existsSync)(f);
}

/** The first line of an error's text that says what went wrong (`Error: ...` → `...`). */
function headline(text: string): string {
  const first = text.split('\n').find((l) => l.trim() && !FRAME.test(l)) ?? text;
  return first.replace(/^\s*(?:Uncaught )?(?:[A-Z]\w*Error|Error): /, '').trim();
}

/**
 * The places a failed run points at in the user's files: config problem lines, and the innermost
 * user frame of a stack trace (with the other user frames as its stack). `message` is the error's
 * message when known (run.json's `error.message`); `text` is a stack or the run's output.
 */
export function crashPlaces(text: string, options: CrashOptions & { message?: string } = {}): CrashPlace[] {
  const places: CrashPlace[] = [];
  const exists = options.exists ?? fs.existsSync;
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    // A run's error stack starts with the error's name: `ConfigError: file:line:column: error: ...`.
    const m = PROBLEM.exec(line.trim().replace(/^[A-Z]\w*Error: /, ''));
    if (!m || FRAME.test(line)) continue;
    const file = path.resolve(options.cwd ?? process.cwd(), m[1]);
    if (!/\.(ya?ml|json|[cm]?[jt]s)$/i.test(file) || !exists(file)) continue;
    const key = `${file}:${m[2]}:${m[3]}:${m[5]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    places.push({ file, line: Number(m[2]), column: Number(m[3]), severity: m[4] as 'error' | 'warning', message: m[5], stack: [] });
  }
  const user = parseStack(text).filter((f) => isUserFrame(f, options));
  if (user.length) {
    places.push({ ...user[0], severity: 'error', message: options.message ?? headline(text), stack: user });
  }
  return places;
}
