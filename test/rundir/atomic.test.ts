/**
 * Atomic writes in folders that come from the workspace: what is under the temporary name (a
 * symlink a cloned work_dirs planted, a temporary left by a writer that was killed) is replaced,
 * never written through.
 */
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { RunDir, writeJsonAtomic, writeRunAnnotations, runFile } from '../../src/rundir';
import { runInfo } from '../helpers/runInfo';
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

describe('a resume clears what killed writers left', () => {
  it('removes temporaries of other processes untouched for a minute from the run and its checkpoints, keeps fresh ones', () => {
    const dir = t.file('resumed');
    fs.mkdirSync(`${dir}/checkpoints`, { recursive: true });
    fs.writeFileSync(runFile(dir, 'run'), JSON.stringify(runInfo({ status: 'running', pid: 999_999_999 })));
    const old = [`${dir}/checkpoints/latest.safetensors.tmp-999999998`, `${dir}/run.json.tmp-999999997`];
    const fresh = `${dir}/annotations.json.tmp-999999996`;
    for (const f of [...old, fresh]) fs.writeFileSync(f, 'half');
    const past = new Date(Date.now() - 120_000);
    for (const f of old) fs.utimesSync(f, past, past);
    RunDir.reopen(dir, () => ({})).close();
    for (const f of old) expect(fs.existsSync(f)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
  });
});
