/**
 * Containment of paths that come from data — a report.json, a webview's message, a panel's saved
 * state: the path counts only when its real path (every symlink followed) lies inside the real
 * path of `root`. Text checks alone (`..`, a leading `/`) miss a symlink that points out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/problems';

/** The real path of `target` (relative to `root`, or absolute) when it exists inside `root`; else undefined. */
export function realPathInside(root: string, target: string): string | undefined {
  let realRoot: string;
  let real: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(path.resolve(root, target));
  } catch {
    return undefined;
  }
  const prefix = realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep;
  return real === realRoot || real.startsWith(prefix) ? real : undefined;
}

/** Like `realPathInside`, for a regular file only (not a folder, a FIFO or a device). */
export function realFileInside(root: string, target: string): string | undefined {
  const real = realPathInside(root, target);
  try {
    return real && fs.statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stop when one of the folders `parts` (each inside the one before, from `runDir`) that a report
 * writes into is a symbolic link or not a folder: a run folder can come with the workspace, and a
 * link there would have the write land, or the removal of old files happen, in its target.
 */
export function refuseLinks(runDir: string, parts: readonly string[]): void {
  let at = runDir;
  for (const part of parts) {
    at = path.join(at, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(at);
    } catch {
      return; // not there yet: made as a folder of the run
    }
    if (st.isSymbolicLink()) throw new UserError(`${at} is a symbolic link; a report is written only into the run's own folders (remove the link)`);
    if (!st.isDirectory()) throw new UserError(`${at} is not a folder; a report writes its files there (remove it)`);
  }
}
