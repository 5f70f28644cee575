/**
 * `cvw submit`: a data-parallel training run as a Slurm batch job. The sbatch script goes into the
 * run directory (on the shared file system), the run is recorded as `pending` with its job id at
 * once, and the job's ranks (`srun --mpi=pmix`) write the run like any other once it starts. The
 * job is submitted held and released once its id is in run.json, so the job never races the record.
 * A requeued job resumes from its latest checkpoint; `scancel` sends SIGTERM, on which the ranks
 * agree on a step to stop after and write a last checkpoint (status `stopped`, resumable).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { UserError } from '../core/problems';
import { resolveTrainingConfig } from '../core/check';
import { packageVersion } from '../core/packageInfo';
import type { Override } from '../core/config/overrides';
import { RunDir, makeNewRunDir, CHECKPOINTS, checkpointName, writeAtomic } from '../rundir';
import { MALLOC_TUNABLES_VALUE } from '../core/mallocTunables';
import { makeDirs } from '../core/makeDirs';
import { joinArgs, shellWord } from '../runs/args';

export interface SubmitOptions {
  config: string;
  nodes: number;
  ntasksPerNode: number;
  gpusPerTask?: number;
  partition?: string;
  time?: string;
  workDir?: string;
  overrides?: Override[];
  /** More `cvw train` options for every rank (e.g. --max-iters 100). */
  trainArgs?: string[];
  /** Write the script and print it; submit nothing. */
  dryRun?: boolean;
}

export interface SubmitResult {
  runDir: string;
  script: string;
  jobId?: string;
}

const SCRIPT = 'submit.sbatch';


/**
 * A value that goes into the script's comments or `#SBATCH` lines as it is: a line break there
 * would end the directives and start a command of its own, so control characters are refused.
 */
function lineSafe(what: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new UserError(`${what} ${JSON.stringify(value)}: a line break or control character cannot go into the job script`);
}

/**
 * A value for an `#SBATCH` line. sbatch reads directives with its own parser, not bash's: it
 * splits them at white space and takes an unquoted `#` for the start of a comment, so a config
 * named `my cfg.yaml` made sbatch refuse the script ("Invalid directive ... cfg") and a `#` in a
 * folder's name cut `--chdir`/`--output` short. Inside double quotes it keeps both, and a
 * backslash there escapes `"` and itself (outside quotes a backslash does not keep a space).
 */
