import * as fs from 'node:fs';
import * as path from 'node:path';

/** `20261128-235959` in local time, as `cvw train` names runs; a suffix keeps ids unique in `parent`. */
export function newRunId(parent: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const base = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  let id = base;
  for (let i = 1; fs.existsSync(path.join(parent, id)); i++) id = `${base}-${i}`;
  return id;
}
