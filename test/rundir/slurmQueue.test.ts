/**
 * Runs submitted to Slurm as readers see them: squeue's output parsed, and a run's state following
 * its job where run.json cannot tell (a job gone before it started, ranks killed on another host).
 * Real run directories read through readRunRecord, with a queue snapshot installed as the editor's
 * poller does. (`cvw submit` against a real cluster: test/distributed/slurm.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { parseSqueue, setSlurmQueue, slurmRunState, SQUEUE_FORMAT } from '../../src/rundir/slurmQueue';
import { readRunRecord } from '../../src/rundir';
import { parseSubmitOutput, submitArgs, countInput } from '../../src/extension/slurm/args';

// `squeue -h --me -o '%i|%T|%r|%N'` on a one-node cluster: a held job, one waiting, one running, an array task.
const SQUEUE = ['41|PENDING|JobHeldUser|', '42|PENDING|Resources|', '43|RUNNING|None|node7', '44_3|COMPLETING|None|node7', 'squeue: error: something', ''].join('\n');

afterEach(() => setSlurmQueue(undefined));

describe('parseSqueue', () => {
  it('reads id, state, reason and nodes; skips other lines', () => {
    expect(SQUEUE_FORMAT).toBe('%i|%T|%r|%N');
    const jobs = parseSqueue(SQUEUE);
    expect([...jobs.keys()]).toEqual(['41', '42', '43', '44_3']);
    expect(jobs.get('42')).toEqual({ id: '42', state: 'PENDING', reason: 'Resources', nodes: '' });
    expect(jobs.get('43')).toEqual({ id: '43', state: 'RUNNING', reason: 'None', nodes: 'node7' });
    expect(parseSqueue('')).toEqual(new Map());
  });
});

describe('a Slurm run\'s state from run.json and the queue', () => {
  const queue = (ids: string, takenMs = Date.now() + 10_000) => ({ jobs: parseSqueue(SQUEUE.split('\n').filter((l) => ids.split(',').includes(l.split('|')[0])).join('\n')), takenMs });

  it('pending while the job is queued, with why it waits or where it starts', () => {
    expect(slurmRunState('42', 'pending', false, 0, queue('42'))).toMatchObject({ state: 'pending', note: 'Slurm job 42 waits (Resources)' });
    expect(slurmRunState('43', 'pending', false, 0, queue('43'))).toMatchObject({ state: 'pending', note: 'Slurm job 43 running on node7' });
  });

  it('a job gone before any rank wrote the run: failed, pointing at its Slurm output', () => {
    expect(slurmRunState('42', 'pending', false, 0, queue(''))).toEqual({ state: 'failed', note: 'Slurm job 42 ended before the run started (its output: slurm-42.out in the run directory)' });
  });

  it('a job gone while run.json says running: interrupted with a checkpoint, else crashed', () => {
    expect(slurmRunState('43', 'running', true, 0, queue('')).state).toBe('interrupted');
    expect(slurmRunState('43', 'running', false, 0, queue('')).state).toBe('crashed');
    expect(slurmRunState('43', 'running', true, 0, queue('43')).state).toBe('running');
  });

  it('a snapshot older than (or just after) the last write of run.json decides nothing; ended runs keep their status', () => {
    const now = Date.now();
    expect(slurmRunState('42', 'pending', false, now, queue('', now - 1000)).state).toBe('pending');
    expect(slurmRunState('42', 'pending', false, now, queue('', now + 1000)).state).toBe('pending');
    expect(slurmRunState('43', 'finished', true, 0, queue('')).state).toBe('finished');
    expect(slurmRunState('43', 'stopped', true, 0, queue('')).state).toBe('stopped');
    expect(slurmRunState('42', 'pending', false, 0, undefined)).toEqual({ state: 'pending' });
  });

  it('readRunRecord applies the installed snapshot to runs with a slurm_job_id only', () => {
    const t = tempFiles({});
    try {
      const write = (name: string, info: Record<string, unknown>) => {
        const dir = path.join(t.dir, name);
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ config: '/c.yaml', started: new Date().toISOString(), pid: 0, iter: 0, ...info }));
        return dir;
      };
      const queued = write('queued', { status: 'pending', slurm_job_id: '42' });
      const gone = write('gone', { status: 'pending', slurm_job_id: '40' });
      const plain = write('plain', { status: 'pending' });
      expect(readRunRecord(gone)!.state).toBe('pending'); // no snapshot: the CLI's view
      setSlurmQueue(queue('42'));
      expect(readRunRecord(queued)).toMatchObject({ state: 'pending', slurm: { job: { id: '42', state: 'PENDING' } } });
      expect(readRunRecord(gone)).toMatchObject({ state: 'failed', slurm: { note: expect.stringMatching(/^Slurm job 40 ended before the run started/) } });
      expect(readRunRecord(plain)!.state).toBe('pending');
      expect(readRunRecord(plain)!.slurm).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });
});

describe('Submit to Slurm: the cvw submit command line and its answer', () => {
  it('passes the choices, leaves out the empty ones, and asks for JSON', () => {
    expect(submitArgs('/ws/configs/a.yaml', { nodes: 2, ntasksPerNode: 4, gpusPerTask: 1, partition: ' gpu ', time: '2:00:00', args: ['--max-iters', '10'] })).toEqual([
      'submit', '/ws/configs/a.yaml', '--nodes', '2', '--ntasks-per-node', '4', '--gpus-per-task', '1', '--partition', 'gpu', '--time', '2:00:00', '--max-iters', '10', '--json',
    ]);
    expect(submitArgs('a.yaml', { nodes: 1, ntasksPerNode: 2, gpusPerTask: 0, partition: '', time: '' })).toEqual(['submit', 'a.yaml', '--nodes', '1', '--ntasks-per-node', '2', '--json']);
  });

  it('reads the run directory and job id from the output, around other lines', () => {
    const out = 'cvw: building the MPI binding\n{\n  "runDir": "/ws/work_dirs/a/1",\n  "script": "/ws/work_dirs/a/1/submit.sbatch",\n  "jobId": "43"\n}\n';
    expect(parseSubmitOutput(out)).toEqual({ runDir: '/ws/work_dirs/a/1', jobId: '43' });
    expect(parseSubmitOutput('sbatch: error: invalid partition')).toBeUndefined();
  });

  it('counts typed into the questions', () => {
    expect(countInput(' 3 ', 'nodes')).toBe(3);
    expect(countInput('0', 'nodes')).toMatch(/^nodes: expected a positive whole number, got "0"/);
    expect(countInput('0', 'GPUs per rank', true)).toBe(0);
    expect(countInput('1.5', 'GPUs per rank', true)).toMatch(/expected a whole number \(0 for none\)/);
  });
});
