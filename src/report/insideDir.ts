/**
 * Containment of paths that come from data — a report.json, a webview's message, a panel's saved
 * state: the path counts only when its real path (every symlink followed) lies inside the real
 * path of `root`. Text checks alone (`..`, a leading `/`) miss a symlink that points out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

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
