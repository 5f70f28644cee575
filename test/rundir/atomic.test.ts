/**
 * Atomic writes in folders that come from the workspace: what is under the temporary name (a
 * symlink a cloned work_dirs planted, a temporary left by a writer that was killed) is replaced,
 * never written through.
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJsonAtomic, writeRunAnnotations, runFile } from '../../src/rundir';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({ 'victim.txt': 'keep me\n', 'run/run.json': '{}' });
afterAll(() => t.cleanup());

describe('writeAtomic', () => {
  it('does not write through a symlink planted under its temporary name', () => {
    const file = runFile(t.file('run'), 'annotations');
    fs.symlinkSync(t.file('victim.txt'), `${file}.tmp-${process.pid}`);
    writeRunAnnotations(t.file('run'), { starred: true });
    expect(fs.readFileSync(t.file('victim.txt'), 'utf8')).toBe('keep me\n');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ starred: true, note: '' });
    expect(fs.existsSync(`${file}.tmp-${process.pid}`)).toBe(false);
  });

  it('replaces a temporary left by a killed writer', () => {
    const file = t.file('run/left.json');
    fs.writeFileSync(`${file}.tmp-${process.pid}`, 'half a file');
    writeJsonAtomic(file, { a: 1 });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ a: 1 });
    expect(fs.readdirSync(t.file('run')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
