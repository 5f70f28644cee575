/**
 * `cvw` relaunching itself under glibc malloc settings that keep freed tensor memory
 * (core/mallocTunables.ts says why): GLIBC_TUNABLES is read once, when a process starts, so the
 * engine-heavy commands start a second process with it and this one only passes signals on.
 *
 * Plain Node modules only: bin/cvw.js loads this before the library.
 */
import { spawn } from 'node:child_process';
import { mallocTunablesSet, usesGlibc, withMallocTunables } from '../core/mallocTunables';
import { outOfMemoryNote, watchOutOfMemoryKills } from '../core/memoryLimit';

/** Commands that run the engine for long enough to gain (the rest start faster without a second process). */
export const RELAUNCHED_COMMANDS: ReadonlySet<string> = new Set(['train', 'benchmark', 'eval', 'predict', 'extract', 'retrieve']);

/** Set in the relaunched process (and how a launcher tells it is one). */
const RELAUNCHED_ENV = 'CVW_RELAUNCHED';
/** Set to 1 to run in the first process, with the allocator as it is. */
export const NO_RELAUNCH_ENV = 'CVW_NO_RELAUNCH';

/** Whether `cvw <argv>` should run in a second process with the tunables set. */
export function shouldRelaunch(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (!RELAUNCHED_COMMANDS.has(argv[0] ?? '') || argv.includes('--help') || argv.includes('-h')) return false;
  if (env[RELAUNCHED_ENV] === '1' || env[NO_RELAUNCH_ENV] === '1' || mallocTunablesSet(env)) return false;
  return usesGlibc();
}

/** Signals the launcher passes on (the relaunched process is in its own process group, so it sees each once). */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];

/**
 * Run `script argv` again in a child process with the tunables, as if it were this process:
 * same stdio, signals passed on, its exit status (or the signal that ended it) becomes this
 * one's. The child is in a process group of its own so that Ctrl+C (sent by the terminal to
 * the foreground group) reaches it once, through here, not twice; and it ends at once when this
 * launcher dies without passing a signal on (SIGKILL), as the process it stands for would have.
 */
export function relaunch(script: string, argv: readonly string[]): void {
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...withMallocTunables(process.env), [RELAUNCHED_ENV]: '1' },
    detached: true,
  });
  const killedForMemory = watchOutOfMemoryKills(child);
  // The run directory a trainer tells (tellLauncher), to record there an end it could not.
  let runDir: string | undefined;
  child.on('message', (m: unknown) => {
    const dir = (m as Partial<RunDirMessage> | null)?.cvwRunDir;
    if (typeof dir === 'string') runDir = dir;
  });
  const handlers = FORWARDED.map((sig) => [sig, () => void child.kill(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  child.on('error', (err) => {
    process.stderr.write(`cvw: could not start the engine process (${err.message}); run with ${NO_RELAUNCH_ENV}=1 to stay in one process\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const [sig, h] of handlers) process.off(sig, h);
    if (signal) {
      if (killedForMemory(signal)) {
        process.stderr.write(outOfMemoryNote(argv[0]));
        if (runDir) recordInRun(runDir);
      }
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

/**
 * In a relaunched process: end at once when the launcher goes away (its IPC channel closes), and
 * do not let that channel keep the process alive.
 */
export function followLauncher(): void {
  if (process.env[RELAUNCHED_ENV] !== '1' || !process.send) return;
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}

/** What a relaunched trainer sends its launcher over their IPC channel. */
interface RunDirMessage {
  cvwRunDir: string;
}

/** In a relaunched trainer: tell the launcher the run directory (nothing elsewhere). */
export function tellLauncher(runDir: string): void {
  if (process.env[RELAUNCHED_ENV] === '1' && process.connected) process.send?.({ cvwRunDir: runDir } satisfies RunDirMessage);
}

/** run.json of a trainer the out-of-memory killer ended; the run module loaded only then (the launcher stays small). */
function recordInRun(runDir: string): void {
  try {
    (require('../rundir') as typeof import('../rundir')).recordOutOfMemory(runDir);
  } catch (e) {
    process.stderr.write(`cvw: could not record the end in ${runDir}: ${(e as Error).message}\n`);
  }
}
