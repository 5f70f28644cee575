/**
 * The TFRecord container, byte for byte as TensorFlow writes it (tensorflow/core/lib/io/record_writer.cc):
 *
 *     uint64 length        little-endian
 *     uint32 masked_crc32c(length bytes)
 *     byte   data[length]
 *     uint32 masked_crc32c(data)
 *
 * Reading checks both CRCs; a corrupt or truncated record is reported with its file and byte offset.
 * Index files follow NVIDIA DALI's `tfrecord2idx`: one text line `offset size` per record, size
 * counting the 16 framing bytes, so DALI can read the shards we write.
 */
import * as fs from 'node:fs';
import { UserError } from '../../core/problems';
import { maskedCrc32c } from './crc32c';
import { readRegularFile } from '../../core/boundedRead';

/** Bytes of framing around each record's data: length (8), its CRC (4), the data's CRC (4). */
export const RECORD_OVERHEAD = 16;
const HEADER = 12;

/** A damaged TFRecord file: names the file and the byte offset of the record. */
export class TFRecordError extends UserError {
  constructor(readonly file: string, readonly offset: number, readonly reason: string) {
    super(`${file}@${offset}: ${reason}`);
    this.name = 'TFRecordError';
  }
}

/** One record with its framing, ready to append to a file. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length + RECORD_OVERHEAD);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out, 0, 8), 8);
  out.set(data, HEADER);
  out.writeUInt32LE(maskedCrc32c(data), HEADER + data.length);
  return out;
}

/** Where each record lies in a file: the byte offset of its header and its size with framing. */
export interface RecordSpan {
  offset: number;
  size: number;
}

/**
 * Length of the data of the record whose header is `header` (12 bytes), after checking the
 * header's CRC; `remaining` is how many bytes the file holds from the record's start.
 */
function dataLength(header: Uint8Array, file: string, offset: number, remaining: number): number {
  if (remaining < HEADER) throw new TFRecordError(file, offset, `truncated record: ${remaining} bytes left where a 12-byte header was expected`);
  const view = new DataView(header.buffer, header.byteOffset, HEADER);
  const stored = view.getUint32(8, true);
  const computed = maskedCrc32c(header, 0, 8);
  if (stored !== computed) {
    throw new TFRecordError(file, offset, `corrupt record: the CRC of the length field does not match (stored 0x${hex(stored)}, computed 0x${hex(computed)}); this is not a TFRecord file or it is damaged here`);
  }
  const length = Number(view.getBigUint64(0, true));
  if (length + RECORD_OVERHEAD > remaining) {
    throw new TFRecordError(file, offset, `truncated record: its header announces ${length} bytes of data, but the file ends ${remaining - HEADER} bytes after the header`);
  }
  return length;
}

/** Check a whole record's framing and data CRC; return its data. `bytes` begins at the record. */
export function unframeRecord(bytes: Uint8Array, file: string, offset: number): Uint8Array {
  const length = dataLength(bytes.subarray(0, HEADER), file, offset, bytes.length);
  const data = bytes.subarray(HEADER, HEADER + length);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + HEADER + length, 4).getUint32(0, true);
  const computed = maskedCrc32c(data);
  if (stored !== computed) {
    throw new TFRecordError(file, offset, `corrupt record: the CRC of its ${length} data bytes does not match (stored 0x${hex(stored)}, computed 0x${hex(computed)})`);
  }
  return data;
}

/** Read and check the record at `span` of an open file. */
export function readRecordSync(fd: number, file: string, span: RecordSpan): Uint8Array {
  const buf = Buffer.allocUnsafe(span.size);
  const got = readFully(fd, buf, span.offset);
  if (got < RECORD_OVERHEAD) {
    throw new TFRecordError(file, span.offset, `truncated record: ${got} bytes left where the index expects a ${span.size}-byte record`);
  }
  const data = unframeRecord(buf.subarray(0, got), file, span.offset);
  if (data.length + RECORD_OVERHEAD !== span.size) {
    throw new TFRecordError(file, span.offset, `the index says this record takes ${span.size} bytes but its header says ${data.length + RECORD_OVERHEAD}: the index file is stale, delete it to rebuild it`);
  }
  return data;
}

/** Walk the headers of a file (checking each length CRC and that each record fits): its index. */
export function scanRecords(file: string): RecordSpan[] {
  const fd = fs.openSync(file, 'r');
  try {
    const fileSize = fs.fstatSync(fd).size;
    const spans: RecordSpan[] = [];
    const header = Buffer.allocUnsafe(HEADER);
    let offset = 0;
    while (offset < fileSize) {
      const got = readFully(fd, header, offset);
      const length = dataLength(header.subarray(0, got), file, offset, fileSize - offset);
      spans.push({ offset, size: length + RECORD_OVERHEAD });
      offset += length + RECORD_OVERHEAD;
    }
    return spans;
  } finally {
    fs.closeSync(fd);
  }
}

/** Every record's data of a file, in order, each checked (for tests, packing checks and small files). */
export function* readRecords(file: string): Generator<{ data: Uint8Array; offset: number }> {
  const bytes = readRegularFile(file, { what: 'TFRecord file' });
  let offset = 0;
  while (offset < bytes.length) {
    const data = unframeRecord(bytes.subarray(offset), file, offset);
    yield { data, offset };
    offset += data.length + RECORD_OVERHEAD;
  }
}

/** DALI's index text: `offset size` per line. */
export function formatIndex(spans: RecordSpan[]): string {
  return spans.map((s) => `${s.offset} ${s.size}\n`).join('');
}

/** Parse an index file, checking that it describes records that tile `fileSize` bytes. */
export function parseIndex(text: string, indexFile: string, fileSize: number): RecordSpan[] {
  const spans: RecordSpan[] = [];
  const lines = text.split('\n');
  let expected = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const m = /^(\d+)\s+(\d+)$/.exec(line);
    if (!m) throw new UserError(`${indexFile}:${i + 1}: expected "offset size" (two integers), got "${line.slice(0, 60)}"`);
    const offset = Number(m[1]);
    const size = Number(m[2]);
    if (offset !== expected || size < RECORD_OVERHEAD || offset + size > fileSize) {
      throw new UserError(`${indexFile}:${i + 1}: record at ${offset} of ${size} bytes does not fit the shard (${fileSize} bytes, next record expected at ${expected}); the index is stale: delete it to rebuild it`);
    }
    spans.push({ offset, size });
    expected = offset + size;
  }
  if (expected !== fileSize) throw new UserError(`${indexFile}: the index covers ${expected} of the shard's ${fileSize} bytes; it is stale: delete it to rebuild it`);
  return spans;
}

function readFully(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
