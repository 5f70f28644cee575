/**
 * `cvw train --nproc N`: start the same command on N ranks with Open MPI's mpirun, on this
 * machine. The binding is built once here before the ranks start; Ctrl+C/SIGTERM are passed on
 * as SIGUSR1 (which mpirun forwards to every rank) so that the ranks agree on a step to stop after
 * and write a last checkpoint; when a rank dies, mpirun's message (naming the rank, its host and
 * the signal) goes into the run's record.
 */
import * as os from 'node:os';
import { spawn } from 'node:child_process';
import { UserError } from '../core/problems';
import { buildBinding, mpiAvailability, mpirunRootEnv, which, MPI_INSTALL_HINT } from './binding';
import { recordDeath } from '../rundir';
import { endedForMemory, watchOutOfMemoryKills } from '../core/memoryLimit';

/**
 * The most ranks `--nproc` starts on one machine: each is a whole training process (hundreds of MB
 * at least), so a mistyped count (1e5) would start that many and exhaust the machine.
 */
export const MAX_LOCAL_RANKS = 256;

export interface LaunchOptions {
  nproc: number;
  /** The cvw arguments for every rank (without --nproc). */
  args: string[];
  /** The run directory the ranks write (rank 0), to record a dead rank in. */
  runDir?: string;
  /** Extra mpirun arguments ($CVW_MPIRUN_ARGS, split at spaces, by default). */
  mpirunArgs?: string[];
}

/**
 * What ended the job, from mpirun's output: a rank's word that others never joined a collective
 * (World's CollectiveTimeoutError, printed by the rank before it aborted the job), else mpirun's
 * line about the rank that died, e.g. "process rank 1 with PID 0 on node vm exited on signal 9 (Killed)".
 */
export function deadRankMessage(mpirunOutput: string): string | undefined {
  const hung = /cvw: rank \d+ \(\S+\) failed: (.+? did not join .+?); the job ends/.exec(mpirunOutput);
  if (hung) return hung[1];
  const m = /process rank (\d+) with PID \d+ on node (\S+) exited on signal (\d+)(?: \(([^)]+)\))?/.exec(mpirunOutput);
  if (m) return `rank ${m[1]} (${m[2]}) died (signal ${m[3]}${m[4] ? `, ${m[4]}` : ''})`;
  const a = /MPI_ABORT was invoked on rank (\d+)/.exec(mpirunOutput);
  if (a) return `rank ${a[1]} ended the job (MPI_Abort; its error is in the run's log)`;
  return undefined;
}

export async function launchRanks(o: LaunchOptions): Promise<number> {
  const avail = mpiAvailability();
  if (!avail.mpirun) throw new UserError(`--nproc needs Open MPI's mpirun: ${MPI_INSTALL_HINT}`);
  buildBinding((m) => process.stderr.write(`cvw: ${m}\n`));
  const extra = o.mpirunArgs ?? (process.env.CVW_MPIRUN_ARGS ?? '').split(' ').filter(Boolean);
  const oversubscribe = o.nproc > os.availableParallelism() ? ['--oversubscribe'] : [];
  const argv = ['-np', String(o.nproc), ...oversubscribe, ...extra, process.execPath, process.argv[1], ...o.args];
  const [cmd, cmdArgs] = orphanSafe(avail.mpirun, argv);
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'inherit', 'pipe'], env: { ...process.env, ...mpirunRootEnv() } });
  // The ranks are mpirun's children, in its memory group.
  const killedForMemory = watchOutOfMemoryKills(child);
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    process.stderr.write(d);
    tail = (tail + d.toString()).slice(-20000);
  });
  const forward = () => child.kill('SIGUSR1');
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, sig) => resolve(c ?? (sig ? 128 + (os.constants.signals[sig] ?? 1) : 1)));
    });
    if (code !== 0 && o.runDir) recordDeadRank(o.runDir, tail, killedForMemory);
    return code;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

/**
 * mpirun under util-linux's `setpriv --pdeathsig INT` (Linux): when this process is killed
 * without passing a signal on (SIGKILL: the editor's Stop after its grace, `kill -9`, a relaunch
 * launcher gone), mpirun gets SIGINT and ends the ranks; otherwise mpirun and every rank trained
 * on, orphaned. (With SIGTERM as the death signal mpirun exits and leaves the ranks running.)
 * Where setpriv is missing, mpirun as it is.
 */
function orphanSafe(mpirun: string, argv: string[]): [string, string[]] {
  const setpriv = process.platform === 'linux' ? which('setpriv') : undefined;
  return setpriv ? [setpriv, ['--pdeathsig', 'INT', '--', mpirun, ...argv]] : [mpirun, argv];
}

/**
 * Put mpirun's word about the rank that died into run.json (rank 0 may have had no time to), and
 * the out-of-memory killer's part where it had one.
 */
function recordDeadRank(runDir: string, mpirunOutput: string, killedForMemory: (signal: NodeJS.Signals) => boolean): void {
  let dead = deadRankMessage(mpirunOutput);
  if (!dead) return;
  if (/\(signal 9\b/.test(dead) && killedForMemory('SIGKILL')) dead += `, ${endedForMemory('train')}`;
  const message = recordDeath(runDir, (info) => `${dead}; the job ended at iteration ${info.iter}. Continue with \`cvw train --resume ${runDir}\`${info.error?.message ? ` (rank 0: ${info.error.message})` : ''}`);
  if (message) process.stderr.write(`cvw: ${message}\n`);
}
