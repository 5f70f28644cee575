/**
 * `cvw queue add|list|remove|pause|resume|run`: the workspace's run queue (work_dirs/.queue.json),
 * the same file the editor's Queue Training and its queue runner use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKENDS } from '../../engine/configSection';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { joinArgs, parseRunArgs } from '../../runs/args';
import { RunManager } from '../../runs/manager';
import { addToQueue, queueFile, QueueFileError, removeFromQueue, setQueuePaused, type QueueData, type QueueEntry } from '../../runs/queueFile';
import { MAX_QUEUE_PARALLEL, QueueRunner, settledQueue } from '../../runs/queueRunner';
import { resolveTrainingConfig } from '../../core/check';
import type { Override } from '../../core/config/overrides';

const root = () => process.cwd();

/** `cvw train` arguments of an entry: overrides as given (`--a.b v` or `a.b=v`), and the train options. */
function trainArgs(args: ParsedArgs): string[] {
  const out = args.overrides.flatMap((o) => [`--${o.key}`, o.value]);
  for (const word of args.positionals.slice(1)) {
    // Checked now, not when the entry starts hours later.
    if (!/^[A-Za-z_][\w-]*(?:\.[\w-]+)+=/.test(word)) throw new UsageError(`"${word}": expected a config override key.path=value (or --key.path value)`, 'queue add');
  }
  out.push(...parseRunArgs(joinArgs(args.positionals.slice(1))));
  const maxIters = args.options['max-iters'] as number | undefined;
  if (maxIters) out.push('--max-iters', String(maxIters));
  if (args.options.backend) out.push('--backend', String(args.options.backend));
  return out;
}

/** The overrides an entry's training will apply: `--a.b v`, `a.b=v`, and `--backend` as engine.backend. */
function entryOverrides(args: ParsedArgs): Override[] {
  const words = args.positionals.slice(1).map((word) => {
    const eq = word.indexOf('=');
    return { key: word.slice(0, eq), value: word.slice(eq + 1), arg: word };
  });
  const backend = args.options.backend === undefined ? [] : [{ key: 'engine.backend', value: String(args.options.backend), arg: `--backend ${args.options.backend}` }];
  return [...args.overrides, ...words, ...backend];
}

/** One line per entry: id, state, config, overrides, run directory or reason. */
export function formatQueue(q: QueueData, base: string): string {
  const rows = q.entries.map((e: QueueEntry) => {
    const where = e.runDir ? path.relative(base, e.runDir) || e.runDir : '';
    return [e.id, e.state.padEnd(7), e.config, e.overrides.length ? joinArgs(e.overrides) : '', where, e.reason ?? ''].filter(Boolean).join('  ');
  });
  return [`queue ${q.paused ? 'paused' : 'active'}: ${q.entries.length} entr${q.entries.length === 1 ? 'y' : 'ies'}`, ...rows].join('\n') + '\n';
}

const jsonOption = { name: 'json', type: 'boolean', description: 'Print as JSON' } as const;

export const queueAddCommand: CommandSpec = {
  name: 'queue add',
  summary: 'Add a training (config + overrides) to the workspace run queue (work_dirs/.queue.json)',
  positionals: [
    { name: 'config', description: 'Config file (YAML or JSON)' },
    { name: 'overrides', description: 'Config overrides as key.path=value (or --key.path value)', optional: true, variadic: true },
  ],
  options: [
    { name: 'max-iters', type: 'number', description: 'Stop after this many iterations (passed to cvw train)', range: { integer: true, min: 1 } },
    { name: 'backend', type: 'string', description: 'Engine backend (passed to cvw train)', choices: BACKENDS },
    jsonOption,
  ],
  overrides: true,
  run(args) {
    const config = path.resolve(args.positionals[0]);
    if (!fs.existsSync(config)) throw new UsageError(`${args.positionals[0]}: no such config file`, 'queue add');
    const train = trainArgs(args);
    // The config with its overrides (and backend), checked now, not when the entry starts hours later.
    resolveTrainingConfig(args.positionals[0], { overrides: entryOverrides(args) });
    const entry = addToQueue(root(), args.positionals[0], train);
    process.stdout.write(args.options.json ? JSON.stringify(entry, null, 2) + '\n' : `${entry.id}\n`);
    return 0;
  },
};

