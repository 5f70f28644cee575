/**
 * run.json for tests that write run directories by hand: a finished one-epoch run on this host,
 * with `patch` setting what a test looks at.
 */
import * as os from 'node:os';
import { RUN_INFO_VERSION, type RunInfo } from '../../src/rundir';

export function runInfo(patch: Partial<RunInfo> = {}): RunInfo {
  return {
    version: RUN_INFO_VERSION,
    status: 'finished',
    pid: 1,
    hostname: os.hostname(),
    config: '/ws/configs/a.yaml',
    config_stem: 'a',
    run_id: 'r',
    command: ['cvw', 'train'],
    cvw_version: '0.1.0',
    started: new Date().toISOString(),
    epoch: 1,
    iter: 10,
    max_iters: 10,
    max_epochs: 1,
    ...patch,
  };
}
