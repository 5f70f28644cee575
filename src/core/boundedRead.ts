/**
 * Reading files that a user (or a cloned repository) names, without trusting them: only regular
 * files (a FIFO would block the reader forever, `/dev/zero` or `/dev/urandom` would grow memory
 * without end) and only up to a size limit. The check is made on the opened descriptor (fstat
 * after open), so a path swapped between a check and the read cannot slip through; FIFOs are
 * opened non-blocking so that opening one does not wait for a writer.
 */
import * as buffer from 'node:buffer';
import * as fs from 'node:fs';
import { UserError } from './problems';

/** Why a file could not be read; `message` says it in words, naming the file (a user error: the CLI prints it as it is). */
export class UnreadableFile extends UserError {
  constructor(
    readonly file: string,
    readonly reason: 'not-found' | 'not-regular' | 'too-large' | 'io',
    message: string,
  ) {
    super(message);
    this.name = 'UnreadableFile';
  }
}

/** What a non-regular file is, for messages. */
export function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}

export interface BoundedReadOptions {
  /** What the file is, for messages (`config file`, `_base_ file`). */
  what: string;
  /** Most bytes accepted (default: the most a Buffer holds; the file's own size bounds the read). */
  maxBytes?: number;
  /** How to raise the limit, appended to the too-large message (`set CVW_MAX_CONFIG_BYTES`). */
  raiseHint?: string;
}

/**
 * Open `file` for reading, which must be a regular file (for readers of a part of it: a header);
 * the caller closes the descriptor. Throws `UnreadableFile`.
 */
export function openRegularFile(file: string, what: string): { fd: number; stats: fs.Stats } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UnreadableFile(file, 'not-found', `${what} not found: ${file}`);
    throw new UnreadableFile(file, 'io', `cannot read ${what} ${file}: ${(err as Error).message}`);
  }
  const stats = fs.fstatSync(fd);
  if (!stats.isFile()) {
    fs.closeSync(fd);
    throw new UnreadableFile(file, 'not-regular', `${what} ${file} is ${kindOf(stats)}; expected a regular file`);
  }
  return { fd, stats };
}

/**
 * The bytes of `file`, which must be a regular file of at most `maxBytes` bytes. Reads at most
 * `maxBytes + 1` bytes whatever the file claims (files in /proc say 0 and hold more).
 * Throws `UnreadableFile`.
 */
export function readRegularFile(file: string, options: BoundedReadOptions): Buffer {
  const opts = { ...options, maxBytes: options.maxBytes ?? buffer.constants.MAX_LENGTH };
  const { fd, stats: st } = openRegularFile(file, opts.what);
  try {
    const tooLarge = () =>
      new UnreadableFile(file, 'too-large', `${opts.what} ${file} is larger than the limit of ${formatBytes(opts.maxBytes)}${opts.raiseHint ? ` (${opts.raiseHint})` : ''}`);
    if (st.size > opts.maxBytes) throw tooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size + 1, 4096), opts.maxBytes + 1));
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        throw new UnreadableFile(file, 'io', `cannot read ${opts.what} ${file}: ${(err as Error).message}`);
      }
      if (n === 0) break;
      total += n;
      if (total > opts.maxBytes) throw tooLarge();
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/** A positive integer limit from the environment variable `name`, else `fallback`. */
export function limitFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw.trim());
  return Number.isSafeInteger(v) && v > 0 ? v : fallback;
}