function directive(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** A path in a Slurm filename pattern (`--output`): `%` starts a replacement symbol, `%%` is one `%`. */
function filenamePattern(p: string): string {
  return p.replace(/%/g, '%%');
}

function checkScriptValues(o: SubmitOptions & { runDir: string; cwd: string }): void {
  lineSafe('the config path', o.config);
  lineSafe('the run directory', o.runDir);
  lineSafe('the working folder', o.cwd);
  if (o.partition) lineSafe('--partition', o.partition);
  if (o.time) lineSafe('--time', o.time);
}

export function sbatchScript(o: SubmitOptions & { runDir: string; cwd: string; node: string; cvw: string }): string {
  checkScriptValues(o);
  const stem = path.basename(o.config).replace(/\.(ya?ml|json)$/i, '');
  const directives = [
    `--job-name=${directive(`cvw-${stem}`)}`,
    `--nodes=${o.nodes}`,
    `--ntasks-per-node=${o.ntasksPerNode}`,
    ...(o.gpusPerTask ? [`--gpus-per-task=${o.gpusPerTask}`] : []),
    ...(o.partition ? [`--partition=${directive(o.partition)}`] : []),
    ...(o.time ? [`--time=${directive(o.time)}`] : []),
    `--chdir=${directive(o.cwd)}`,
    `--output=${directive(path.join(filenamePattern(o.runDir), 'slurm-%j.out'))}`,
    // Requeued (node failure, preemption): the script resumes from the latest checkpoint.
    '--requeue',
  ];
  const overrides = (o.overrides ?? []).flatMap((ov) => [`--${ov.key}`, ov.value]);
  const common = joinArgs([...(o.trainArgs ?? []), ...overrides]);
  const cvw = `${shellWord(o.node)} ${shellWord(o.cvw)}`;
  return [
    '#!/bin/bash',
    `# Written by cvw submit (cv-workbench ${packageVersion()}): data-parallel training of ${o.config}`,
    `# on ${o.nodes} node(s) x ${o.ntasksPerNode} rank(s); the run directory is ${o.runDir}.`,
    ...directives.map((d) => `#SBATCH ${d}`),
    '',
    `run=${shellWord(o.runDir)}`,
    // glibc's malloc tunables from the start: each rank is then the training itself, not a
    // launcher and its second process (scancel signals every process of the job: both would get it).
    `export GLIBC_TUNABLES="\${GLIBC_TUNABLES:-${MALLOC_TUNABLES_VALUE}}"`,
    // srun runs every rank; scancel's SIGTERM reaches each (the ranks stop together with a checkpoint).
    `if [ -f "$run/${checkpointName(CHECKPOINTS.latest)}" ]; then`,
    `  exec srun --mpi=pmix --kill-on-bad-exit=1 ${cvw} train --resume "$run" ${common}`,
    'else',
    `  exec srun --mpi=pmix --kill-on-bad-exit=1 ${cvw} train ${shellWord(path.resolve(o.config))} --work-dir "$run" ${common}`,
    'fi',
    '',
  ].join('\n');
}

function slurmCommand(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new UserError(`${cmd} not found: cvw submit needs Slurm's client commands (sbatch, scontrol) on PATH`);
    throw new UserError(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

export function submit(o: SubmitOptions): SubmitResult {
  if (!fs.existsSync(o.config)) throw new UserError(`${o.config}: no such config file`);
  // Checked here, with its overrides: an error found by the ranks would come after the queue's wait.
  resolveTrainingConfig(o.config, { overrides: o.overrides });
  // Before the run directory exists: a refused value leaves nothing behind.
  checkScriptValues({ ...o, runDir: o.workDir ?? '', cwd: process.cwd() });
  const stem = path.basename(o.config).replace(/\.(ya?ml|json)$/i, '');
  const dir = o.workDir ? path.resolve(o.workDir) : makeNewRunDir(path.resolve('work_dirs', stem));
  const script = sbatchScript({ ...o, runDir: dir, cwd: process.cwd(), node: process.execPath, cvw: process.argv[1] });
  makeDirs(dir);
  const scriptFile = path.join(dir, SCRIPT);
  // Through a new file and a rename: a run folder given with --work-dir (resubmitting a run) may
  // come with the workspace, and a submit.sbatch link planted there (to ~/.bashrc, say) would have
  // the script written into its target, which then ran `exec srun ...` in every new shell.
  writeAtomic(scriptFile, [script], 0o755);
  if (o.dryRun) return { runDir: dir, script: scriptFile };

  const run = RunDir.create(dir, {
    config: path.resolve(o.config),
    config_stem: stem,
    command: process.argv.slice(1),
    cvw_version: packageVersion(),
    epoch: 0,
    iter: 0,
    max_iters: 0,
    max_epochs: 0,
    world_size: o.nodes * o.ntasksPerNode,
  }, 'pending');
  let jobId: string | undefined;
  try {
    const out = slurmCommand('sbatch', ['--parsable', '--hold', scriptFile]);
    jobId = out.trim().split(';')[0];
    if (!/^\d+$/.test(jobId)) throw new UserError(`sbatch answered "${out.trim()}", not a job id`);
    run.update({ slurm_job_id: jobId });
    run.appendLog(`${new Date().toISOString()} submitted to Slurm as job ${jobId} (${o.nodes} node(s) x ${o.ntasksPerNode} rank(s)${o.partition ? `, partition ${o.partition}` : ''}): ${scriptFile}`);
    run.close();
    slurmCommand('scontrol', ['release', jobId]);
    return { runDir: dir, script: scriptFile, jobId };
  } catch (e) {
    let message = (e as Error).message;
    // A job that sbatch took but that was not released (scontrol refused: e.g. more ranks per node
    // than a node has, "Requested partition configuration not available now") would wait in the
    // queue for ever, or start one day under a run recorded as failed: it goes too.
    if (jobId && /^\d+$/.test(jobId)) {
      try {
        slurmCommand('scancel', [jobId]);
        message += ` (job ${jobId} cancelled)`;
      } catch (c) {
        message += ` (job ${jobId} could not be cancelled either: ${(c as Error).message}; cancel it with scancel ${jobId})`;
      }
    }
    run.update({ status: 'failed', ended: new Date().toISOString(), error: { message } });
    throw e instanceof UserError ? new UserError(message) : e;
  } finally {
    run.close();
  }
}
