/**
 * `cvw queue run` while its queue file is edited by hand: a moment where the file is not a queue
 * (a half-saved edit, a typo) must not end the runner, which would stop the trainings it started.
 * The trainings here are a stand-in `cvw` (a script that writes run.json and exits), so that the
 * test is about the runner, not about training.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { queueRunCommand } from '../../src/cli/commands/queue';
import { parseArgs } from '../../src/cli/args';
import { addToQueue, queueFile, readQueue } from '../../src/runs';
import { runInfo } from '../helpers/runInfo';
import { tempFiles } from '../helpers/tmp';

/** A `cvw train ... --work-dir <run>` that runs for FAKE_RUN_MS, then records `finished`; SIGINT leaves a mark. */
const FAKE_CVW = `
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[process.argv.indexOf('--work-dir') + 1];
fs.mkdirSync(dir, { recursive: true });
const write = (patch) => fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ ...JSON.parse(process.env.FAKE_RUN_INFO), pid: process.pid, started: new Date().toISOString(), ...patch }));
process.on('SIGINT', () => {
  fs.writeFileSync(path.join(dir, 'sigint'), '');
  write({ status: 'stopped', ended: new Date().toISOString() });
  process.exit(130);
});
write({ status: 'running' });
setTimeout(() => {
  write({ status: 'finished', ended: new Date().toISOString() });
  process.exit(0);
}, Number(process.env.FAKE_RUN_MS));
`;

const t = tempFiles({ 'configs/a.yaml': 'model: {}\n', 'fake-cvw.js': FAKE_CVW });
afterAll(() => t.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cvw queue run', () => {
  it('keeps its trainings going while the queue file is not a queue for a moment, and settles them once it is one again', async () => {
    addToQueue(t.dir, 'configs/a.yaml', ['--optimizer.lr', '0.1']);
    const cwd = process.cwd();
    const entry = process.argv[1];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    process.chdir(t.dir);
    process.argv[1] = t.file('fake-cvw.js');
    process.env.FAKE_RUN_INFO = JSON.stringify(runInfo({ status: 'running' }));
    process.env.FAKE_RUN_MS = '5000';
    try {
      const done = Promise.resolve(queueRunCommand.run(parseArgs(queueRunCommand, [])));
      const file = queueFile(t.dir);
      for (let i = 0; readQueue(t.dir).entries[0].state !== 'running'; i++) {
        if (i > 100) throw new Error('the entry did not start');
        await sleep(50);
      }
      // An edit saved half-way (or with a typo), fixed a moment later.
      const text = fs.readFileSync(file, 'utf8');
      fs.writeFileSync(file, text.slice(0, 20));
      // Fixed once the runner has looked at it (a second or so: its poll; longer on a loaded machine).
      const said = () => stderr.mock.calls.map((c) => String(c[0])).join('');
      for (let i = 0; !said().includes(`${file}: not JSON`); i++) {
        if (i > 300) throw new Error(`the runner did not report the broken queue file: ${said()}`);
        await sleep(50);
      }
      fs.writeFileSync(file, text);
      expect(await done).toBe(0);
      const [e] = readQueue(t.dir).entries;
      expect(e.state).toBe('done');
      expect(fs.existsSync(path.join(e.runDir!, 'sigint'))).toBe(false);
      expect(said()).toContain('the runs go on');
    } finally {
      process.chdir(cwd);
      process.argv[1] = entry;
      stderr.mockRestore();
    }
  }, 30_000);
});
