/**
 * Follow a growing text file (metrics.jsonl, log.txt, a run's output) from a byte offset: each
 * `read()` returns only the complete lines appended since the last one, never reading the whole
 * file again.
 *
 * - A partial last line (a writer in the middle of an append) is kept back until its newline
 *   arrives; its bytes are read once and buffered, not read again.
 * - A file that became shorter than the offset (truncated) or was replaced by another file (a
 *   resumed run rewrites metrics.jsonl with temp + rename, dropping lines written after its last
 *   checkpoint) is read again from the start, and `read()` says so with `reset: true` so that a
 *   listener drops what it had.
 * - A file that does not exist yet reads as empty.
 * - Bounded whatever the file holds: lines are split chunk by chunk (a backlog of millions of lines
 *   is never one string, which V8 caps at 512 Mi characters), and a line longer than
 *   MAX_LINE_CHARS (binary junk, a runaway print) is cut there, the rest of it dropped.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { openRegularFile, UnreadableFile } from '../core/boundedRead';

export interface FollowRead {
  /** Complete lines appended since the previous read (without their newline). */
  lines: string[];
  /** True when the file was truncated or replaced: `lines` start again from its first line. */
  reset: boolean;
  /** The read stopped at its byte budget with more of the file to read (`read(maxBytes)`). */
  more?: boolean;
}

/** Bytes read per system call; a large backlog is read in several chunks. */
const CHUNK = 1 << 20;
/** The longest line returned whole; a longer one is returned cut to this length. */
export const MAX_LINE_CHARS = 16 << 20;

export class FileFollower {
  private offset = 0;
  private identity: string | undefined;
  private decoder = new StringDecoder('utf8');
  private partial = '';
  /** The partial line reached MAX_LINE_CHARS: what comes before its newline is dropped. */
  private overlong = false;
  /** Reading starts inside a line (skipToEnd): what comes before the next newline is dropped. */
  private midLine = false;

  constructor(readonly file: string) {}

  /** Bytes consumed so far (complete lines and the buffered partial line). */
  get position(): number {
    return this.offset;
  }

  /**
   * Skip what the file holds now, but for about its last `keepBytes` (from the first line that
   * starts in them): the next read returns those lines and what is appended from here on. Returns
   * the bytes skipped.
   */
  skipToEnd(keepBytes = 0): number {
    this.restart();
    let fd: number | undefined;
    try {
      const opened = openRegularFile(this.file, 'file');
      fd = opened.fd;
      this.offset = Math.max(0, opened.stats.size - keepBytes);
      this.identity = `${opened.stats.dev}:${opened.stats.ino}`;
      // Mid-line unless the byte before is a newline: what comes before the next one is dropped.
      if (this.offset > 0 && this.offset < opened.stats.size) {
        const before = Buffer.alloc(1);
        this.midLine = !(fs.readSync(fd, before, 0, 1, this.offset - 1) === 1 && before[0] === 0x0a);
      }
    } catch {
      // not there yet (or not a file to follow): start from its beginning when it comes
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    return this.offset;
  }

  /** Forget everything: the next read starts from the beginning of the file. */
  restart(): void {
    this.offset = 0;
    this.identity = undefined;
    this.decoder = new StringDecoder('utf8');
    this.partial = '';
    this.overlong = false;
    this.midLine = false;
  }

  /**
   * The complete lines appended since the last read; with `maxBytes`, those of about that many
   * bytes more at most (whole chunks), `more` saying whether the file holds more: a reader of a
   * huge file takes it a part at a time.
   */
  read(maxBytes = Infinity): FollowRead {
    let fd: number;
    let stat: fs.Stats;
    try {
      // Only a regular file, opened without blocking: a run's files come from the workspace, and
      // a FIFO would block the reader forever, a link to /dev/zero feed it without end.
      ({ fd, stats: stat } = openRegularFile(this.file, 'file'));
    } catch (e) {
      if (!(e instanceof UnreadableFile && e.reason === 'not-found')) throw e;
      // Gone (deleted, or between the unlink and rename of a replacement): start over when it returns.
      const reset = this.offset > 0 || this.partial !== '';
      this.restart();
      return { lines: [], reset };
    }
    try {
      const identity = `${stat.dev}:${stat.ino}`;
      let reset = false;
      if ((this.identity !== undefined && identity !== this.identity) || stat.size < this.offset) {
        reset = this.offset > 0 || this.partial !== '';
        this.restart();
      }
      this.identity = identity;
      const lines: string[] = [];
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, stat.size - this.offset)));
      let budget = maxBytes;
      for (;;) {
        if (budget <= 0) return { lines, reset, more: this.offset < stat.size };
        const n = fs.readSync(fd, buffer, 0, buffer.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        budget -= n;
        this.split(this.decoder.write(buffer.subarray(0, n)), lines);
        if (n < buffer.length) break;
      }
      return { lines, reset };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Add the complete lines of `text` (after the partial line so far) to `lines`; keep its unfinished end. */
  private split(text: string, lines: string[]): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = start === 0 ? this.extend(text.slice(0, nl)) : text.slice(start, nl).slice(0, MAX_LINE_CHARS);
      this.partial = '';
      this.overlong = false;
      if (this.midLine) this.midLine = false;
      else lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
      start = nl + 1;
    }
    this.partial = this.extend(text.slice(start));
  }

  /** The partial line with `more` appended, cut at MAX_LINE_CHARS (once cut, nothing more is added). */
  private extend(more: string): string {
    if (this.overlong || this.midLine) return this.partial;
    const line = this.partial + more;
    if (line.length <= MAX_LINE_CHARS) return line;
    this.overlong = true;
    return line.slice(0, MAX_LINE_CHARS);
  }
}

/** One parsed metrics.jsonl line: `{time, epoch, iter, split, loss, lr, samples_per_s, eta_s, ...}`. */
export interface MetricRecord {
  time?: number;
  epoch?: number;
  iter?: number;
  /** `train`, or the name of an evaluation (`val`) whose metrics the line holds. */
  split?: string;
  loss?: number;
  lr?: number;
  samples_per_s?: number;
  eta_s?: number;
  [key: string]: unknown;
}

export interface MetricsRead {
  records: MetricRecord[];
  reset: boolean;
  /** Lines that were not JSON objects (skipped). */
  skipped: number;
  /** More of the file is left to read (a read with a byte budget). */
  more?: boolean;
}

/** metrics.jsonl followed incrementally, parsed line by line. */
export class MetricsFollower {
  private readonly lines: FileFollower;

  constructor(file: string) {
    this.lines = new FileFollower(file);
  }

  get file(): string {
    return this.lines.file;
  }

  get position(): number {
    return this.lines.position;
  }

  /** The records appended since the last read; `maxBytes` as FileFollower.read's. */
  read(maxBytes?: number): MetricsRead {
    const { lines, reset, more } = this.lines.read(maxBytes);
    const records: MetricRecord[] = [];
    let skipped = 0;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as unknown;
        if (r && typeof r === 'object' && !Array.isArray(r)) records.push(r as MetricRecord);
        else skipped++;
      } catch {
        skipped++;
      }
    }
    return { records, reset, skipped, ...(more ? { more } : {}) };
  }

  /**
   * What was appended, read in batches of about `maxBytes` (the first one `reset` when the file
   * was rewritten): a reader of a huge backlog never holds all of its records at once.
   */
  *batches(maxBytes: number): Generator<MetricsRead> {
    for (let more = true; more; ) {
      const read = this.read(maxBytes);
      more = read.more === true;
      yield read;
    }
  }
}
