/**
 * `mkdir -p` that always ends. Node's `mkdirSync(dir, { recursive: true })` (libuv's recursive
 * mkdir) loops forever where the parent exists but refuses new entries with ENOENT, as `/proc`
 * and `/sys` do: `cvw train --work-dir /proc/x` hung instead of failing. This walks the path
 * itself, one plain `mkdir` per missing level, so every such refusal surfaces as the errno error
 * it is (the CLI turns it into "cannot create ...: <reason>").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Create `dir` and any missing parents; a folder already there is fine. */
export function makeDirs(dir: string): void {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  try {
    fs.mkdirSync(target);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EEXIST from a file in the way stays EEXIST ("exists, and is not a folder").
    if (code === 'EEXIST' && fs.statSync(target).isDirectory()) return;
    // ENOENT with the parent present (a /proc entry) is final; without it, make the parent first.
    if (code !== 'ENOENT' || parent === target || fs.existsSync(parent)) throw err;
  }
  makeDirs(parent);
  try {
    fs.mkdirSync(target);
  } catch (err) {
    // Another process made it between the two calls.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(target).isDirectory()) throw err;
  }
}
