/**
 * Checkpoints in the safetensors format (Hugging Face): an 8-byte little-endian header length, a
 * JSON header `{name: {dtype, shape, data_offsets}, __metadata__: {...}}`, then the raw tensor
 * bytes. Simple, safe to read (no code), and readable from Python (`safetensors.numpy.load_file`).
 *
 * Files are written atomically: a temporary file in the same folder, fsync, rename. A reader never
 * sees half a checkpoint, and a crash mid-write leaves the previous one intact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';

export interface CheckpointData {
  tensors: Map<string, tf.Tensor>;
  /** Free-form JSON-serialisable state: epoch, iteration, random state, hook state, ... */
  meta: Record<string, unknown>;
}

const DTYPES: Record<string, 'F32' | 'I32'> = { float32: 'F32', int32: 'I32', bool: 'I32' };

/** Write `data` to `file` atomically (temp + fsync + rename). Tensors are read synchronously. */
export function saveCheckpoint(file: string, tensors: Map<string, tf.Tensor>, meta: Record<string, unknown>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'cvw', cvw: JSON.stringify(meta) } };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of [...tensors].sort(([a], [b]) => a.localeCompare(b))) {
    const dtype = DTYPES[t.dtype];
    if (!dtype) throw new Error(`checkpoint: tensor "${name}" has dtype ${t.dtype}, which checkpoints do not store`);
    const values = t.dtype === 'float32' ? (t.dataSync() as Float32Array) : Int32Array.from(t.dataSync() as Int32Array);
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(Buffer.from(bytes));
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  writeAtomic(file, [len, headerBytes, ...chunks]);
}

/** Write buffers to `file` through a temporary file and a rename. */
export function writeAtomic(file: string, parts: Array<Buffer | string>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const p of parts) fs.writeSync(fd, typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Read a checkpoint; a truncated or foreign file gets an error naming it and what is wrong. */
export function loadCheckpoint(file: string): CheckpointData {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    throw new UserError(`checkpoint not found: ${file}`);
  }
  if (buf.length < 8) throw new UserError(`${file}: not a checkpoint (${buf.length} bytes, too short for a safetensors header)`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length) throw new UserError(`${file}: not a safetensors checkpoint or truncated (header of ${headerLen} bytes in a ${buf.length}-byte file)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch {
    throw new UserError(`${file}: the safetensors header is not valid JSON`);
  }
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, tf.Tensor>();
  let meta: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      const m = entry as Record<string, string>;
      if (m.cvw) meta = JSON.parse(m.cvw);
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [a, b] = e.data_offsets;
    if (dataStart + b > buf.length) throw new UserError(`${file}: truncated — tensor "${name}" ends at byte ${dataStart + b} of ${buf.length}`);
    const bytes = buf.subarray(dataStart + a, dataStart + b);
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    if (e.dtype === 'F32') tensors.set(name, tf.tensor(new Float32Array(copy.buffer), e.shape, 'float32'));
    else if (e.dtype === 'I32') tensors.set(name, tf.tensor(new Int32Array(copy.buffer), e.shape, 'int32'));
    else throw new UserError(`${file}: tensor "${name}" has dtype ${e.dtype}; only F32 and I32 are read`);
  }
  return { tensors, meta };
}

/** Dispose every tensor of a loaded checkpoint. */
export function disposeCheckpoint(data: CheckpointData): void {
  for (const t of data.tensors.values()) t.dispose();
}

/** Tensors under `prefix.` with the prefix removed (e.g. `model.` for the weights). */
export function withPrefix(tensors: Map<string, tf.Tensor>, prefix: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [k, v] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}
