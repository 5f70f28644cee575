import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root (the folder of cv-workbench's package.json), found from this file in src/ or dist/lib/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'cv-workbench') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the cv-workbench package above ${__dirname}`);
    dir = up;
  }
}

export function packageVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version as string;
}
