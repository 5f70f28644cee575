import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { FileFollower, MetricsFollower } from '../../src/runs';
import { MAX_LINE_CHARS } from '../../src/rundir/follow';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

/**
 * Count the bytes read through fs.readSync while `fn` runs (the module's CommonJS object, synced to
 * ESM importers); past `limit` bytes a read throws, so that a reader that would never stop fails.
 */
function countingReads<T>(fn: () => T, limit = Infinity): { result: T; bytes: number } {
  const cjs = require('node:fs') as { readSync: typeof fs.readSync };
  const original = cjs.readSync;
  let bytes = 0;
  cjs.readSync = ((...args: unknown[]) => {
    const n = (original as (...a: unknown[]) => number)(...args);
    bytes += n;
    if (bytes > limit) throw new Error(`read more than ${limit} bytes`);
    return n;
  }) as typeof fs.readSync;
  syncBuiltinESMExports();
  try {
    return { result: fn(), bytes };
  } finally {
    cjs.readSync = original;
    syncBuiltinESMExports();
  }
}

describe('FileFollower', () => {
  it('reads nothing from a file that does not exist yet, then everything once it does', () => {
    const f = new FileFollower(t.file('late.txt'));
    expect(f.read()).toEqual({ lines: [], reset: false });
    fs.writeFileSync(t.file('late.txt'), 'a\nb\n');
    expect(f.read()).toEqual({ lines: ['a', 'b'], reset: false });
    expect(f.read()).toEqual({ lines: [], reset: false });
  });

  it('returns only appended lines, reading only the appended bytes', () => {
    const file = t.file('append.txt');
    fs.writeFileSync(file, 'x'.repeat(10_000) + '\n');
    const f = new FileFollower(file);
    expect(f.read().lines).toHaveLength(1);
    fs.appendFileSync(file, 'second\nthird\n');
    const { result, bytes } = countingReads(() => f.read());
    expect(result).toEqual({ lines: ['second', 'third'], reset: false });
    expect(bytes).toBe('second\nthird\n'.length);
    expect(f.position).toBe(10_001 + 13);
  });

  it('keeps a partial last line back until its newline arrives, without reading its bytes again', () => {
    const file = t.file('partial.txt');
    fs.writeFileSync(file, '{"iter":1}\n{"iter"');
    const f = new FileFollower(file);
    expect(f.read().lines).toEqual(['{"iter":1}']);
    fs.appendFileSync(file, ':2');
    expect(f.read().lines).toEqual([]);
    fs.appendFileSync(file, '}\n');
    const { result, bytes } = countingReads(() => f.read());
    expect(result.lines).toEqual(['{"iter":2}']);
    expect(bytes).toBe(2);
  });

  it('keeps a multi-byte character split between two appends whole', () => {
    const file = t.file('utf8.txt');
    const bytes = Buffer.from('ärger ✓\n', 'utf8');
    fs.writeFileSync(file, bytes.subarray(0, 8)); // ends inside the 3-byte ✓
    const f = new FileFollower(file);
    expect(f.read().lines).toEqual([]);
    fs.appendFileSync(file, bytes.subarray(8));
    expect(f.read().lines).toEqual(['ärger ✓']);
  });

  it('starts again from the top when the file is truncated, and says so', () => {
    const file = t.file('trunc.txt');
    fs.writeFileSync(file, 'one\ntwo\nthree\n');
    const f = new FileFollower(file);
    f.read();
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, 'uno\n');
    expect(f.read()).toEqual({ lines: ['uno'], reset: true });
  });

  it('starts again when the file is replaced by a rename (a resumed run rewrites metrics.jsonl), even when it is longer', () => {
    const file = t.file('replaced.txt');
    fs.writeFileSync(file, 'a\nb\n');
    const f = new FileFollower(file);
    expect(f.read().lines).toEqual(['a', 'b']);
    fs.writeFileSync(file + '.tmp', 'a\nb-rewritten\nc\n');
    fs.renameSync(file + '.tmp', file);
    expect(f.read()).toEqual({ lines: ['a', 'b-rewritten', 'c'], reset: true });
  });

  it('a deleted file resets the follower; a new one is read from its start', () => {
    const file = t.file('deleted.txt');
    fs.writeFileSync(file, 'old\n');
    const f = new FileFollower(file);
    f.read();
    fs.rmSync(file);
    expect(f.read()).toEqual({ lines: [], reset: true });
    fs.writeFileSync(file, 'new\n');
    expect(f.read()).toEqual({ lines: ['new'], reset: false });
  });

  it('skipToEnd follows only what is appended afterwards', () => {
    const file = t.file('skip.txt');
    fs.writeFileSync(file, 'before\n');
    const f = new FileFollower(file);
    f.skipToEnd();
    fs.appendFileSync(file, 'after\n');
    expect(f.read().lines).toEqual(['after']);
  });

  it('skipToEnd(keepBytes) keeps the lines that start in the last bytes, none cut', () => {
    const file = t.file('tail.txt');
    fs.writeFileSync(file, 'line one\nline two\nline three\n');
    const f = new FileFollower(file);
    // 12 bytes from the end is inside "line two\n": its end is dropped, not shown as a line.
    expect(f.skipToEnd(12)).toBe(29 - 12);
    fs.appendFileSync(file, 'four\n');
    expect(f.read()).toEqual({ lines: ['line three', 'four'], reset: false });
    // At a line's start: that line is kept.
    expect(f.skipToEnd(16)).toBe(34 - 16);
    expect(f.read().lines).toEqual(['line three', 'four']);
    expect(f.skipToEnd(1000)).toBe(0);
    expect(f.read().lines).toEqual(['line one', 'line two', 'line three', 'four']);
    // A fragment that spans several reads is dropped whole.
    fs.writeFileSync(file, 'x'.repeat(3 << 20) + '\nlast\n'); // reads are of 1 MiB chunks
    expect(f.skipToEnd(2 << 20)).toBe((3 << 20) + 6 - (2 << 20));
    expect(f.read(1)).toMatchObject({ lines: [], more: true });
    expect(f.read().lines).toEqual(['last']);
  });

  it('refuses at once a file that is not a regular one: a link to /dev/zero, a FIFO', () => {
    // A cloned work_dirs may hold either as a run's metrics.jsonl or output.log: the reader read
    // /dev/zero byte by byte without end, and waited forever to open a FIFO.
    const zero = t.file('zero.jsonl');
    fs.symlinkSync('/dev/zero', zero);
    const { result } = countingReads(() => {
      try {
        new FileFollower(zero).read();
      } catch (e) {
        return (e as Error).message;
      }
    }, 1 << 20);
    expect(result).toBe(`file ${zero} is a character device; expected a regular file`);
    const fifo = t.file('fifo.jsonl');
    execFileSync('mkfifo', [fifo]);
    expect(() => new MetricsFollower(fifo).read()).toThrow(/is a FIFO \(named pipe\); expected a regular file/);
  });

  it('cuts a line longer than MAX_LINE_CHARS there and drops the rest of it, also across reads', () => {
    // Binary junk or a runaway print in a run's file: the reader kept the whole line, and a file
    // over 512 Mi characters (a few million metric lines) failed whole, as one string too long.
    const file = t.file('junk.txt');
    fs.writeFileSync(file, 'j'.repeat(MAX_LINE_CHARS + (3 << 20)));
    const f = new FileFollower(file);
    expect(f.read().lines).toEqual([]);
    fs.appendFileSync(file, 'k'.repeat(1 << 20) + '\n{"iter":1}\nnext');
    const { lines } = f.read();
    expect(lines.map((l) => l.length)).toEqual([MAX_LINE_CHARS, 10]);
    expect(lines[0]).toBe('j'.repeat(MAX_LINE_CHARS));
    expect(lines[1]).toBe('{"iter":1}');
    fs.appendFileSync(file, ' line\r\n');
    expect(f.read().lines).toEqual(['next line']);
  });

  it('reads a backlog larger than one chunk', () => {
    const file = t.file('big.txt');
    const line = 'y'.repeat(999);
    fs.writeFileSync(file, `${line}\n`.repeat(3000)); // ~3 MB, 3 chunks
    expect(new FileFollower(file).read().lines).toHaveLength(3000);
  });

  it('with a byte budget, reads a backlog a part at a time (whole chunks), saying while there is more', () => {
    const file = t.file('budget.txt');
    const lines = Array.from({ length: 3000 }, (_, i) => `${i}:${'z'.repeat(996)}`);
    fs.writeFileSync(file, lines.map((l) => `${l}\n`).join('')); // ~3 MB, 3 chunks of 1 MiB
    const f = new FileFollower(file);
    const parts: string[][] = [];
    const { bytes } = countingReads(() => {
      for (let more = true; more; ) {
        const r = f.read(1);
        parts.push(r.lines);
        more = r.more === true;
      }
    });
    expect(parts.length).toBe(3);
    expect(parts.flat()).toEqual(lines);
    expect(bytes).toBe(fs.statSync(file).size);
    expect(f.read(1)).toEqual({ lines: [], reset: false });
  });
});

describe('MetricsFollower', () => {
  it('parses JSON lines, skips lines that are not objects, and follows appends', () => {
    const file = t.file('metrics.jsonl');
    fs.writeFileSync(file, '{"iter":1,"split":"train","loss":2.5}\nnot json\n[1]\n\n');
    const m = new MetricsFollower(file);
    expect(m.read()).toEqual({ records: [{ iter: 1, split: 'train', loss: 2.5 }], reset: false, skipped: 2 });
    fs.appendFileSync(file, '{"iter":2,"split":"val","accuracy_top1":0.5}\n');
    expect(m.read().records).toEqual([{ iter: 2, split: 'val', accuracy_top1: 0.5 }]);
  });
});
