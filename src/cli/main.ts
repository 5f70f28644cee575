/**
 * `cvw`: the command-line face of CV Workbench. Thin: parse arguments, call the library, print.
 * Progress and errors go to stderr, machine-readable output to stdout.
 */
import '../api';
import { commandHelp, parseArgs, UsageError, type CommandSpec } from './args';
import { COMMANDS } from './commands';
import { ConfigError, UserError } from '../core/problems';
import { closestNames, didYouMean } from '../core/suggest';
import { packageVersion } from '../core/packageInfo';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `cvw ${packageVersion()} — CV Workbench: self-supervised learning and vision transformers in TypeScript`,
    '',
    'Usage: cvw <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run `cvw <command> --help` for the options of a command.',
  ].join('\n');
}

/** The command named by the first one or two words of argv (`config print`, `data pack`). */
function findCommand(argv: string[]): { spec: CommandSpec; rest: string[] } | undefined {
  const two = argv.slice(0, 2).join(' ');
  const byTwo = COMMANDS.find((c) => c.name === two);
  if (byTwo) return { spec: byTwo, rest: argv.slice(2) };
  const byOne = COMMANDS.find((c) => c.name === argv[0]);
  if (byOne) return { spec: byOne, rest: argv.slice(1) };
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  // `cvw help train` (and `cvw help data pack`) as `cvw train --help`; an unknown name says so below.
  if (argv[0] === 'help' && argv.length > 1) return main([...argv.slice(1), '--help']);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(overview() + '\n');
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(argv[0] + ' '));
    if (group.length) {
      const sub = argv[1];
      const msg = sub && !sub.startsWith('-') ? `unknown command "cvw ${argv[0]} ${sub}"` : `"cvw ${argv[0]}" needs a sub-command`;
      process.stderr.write(`cvw: ${msg}${sub ? didYouMean(closestNames(sub, group.map((c) => c.name.split(' ')[1]))) : ''}\n`);
      process.stderr.write(`Sub-commands: ${group.map((c) => c.name).join(', ')}\n`);
      return 2;
    }
    const near = closestNames(argv[0], [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))]);
    process.stderr.write(`cvw: unknown command "${argv[0]}"${didYouMean(near)}\nRun \`cvw --help\` for the list of commands.\n`);
    return 2;
  }
  const { spec, rest } = found;
  try {
    const args = parseArgs(spec, rest);
    if (args.options.help) {
      process.stdout.write(commandHelp(spec) + '\n');
      return 0;
    }
    return await spec.run(args);
  } catch (err) {
    return reportError(err, spec);
  }
}

/** What the system said about a path the user gave (an output folder that is a file, a full disk). */
const FS_REASONS: Record<string, string> = {
  EEXIST: 'exists, and is not a folder',
  ENOTDIR: 'a part of this path is a file, not a folder',
  EISDIR: 'is a folder; expected a file',
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
};

/** A file-system error of a path (Node's ErrnoException) in words, naming the path; else undefined. */
function fileSystemProblem(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || typeof e.path !== 'string' || typeof e.syscall !== 'string') return undefined;
  const reason = FS_REASONS[e.code] ?? e.message;
  // A rename names the temporary file as `path` and the target as `dest`: the user gave the target.
  return `${(e as { dest?: string }).dest ?? e.path}: ${reason} (${e.syscall})`;
}

function reportError(err: unknown, spec: CommandSpec): number {
  if (err instanceof UsageError) {
    process.stderr.write(`cvw ${spec.name}: ${err.message}\nRun \`cvw ${spec.name} --help\` for usage.\n`);
    return 2;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(err.message + '\n');
    process.stderr.write(`cvw ${spec.name}: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} in the config\n`);
    return 1;
  }
  if (err instanceof UserError) {
    process.stderr.write(`cvw ${spec.name}: ${err.message}\n`);
    return 1;
  }
  const fsProblem = fileSystemProblem(err);
  if (fsProblem) {
    process.stderr.write(`cvw ${spec.name}: ${fsProblem}\n`);
    return 1;
  }
  // A buffer past what JavaScript can allocate (`--input-size 100000x100000`, num_classes 1e9): sizes the user chose.
  if (err instanceof RangeError && /typed array length|array buffer allocation|invalid array length/i.test(err.message)) {
    process.stderr.write(`cvw ${spec.name}: a tensor too large to allocate (${err.message}): lower the sizes that make it (image size, batch size, number of classes)\n`);
    return 1;
  }
  const e = err as Error;
  process.stderr.write(`cvw ${spec.name}: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.CVW_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write('(set CVW_DEBUG=1 to see the stack trace)\n');
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`cvw: ${(err as Error)?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
