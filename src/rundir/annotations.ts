/**
 * annotations.json: what a person said about a run — a star, a note — kept in the run directory
 * so that it travels with the run (copied, archived, shared) and every tool sees it. Only the
 * editor's runs table writes it, atomically; the trainer never touches it, so a resumed run keeps it.
 */
import { readRegularFile, UnreadableFile } from '../core/boundedRead';
import { UserError } from '../core/problems';
import { writeJsonAtomic } from './atomic';
import { runFile } from './files';

export interface RunAnnotations {
  starred: boolean;
  /** Free text, at most MAX_NOTE_CHARS characters. */
  note: string;
}

export const MAX_NOTE_CHARS = 10_000;
const MAX_FILE_BYTES = 256 << 10;

const EMPTY: RunAnnotations = { starred: false, note: '' };

/** annotations.json's parsed JSON; `where` (the file) names it in errors, which give the key and what was expected. */
export function parseRunAnnotations(json: unknown, where: string): RunAnnotations {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UserError(`${where}: expected a JSON object ({"starred": true, "note": "..."})`);
  const o = json as Record<string, unknown>;
  if (o.starred !== undefined && typeof o.starred !== 'boolean') throw new UserError(`${where}: starred: expected true or false, got ${JSON.stringify(o.starred)}`);
  if (o.note !== undefined && typeof o.note !== 'string') throw new UserError(`${where}: note: expected a string, got ${JSON.stringify(o.note).slice(0, 80)}`);
  return { starred: o.starred === true, note: typeof o.note === 'string' ? o.note.slice(0, MAX_NOTE_CHARS) : '' };
}

/** A run's annotations; none (not starred, no note) when the file is missing. Throws a located error when it is unreadable. */
export function readRunAnnotations(dir: string): RunAnnotations {
  const file = runFile(dir, 'annotations');
  let text: string;
  try {
    text = readRegularFile(file, { what: 'run annotations', maxBytes: MAX_FILE_BYTES }).toString('utf8');
  } catch (e) {
    if (e instanceof UnreadableFile && e.reason === 'not-found') return { ...EMPTY };
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not JSON (${(e as Error).message})`);
  }
  return parseRunAnnotations(json, file);
}

/** Change a run's annotations (the fields given), atomically; returns them as written. */
export function writeRunAnnotations(dir: string, change: Partial<RunAnnotations>): RunAnnotations {
  let current: RunAnnotations;
  try {
    current = readRunAnnotations(dir);
  } catch {
    current = { ...EMPTY }; // a broken file is replaced by what the person just said
  }
  const next: RunAnnotations = {
    starred: change.starred ?? current.starred,
    note: (change.note ?? current.note).slice(0, MAX_NOTE_CHARS),
  };
  writeJsonAtomic(runFile(dir, 'annotations'), next);
  return next;
}
