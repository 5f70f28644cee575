import { afterAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { ArgumentsError, crashPlaces, joinArgs, parseRunArgs, parseStack, splitArgs } from '../../src/runs';
import { tempFiles } from '../helpers/tmp';

describe('run arguments', () => {
  it('splits like a shell: quotes, escapes, runs of spaces', () => {
    expect(splitArgs(`  --a.b 1   --name "two words" --c 'it''s' x\\ y ""`)).toEqual(['--a.b', '1', '--name', 'two words', '--c', 'its', 'x y', '']);
    expect(splitArgs(`--msg "say \\"hi\\""`)).toEqual(['--msg', 'say "hi"']);
    expect(() => splitArgs('--a "open')).toThrow(ArgumentsError);
  });

  it('turns bare key.path=value into --key.path value and keeps everything else', () => {
    expect(parseRunArgs('data.train.batch_size=8 --max-iters 5 --optimizer.lr=0.1 model.head.num_classes=10')).toEqual([
      '--data.train.batch_size', '8', '--max-iters', '5', '--optimizer.lr=0.1', '--model.head.num_classes', '10',
    ]);
  });

  it('joinArgs writes a line that splits back to the same words', () => {
    const words = ['--a.b', '1', '--name', 'two words', "it's", ''];
    expect(splitArgs(joinArgs(words))).toEqual(words);
    expect(joinArgs(['--max-iters', '5'])).toBe('--max-iters 5');
  });
});

describe('crash places', () => {
  const t = tempFiles({
    'boom_hook.ts': 'line 1\nline 2\nline 3\n',
    'configs/x.yaml': 'model: {}\n',
    'toolkit/dist/lib/train/runner.js': '',
  });
  afterAll(() => t.cleanup());
  const toolkit = t.file('toolkit');

  const stack = [
    'Error: boom at iteration 2',
    `    at BoomHook.afterIter (${t.file('boom_hook.ts')}:3:13)`,
    `    at Runner.callHooks (${toolkit}/dist/lib/train/runner.js:200:20)`,
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    `    at async Runner.run (${toolkit}/dist/lib/train/runner.js:250:7)`,
    `    at ${t.file('boom_hook.ts')}:1:1`,
    `    at Object.<anonymous> (${t.dir}/node_modules/x/index.js:1:1)`,
  ].join('\n');

  it('parses the frames of a Node stack trace', () => {
    expect(parseStack(stack).map((f) => [f.fn, path.basename(f.file), f.line, f.column])).toEqual([
      ['BoomHook.afterIter', 'boom_hook.ts', 3, 13],
      ['Runner.callHooks', 'runner.js', 200, 20],
      ['process.processTicksAndRejections', 'task_queues', 95, 5],
      ['Runner.run', 'runner.js', 250, 7],
      [undefined, 'boom_hook.ts', 1, 1],
      ['Object.<anonymous>', 'index.js', 1, 1],
    ]);
    expect(parseStack(`    at file://${t.file('boom_hook.ts')}:2:4`)[0]).toMatchObject({ file: t.file('boom_hook.ts'), line: 2, column: 4 });
  });

  it('the innermost frame in the user\'s files is the place; the toolkit, Node and dependencies are not', () => {
    const places = crashPlaces(stack, { toolkitRoots: [toolkit], message: 'boom at iteration 2' });
    expect(places).toHaveLength(1);
    expect(places[0]).toMatchObject({ file: t.file('boom_hook.ts'), line: 3, column: 13, message: 'boom at iteration 2', severity: 'error' });
    expect(places[0].stack.map((f) => f.line)).toEqual([3, 1]);
    // Without a message, the error's own first line.
    expect(crashPlaces(stack, { toolkitRoots: [toolkit] })[0].message).toBe('boom at iteration 2');
  });

  it('problem lines of the CLI (config errors) point into configs, relative to the run\'s folder', () => {
    const output = 'configs/x.yaml:1:8: error: unknown key "modle"\nconfigs/missing.yaml:1:1: error: gone\ncvw train: 1 problem in the config\n';
    expect(crashPlaces(output, { cwd: t.dir })).toEqual([
      { file: t.file('configs/x.yaml'), line: 1, column: 8, severity: 'error', message: 'unknown key "modle"', stack: [] },
    ]);
  });

  it('a stack with no user frame gives no place', () => {
    expect(crashPlaces(`Error: x\n    at f (${toolkit}/dist/lib/train/runner.js:1:1)`, { toolkitRoots: [toolkit] })).toEqual([]);
  });
});