export const queueListCommand: CommandSpec = {
  name: 'queue list',
  summary: 'List the run queue: each entry with its state and run directory',
  options: [jsonOption],
  run(args) {
    // Runs started by an editor that has closed since: their ending is read from their run.json.
    const q = settledQueue(root());
    process.stdout.write(args.options.json ? JSON.stringify(q, null, 2) + '\n' : formatQueue(q, root()));
    return 0;
  },
};

export const queueRemoveCommand: CommandSpec = {
  name: 'queue remove',
  summary: 'Remove an entry from the run queue (a running one keeps running)',
  positionals: [{ name: 'id', description: 'Entry id (q1, q2, ... as `cvw queue list` shows)' }],
  run(args) {
    const e = removeFromQueue(root(), args.positionals[0]);
    process.stdout.write(`removed ${e.id} (${e.state})\n`);
    return 0;
  },
};

export const queuePauseCommand: CommandSpec = {
  name: 'queue pause',
  summary: 'Pause the run queue: nothing more starts; running entries go on',
  run() {
    setQueuePaused(root(), true);
    process.stdout.write(`paused ${queueFile(root())}\n`);
    return 0;
  },
};

export const queueResumeCommand: CommandSpec = {
  name: 'queue resume',
  summary: 'Resume a paused run queue',
  run() {
    setQueuePaused(root(), false);
    process.stdout.write(`resumed ${queueFile(root())}\n`);
    return 0;
  },
};

export const queueRunCommand: CommandSpec = {
  name: 'queue run',
  summary: 'Start the queued trainings, N at a time, until the queue is empty; adopts runs another runner started',
  options: [
    { name: 'parallel', short: 'p', type: 'number', description: 'Trainings at a time', default: 1, range: { integer: true, min: 1, max: MAX_QUEUE_PARALLEL } },
    { name: 'watch', type: 'boolean', description: 'Keep waiting for new entries when the queue is empty' },
  ],
  details: 'The runs are this process\'s children: Ctrl+C stops them (each writes a last checkpoint; `cvw train --resume <run>` continues it). The editor serves the same queue file; both may run at once.',
  async run(args) {
    const parallel = args.options.parallel as number;
    // This very cvw, with this Node, trains the entries.
    const manager = new RunManager(() => ({ node: { command: process.execPath, env: {} }, cvw: { entry: process.argv[1], source: 'setting', packageRoot: path.dirname(process.argv[1]) } }));
    const runner = new QueueRunner(manager, { root: root(), parallel, detached: false });
    let last = '';
    const show = (q: QueueData) => {
      const text = formatQueue(q, root());
      if (text !== last) process.stderr.write(text);
      last = text;
    };
    let interrupted = false;
    const onSignal = () => {
      interrupted = true;
    };
    let lastError = '';
    // The queue as it is now; undefined while the file cannot be read as a queue and runs started
    // here still train: a file being edited by hand (or caught half-saved) must not end this
    // process, which would stop them. Without runs to keep, the error ends it as before.
    const tick = (): QueueData | undefined => {
      try {
        const q = runner.tick();
        lastError = '';
        return q;
      } catch (e) {
        if (!(e instanceof QueueFileError) || !manager.running().length) throw e;
        if (e.message !== lastError) process.stderr.write(`${e.message}; the runs go on, and the queue is read again until it is fixed\n`);
        lastError = e.message;
        return undefined;
      }
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      for (;;) {
        const q = tick();
        if (q) show(q);
        const pending = !q || q.entries.some((e) => e.state === 'running' || (e.state === 'queued' && !q.paused));
        if (interrupted) {
          // The runs got the signal too (or get it now): let them write their last checkpoint, then record how they ended.
          manager.dispose();
          await Promise.all(manager.running().map((p) => p.exited));
          show(runner.tick());
          return 130;
        }
        if (q && !pending && !args.options.watch) {
          const failed = q.entries.filter((e) => e.state === 'failed').length;
          return failed ? 1 : 0;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      runner.dispose();
      manager.dispose();
    }
  },
};

export const QUEUE_COMMANDS = [queueAddCommand, queueListCommand, queueRemoveCommand, queuePauseCommand, queueResumeCommand, queueRunCommand];
