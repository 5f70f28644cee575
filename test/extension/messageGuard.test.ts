/**
 * What the host accepts from a panel's page (src/extension/panels/messageGuard.ts): run
 * directories the panel shows, files inside them, run directories of the workspace from saved
 * state — never a path the page made up, a `..` or a symlink that leads out (issue 23.6).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chartSettingsFrom, isRunAction, openableFile, shownRunDir, shownRunDirList, sortStateFrom, workspaceFile, workspaceRunDir } from '../../src/extension/panels/messageGuard';
import { realPathInside } from '../../src/report/insideDir';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({
  'outside/secret.txt': 'secret',
  'outside/run/run.json': '{}',
  'ws/configs/a.yaml': 'model: {}\n',
  'ws/BENCHMARKS.md': '| a |\n',
  'ws/work_dirs/a/run1/run.json': '{}',
  'ws/work_dirs/a/run1/log.txt': 'log\n',
  'ws/work_dirs/a/run2/run.json': '{}',
  'ws/work_dirs/a/not-a-run/log.txt': '',
});
const ws = t.file('ws');
const run1 = t.file('ws/work_dirs/a/run1');
const run2 = t.file('ws/work_dirs/a/run2');
fs.symlinkSync(t.file('outside/secret.txt'), path.join(run1, 'escape.txt'));
fs.symlinkSync(t.file('outside/run'), t.file('ws/work_dirs/a/linked-run'));
afterAll(() => t.cleanup());

describe('panel message guard', () => {
  it('a run directory in a message must be one the panel shows', () => {
    expect(shownRunDir(run1, [run1])).toBe(run1);
    expect(shownRunDir(`${run1}/`, [run1])).toBe(run1);
    expect(shownRunDir(`${run1}/../run2`, [run1])).toBeUndefined();
    expect(shownRunDir(run2, [run1])).toBeUndefined();
    expect(shownRunDir('/etc', [run1])).toBeUndefined();
    expect(shownRunDir('work_dirs/a/run1', [run1])).toBeUndefined();
    expect(shownRunDir(undefined, [run1])).toBeUndefined();
    expect(shownRunDir({ dir: run1 }, [run1])).toBeUndefined();
  });

  it('a list of run directories (the runs table) is accepted only when every one is shown', () => {
    expect(shownRunDirList([run1, `${run2}/`, run1], [run1, run2])).toEqual([run1, run2]);
    expect(shownRunDirList([run1, '/etc'], [run1, run2])).toBeUndefined();
    expect(shownRunDirList([run1, `${run1}/../run2`], [run1])).toBeUndefined();
    expect(shownRunDirList([], [run1])).toBeUndefined();
    expect(shownRunDirList(run1, [run1])).toBeUndefined();
  });

  it('a file to open lies inside a shown run, or is one the panel listed', () => {
    expect(openableFile(path.join(run1, 'log.txt'), [run1])).toBe(path.join(run1, 'log.txt'));
    expect(openableFile(path.join(run1, 'escape.txt'), [run1])).toBeUndefined();
    expect(openableFile(path.join(run1, '../../../../outside/secret.txt'), [run1])).toBeUndefined();
    expect(openableFile('/etc/hostname', [run1])).toBeUndefined();
    expect(openableFile(path.join(run2, 'run.json'), [run1])).toBeUndefined();
    expect(openableFile(run1, [run1])).toBeUndefined();
    expect(openableFile(path.join(ws, 'BENCHMARKS.md'), [], [path.join(ws, 'BENCHMARKS.md')])).toBe(path.join(ws, 'BENCHMARKS.md'));
    expect(openableFile(path.join(ws, 'configs/a.yaml'), [], [path.join(ws, 'BENCHMARKS.md')])).toBeUndefined();
    expect(openableFile(42, [run1])).toBeUndefined();
  });

  it('a run directory from saved state is a real run directory inside a workspace folder', () => {
    expect(workspaceRunDir(run1, [ws])).toBe(run1);
    expect(workspaceRunDir(t.file('ws/work_dirs/a/not-a-run'), [ws])).toBeUndefined();
    expect(workspaceRunDir(t.file('outside/run'), [ws])).toBeUndefined();
    expect(workspaceRunDir(t.file('ws/work_dirs/a/linked-run'), [ws])).toBeUndefined();
    expect(workspaceRunDir(`${ws}/../outside/run`, [ws])).toBeUndefined();
    expect(workspaceRunDir('/', [ws])).toBeUndefined();
    expect(workspaceRunDir(run1, [])).toBeUndefined();
    expect(workspaceRunDir(['x'], [ws])).toBeUndefined();
  });

  it('a file run.json names is opened only inside the workspace', () => {
    expect(workspaceFile(path.join(ws, 'configs/a.yaml'), [ws])).toBe(path.join(ws, 'configs/a.yaml'));
    expect(workspaceFile(t.file('outside/secret.txt'), [ws])).toBeUndefined();
    expect(workspaceFile(path.join(run1, 'escape.txt'), [ws])).toBeUndefined();
  });

  it('run actions, chart settings and sort orders keep only known values', () => {
    expect(isRunAction('stop')).toBe(true);
    expect(isRunAction('rm -rf')).toBe(false);
    expect(isRunAction(undefined)).toBe(false);
    expect(chartSettingsFrom({ x: 'epoch', smoothing: 0.5, logScale: true, extra: '<script>' })).toEqual({ x: 'epoch', smoothing: 0.5, logScale: true });
    expect(chartSettingsFrom({ x: 'evil', smoothing: 7, logScale: 'yes' })).toEqual({ x: 'iter', smoothing: 0, logScale: false });
    expect(chartSettingsFrom(null)).toEqual({ x: 'iter', smoothing: 0, logScale: false });
    expect(sortStateFrom({ t1: { column: 2, descending: true }, t2: { column: 'x', descending: true }, ['__proto__']: { column: 1, descending: false } })).toEqual({ t1: { column: 2, descending: true } });
  });

  it('realPathInside follows symlinks and refuses paths that leave the root', () => {
    expect(realPathInside(run1, 'log.txt')).toBe(fs.realpathSync(path.join(run1, 'log.txt')));
    expect(realPathInside(run1, 'escape.txt')).toBeUndefined();
    expect(realPathInside(run1, '../run2')).toBeUndefined();
    expect(realPathInside(run1, 'missing.txt')).toBeUndefined();
    // A sibling whose name starts with the root's is not inside it.
    fs.mkdirSync(`${run1}-x`);
    expect(realPathInside(run1, `${run1}-x`)).toBeUndefined();
  });
});
