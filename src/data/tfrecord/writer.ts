/**
 * Writing one TFRecord shard and its DALI index, atomically: both are written under temporary
 * names and renamed into place when complete, so an interrupted `cvw data pack` never leaves a
 * truncated shard that looks finished.
 */
import * as fs from 'node:fs';
import { frameRecord, formatIndex, type RecordSpan } from './records';

const FLUSH_BYTES = 1 << 20;

export class TFRecordWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private readonly spans: RecordSpan[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private offset = 0;

  constructor(readonly file: string, readonly indexFile: string = file + '.idx') {
    this.tmp = `${file}.tmp-${process.pid}`;
    this.fd = fs.openSync(this.tmp, 'w');
  }

  /** Append one record; returns where it lies in the shard. */
  write(data: Uint8Array): RecordSpan {
    const framed = frameRecord(data);
    const span = { offset: this.offset, size: framed.length };
    this.spans.push(span);
    this.pending.push(framed);
    this.pendingBytes += framed.length;
    this.offset += framed.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    return span;
  }

  get records(): number {
    return this.spans.length;
  }

  private flush(): void {
    if (!this.pending.length) return;
    const buf = Buffer.concat(this.pending, this.pendingBytes);
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Finish: flush, sync, rename the shard into place, then write its index the same way. */
  close(): { records: number; bytes: number } {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
    const idxTmp = `${this.indexFile}.tmp-${process.pid}`;
    fs.writeFileSync(idxTmp, formatIndex(this.spans));
    fs.renameSync(idxTmp, this.indexFile);
    return { records: this.spans.length, bytes: this.offset };
  }

  /** Give up: remove the temporary shard. */
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    fs.rmSync(this.tmp, { force: true });
  }
}
