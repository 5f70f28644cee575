// Stop for a Slurm run reads the job id from run.json, which is workspace data: only a job id
// reaches scancel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunRecord, runFile } from '../../src/rundir';
import { stopSlurmRun } from '../../src/runs/slurmStop';
import { runInfo } from '../helpers/runInfo';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

describe('stopSlurmRun', () => {
  it('refuses a slurm_job_id that is not a job id (it would reach scancel as an option)', async () => {
    const dir = t.file('work_dirs/x/r1');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(runFile(dir, 'run'), JSON.stringify(runInfo({ status: 'pending', slurm_job_id: '--me' })));
    await expect(stopSlurmRun(readRunRecord(dir)!, 1000)).rejects.toThrow(`${dir}: run.json's slurm_job_id "--me" is not a Slurm job id`);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).status).toBe('pending');
  });
});
