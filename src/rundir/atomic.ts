/**
 * Atomic writes: a temporary file in the same folder, fsync, rename. A reader never sees half a
 * file (run.json, a checkpoint, an evaluation's results), and a crash mid-write leaves the
 * previous one intact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeDirs } from '../core/makeDirs';
import { kindOf } from '../core/boundedRead';
import { UserError } from '../core/problems';

/**
 * Write buffers to `file` through a temporary file and a rename (its folder made as needed); `mode`:
 * the new file's permissions (before the umask), 0o666 by default.
 */
export function writeAtomic(file: string, parts: Array<Buffer | string | Uint8Array>, mode = 0o666): void {
  makeDirs(path.dirname(file));
  const tmp = `${file}.tmp-${process.pid}`;
  // Created afresh ('wx'), never opened through what is there: a run's folder comes from the
  // workspace, and a symlink planted under the temporary name would have this write go to its target.
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    try {
      for (const p of parts) fs.writeSync(fd, typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    // A full disk, or `file` a folder: the previous file stays, and no temporary is left beside it.
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Open `file` to append to it (created when missing); the caller closes the descriptor. Only a
 * regular file, as itself: a run's folder comes from the workspace, and a symbolic link planted
 * there (output.log -> ../../../../.bashrc) had the run's output, with text of its config,
 * appended to the link's target; opening a FIFO to write waits for a reader (the editor's host
 * hung on Resume). Neither is followed nor waited for: a UserError names the file (`what` says
 * which: `run log`).
 */
export function openForAppend(file: string, what: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0), 0o666);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw new UserError(`${what} ${file} is a symbolic link; expected a regular file (a run's files are not written through links: remove it)`);
    if (code === 'ENXIO') throw new UserError(`${what} ${file} is a FIFO (named pipe); expected a regular file`);
    throw err;
  }
  const stats = fs.fstatSync(fd);
  if (!stats.isFile()) {
    fs.closeSync(fd);
    throw new UserError(`${what} ${file} is ${kindOf(stats)}; expected a regular file`);
  }
  return fd;
}

/** Append `text` to `file` in one write (openForAppend's checks). */
export function appendToFile(file: string, what: string, text: string): void {
  const fd = openForAppend(file, what);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/** `value` as pretty JSON (one trailing newline), written atomically. */
export function writeJsonAtomic(file: string, value: unknown, indent = 2): void {
  writeAtomic(file, [JSON.stringify(value, null, indent) + '\n']);
}

/** Make `to` a hard link of `from`, replacing `to` atomically (a copy where links are not allowed). */
export function linkAtomic(from: string, to: string): void {
  const tmp = `${to}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  try {
    fs.linkSync(from, tmp);
  } catch {
    fs.copyFileSync(from, tmp);
  }
  fs.renameSync(tmp, to);
}

/** The temporary name writeAtomic and linkAtomic use (`<file>.tmp-<pid>`). */
const TEMPORARY = /\.tmp-\d+$/;

/** A temporary untouched this long belongs to a writer that is gone (a write takes seconds at most). */
const STALE_TEMPORARY_MS = 60_000;

/**
 * Remove the temporaries that writers killed mid-write left in `dir` (a checkpoint's can be hundreds
 * of MB). For a run's folders while the caller holds the run's lock; the editor writes there too
 * (annotations.json) without it, hence only temporaries of other processes, untouched for a minute.
 */
export function removeStaleTemporaries(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const own = `.tmp-${process.pid}`;
  for (const name of names) {
    if (!TEMPORARY.test(name) || name.endsWith(own)) continue;
    const file = path.join(dir, name);
    try {
      if (Date.now() - fs.lstatSync(file).mtimeMs > STALE_TEMPORARY_MS) fs.rmSync(file, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}
