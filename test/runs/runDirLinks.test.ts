import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeRuntime, RunManager } from '../../src/runs';
import { appendLog, appendMetrics, checkpointFile, CHECKPOINTS, runFile } from '../../src/rundir';
import { tempFiles } from '../helpers/tmp';
import { bundleTestCli, type TestCli } from './cli';

// A run folder comes with the workspace (a repository, an archive): its log files may be symbolic
// links planted there, e.g. output.log -> ../../../../.bashrc. Resume appended the run's output
// through such a link: the shell's start-up file got lines holding text of the run's config (here
// "$(touch ...)", quoted back by an error message). A FIFO there blocked the opener for ever.
const RC = '# the user\'s shell start-up file\n';

function copiedRun(t: ReturnType<typeof tempFiles>, link: string) {
  const dir = t.file('repo/work_dirs/cfg/run1');
  fs.mkdirSync(path.dirname(checkpointFile(dir, CHECKPOINTS.latest)), { recursive: true });
  fs.writeFileSync(runFile(dir, 'run'), JSON.stringify({ status: 'stopped', config_stem: 'cfg', run_id: 'run1', iter: 3 }));
  fs.writeFileSync(checkpointFile(dir, CHECKPOINTS.latest), 'not read: the config fails first');
  // Declarative only (no custom_imports): an error message quotes the unknown type back.
  fs.writeFileSync(runFile(dir, 'config'), `model:\n  type: "$(touch ${t.file('PWNED')})"\n`);
  fs.mkdirSync(t.file('home'), { recursive: true });
  fs.writeFileSync(t.file('home/.bashrc'), RC);
  // Relative, as a repository would carry it: from repo/work_dirs/cfg/run1 up to the home folder.
  fs.symlinkSync(path.join('..', '..', '..', '..', 'home', '.bashrc'), path.join(dir, link));
  return dir;
}

let cli: TestCli;
beforeAll(async () => {
  cli = await bundleTestCli();
}, 120_000);
afterAll(() => cli?.cleanup());

describe('writing into a run folder that came with the workspace', () => {
  it('Resume in the editor: an output.log that links elsewhere is refused, naming the file; the link\'s target is not written', async () => {
    const t = tempFiles({ 'repo/configs/cfg.yaml': 'model: {type: Classification}\n' });
    const manager = new RunManager(() => ({ node: nodeRuntime(), cvw: { entry: cli.entry, source: 'bundled', packageRoot: cli.root } }));
    try {
      const dir = copiedRun(t, 'output.log');
      let error: Error | undefined;
      try {
        const run = manager.resume({ runDir: dir });
        await run.exited;
      } catch (e) {
        error = e as Error;
      }
      expect(fs.readFileSync(t.file('home/.bashrc'), 'utf8')).toBe(RC);
      expect(error?.message).toBe(`run output ${runFile(dir, 'output')} is a symbolic link; expected a regular file (a run's files are not written through links: remove it)`);
      // A FIFO there: opening it to write would wait for a reader, with the editor's host.
      fs.rmSync(runFile(dir, 'output'));
      execFileSync('mkfifo', [runFile(dir, 'output')]);
      expect(() => manager.resume({ runDir: dir })).toThrow(`run output ${runFile(dir, 'output')} is a FIFO (named pipe); expected a regular file`);
      expect(manager.running()).toHaveLength(0);
    } finally {
      manager.dispose();
      t.cleanup();
    }
  }, 60_000);

  it('the trainer\'s log.txt and metrics.jsonl: a link or a FIFO is refused, naming the file', () => {
    const t = tempFiles({});
    try {
      const dir = copiedRun(t, 'log.txt');
      expect(() => appendLog(dir, 'resumed "$(id)"')).toThrow(`run log ${runFile(dir, 'log')} is a symbolic link; expected a regular file (a run's files are not written through links: remove it)`);
      fs.symlinkSync(t.file('home/.bashrc'), runFile(dir, 'metrics'));
      expect(() => appendMetrics(dir, { split: '$(id)' })).toThrow(`run metrics ${runFile(dir, 'metrics')} is a symbolic link`);
      expect(fs.readFileSync(t.file('home/.bashrc'), 'utf8')).toBe(RC);
      // A FIFO with no reader: opening it to write would wait for ever.
      fs.rmSync(runFile(dir, 'log'));
      execFileSync('mkfifo', [runFile(dir, 'log')]);
      expect(() => appendLog(dir, 'line')).toThrow(`run log ${runFile(dir, 'log')} is a FIFO (named pipe); expected a regular file`);
      // Regular files are appended to as before, and created when missing.
      fs.rmSync(runFile(dir, 'log'));
      fs.rmSync(runFile(dir, 'metrics'));
      appendLog(dir, 'one');
      appendLog(dir, 'two\n');
      appendMetrics(dir, { iter: 1 });
      expect(fs.readFileSync(runFile(dir, 'log'), 'utf8')).toBe('one\ntwo\n');
      expect(fs.readFileSync(runFile(dir, 'metrics'), 'utf8')).toBe('{"iter":1}\n');
    } finally {
      t.cleanup();
    }
  });
});
