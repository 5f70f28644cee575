// makeDirs: `mkdir -p` that fails where Node's recursive mkdir would spin forever.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeDirs } from '../../src/core/makeDirs';

describe('makeDirs', () => {
  it('creates missing parents and accepts a folder that is there', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-mkdirs-'));
    const deep = path.join(root, 'a', 'b', 'c');
    makeDirs(deep);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    makeDirs(deep);
    makeDirs(path.join(root, 'a'));
    fs.rmSync(root, { recursive: true });
  });

  it('names a file in the way, at the target or above it', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-mkdirs-'));
    fs.writeFileSync(path.join(root, 'f'), 'x');
    expect(() => makeDirs(path.join(root, 'f'))).toThrow(expect.objectContaining({ code: 'EEXIST', path: path.join(root, 'f') }));
    expect(() => makeDirs(path.join(root, 'f', 'g', 'h'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    fs.rmSync(root, { recursive: true });
  });

  it.runIf(fs.existsSync('/proc/self'))('fails at once under /proc, where a recursive mkdir never returns', () => {
    expect(() => makeDirs('/proc/cvw-no-such/run')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
