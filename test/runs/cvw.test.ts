import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CvwNotFoundError, findWorkspaceCvw, nodeRuntime, resolveCvw } from '../../src/runs';
import { configStem, newRunId, runCwd } from '../../src/runs/manager';
import { tempFiles } from '../helpers/tmp';

const pkg = JSON.stringify({ name: 'cv-workbench', version: '9.9.9' });
const t = tempFiles({
  'ws/node_modules/cv-workbench/package.json': pkg,
  'ws/node_modules/cv-workbench/bin/cvw.js': '',
  'ws/node_modules/cv-workbench/dist/lib/cli/main.js': '',
  'ws/sub/project/configs/a.yaml': '',
  'unbuilt/node_modules/cv-workbench/package.json': pkg,
  'unbuilt/node_modules/cv-workbench/bin/cvw.js': '',
  'toolkit/package.json': pkg,
  'toolkit/bin/cvw.js': '',
  'toolkit/dist/lib/cli/main.js': '',
  'ext/package.json': pkg,
  'ext/dist/cli/cvw.js': '',
  'other/node_modules/not-it/package.json': '{"name":"not-it"}',
});
afterAll(() => t.cleanup());

describe('which cvw runs', () => {
  it('the workspace\'s installed cv-workbench, found from the folder or a folder below it', () => {
    expect(findWorkspaceCvw(t.file('ws'))).toEqual({ entry: t.file('ws/node_modules/cv-workbench/bin/cvw.js'), source: 'workspace', packageRoot: t.file('ws/node_modules/cv-workbench') });
    expect(findWorkspaceCvw(t.file('ws/sub/project'))?.entry).toBe(t.file('ws/node_modules/cv-workbench/bin/cvw.js'));
  });

  it('the workspace that is the toolkit itself (developing it)', () => {
    expect(findWorkspaceCvw(t.file('toolkit'))).toMatchObject({ entry: t.file('toolkit/bin/cvw.js'), source: 'workspace', packageRoot: t.file('toolkit') });
  });

  it('an installed package that is not built does not count: the bundled CLI runs', () => {
    const bundled = t.file('ext/dist/cli/cvw.js');
    expect(resolveCvw({ folder: t.file('unbuilt'), bundled })).toEqual({ entry: bundled, source: 'bundled', packageRoot: t.file('ext') });
    expect(resolveCvw({ folder: t.file('other'), bundled }).source).toBe('bundled');
  });

  it('a configured path wins; a missing one, or nothing at all, is a clear error', () => {
    expect(resolveCvw({ configured: '../toolkit/bin/cvw.js', folder: t.file('ws') })).toMatchObject({ entry: t.file('toolkit/bin/cvw.js'), source: 'setting', packageRoot: t.file('toolkit') });
    expect(() => resolveCvw({ configured: 'nope.js', folder: t.file('ws') })).toThrow(/cvWorkbench.cvwPath: .*nope\.js does not exist/);
    expect(() => resolveCvw({ folder: t.file('other'), bundled: t.file('ext/missing.js') })).toThrow(CvwNotFoundError);
    expect(() => resolveCvw({ folder: t.file('other') })).toThrow(/npm install cv-workbench/);
  });

  it('Node: a configured executable, else this runtime (Electron as Node)', () => {
    expect(nodeRuntime('/opt/node/bin/node')).toEqual({ command: '/opt/node/bin/node', env: {} });
    expect(nodeRuntime().command).toBe(process.execPath);
  });
});

describe('run directories the manager names', () => {
  it('config stems, run ids unique in their folder, the folder a run was started from', () => {
    expect(configStem('/a/configs/simclr_r18.yaml')).toBe('simclr_r18');
    expect(configStem('x.json')).toBe('x');
    const when = new Date(2026, 10, 28, 23, 59, 7);
    fs.mkdirSync(t.file('runs/20261128-235907'), { recursive: true });
    expect(newRunId(t.file('runs'), when)).toBe('20261128-235907-1');
    expect(newRunId(t.file('nothing-yet'), when)).toBe('20261128-235907');
    expect(runCwd('/ws/work_dirs/a/20261128-235907')).toBe('/ws');
    expect(runCwd('/elsewhere/run')).toBe('/elsewhere');
    expect(path.isAbsolute(runCwd('/work_dirs/a/b'))).toBe(true);
  });
});
