/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}`, then the
 * raw little-endian tensor bytes, offsets relative to the end of the header. Reading it runs no
 * code, which is why it is the toolkit's checkpoint format and the preferred way in and out of
 * PyTorch. This is the one parser of the format in the toolkit: checkpoints, `cvw weights` and
 * pretrained backbones all read through it.
 *
 * Validation follows the reference implementation and says where: a header length that points
 * past the file, a shape whose byte count differs from its offsets, offsets out of order,
 * overlapping or leaving a gap, and metadata that is not a map of strings are errors naming the
 * file and the tensor.
 */
import * as fs from 'node:fs';
import { UserError } from '../core/problems';
import { ITEM_SIZE, decodeValues, isStoredDtype, numel, type StoredDtype, type WeightTensor } from './tensor';
import { openRegularFile, readRegularFile } from '../core/boundedRead';

/** Headers above this are refused before they are read (the reference reader's limit). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  dtype: StoredDtype;
  shape: number[];
  /** Byte range in the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** File offset of the data section. */
  dataStart: number;
}

/** Header length from the first 8 bytes, checked against the file size. */
function headerLength(file: string, first8: Buffer, fileSize: number): number {
  if (fileSize < 8) throw new UserError(`${file}: not a safetensors file (${fileSize} bytes, too short for its 8-byte header length)`);
  const n = first8.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) throw new UserError(`${file}: not a safetensors file (its first 8 bytes give a header of ${n} bytes; expected 2 to ${MAX_HEADER_BYTES})`);
  if (8n + n > BigInt(fileSize)) throw new UserError(`${file}: not a safetensors file or truncated (its header length says ${n} bytes but the file has ${fileSize - 8} after the length)`);
  return Number(n);
}

/** A name as errors show it: long names (a hostile header) cut to a readable length. */
function shown(key: string): string {
  return key.length > 120 ? `${key.slice(0, 100)}... (${key.length} characters)` : key;
}

function isIntArray(v: unknown, length?: number): v is number[] {
  return Array.isArray(v) && (length === undefined || v.length === length) && v.every((x) => Number.isSafeInteger(x) && x >= 0);
}

/** Validate a parsed header against the data size; every error names the file and the key. */
export function parseHeader(file: string, json: string, dataStart: number, fileSize: number): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new UserError(`${file}: the safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${file}: the safetensors header is not a JSON object`);
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const dataSize = fileSize - dataStart;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const where = `${file}: tensor "${shown(key)}"`;
    if (key === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${file}: __metadata__ must be an object of strings`);
      for (const [mk, mv] of Object.entries(value)) if (typeof mv !== 'string') throw new UserError(`${file}: __metadata__.${shown(mk)} must be a string, got ${String(JSON.stringify(mv)).slice(0, 40)}`);
      metadata = value as Record<string, string>;
      continue;
    }
    if (value === null || typeof value !== 'object') throw new UserError(`${where}: expected {dtype, shape, data_offsets}`);
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isStoredDtype(e.dtype)) throw new UserError(`${where}: unknown dtype ${JSON.stringify(e.dtype)}; expected one of ${Object.keys(ITEM_SIZE).join(', ')}`);
    if (!isIntArray(e.shape)) throw new UserError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)?.slice(0, 60)}`);
    if (e.data_offsets === undefined) throw new UserError(`${where}: missing data_offsets`);
    if (!isIntArray(e.data_offsets, 2)) throw new UserError(`${where}: data_offsets must be [begin, end] (non-negative integers), got ${JSON.stringify(e.data_offsets).slice(0, 60)}`);
    const [begin, end] = e.data_offsets;
    if (end < begin) throw new UserError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataSize) throw new UserError(`${file}: truncated — tensor "${shown(key)}" ends at byte ${dataStart + end} of ${fileSize}`);
    const expected = numel(e.shape) * ITEM_SIZE[e.dtype];
    if (end - begin !== expected) {
      throw new UserError(`${where}: shape [${e.shape}] of ${e.dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.set(key, { dtype: e.dtype, shape: e.shape, begin, end });
  }
  // The reference layout: tensors back to back from byte 0 to the end of the file.
  let at = 0;
  let previous = '';
  for (const [key, e] of [...entries].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end)) {
    if (e.begin < at) throw new UserError(`${file}: tensor "${shown(key)}": data_offsets [${e.begin}, ${e.end}] overlap tensor "${shown(previous)}" (which ends at ${at})`);
    if (e.begin > at) throw new UserError(`${file}: tensor "${shown(key)}": data_offsets [${e.begin}, ${e.end}] leave a gap after byte ${at}${previous ? ` (the end of "${shown(previous)}")` : ''}`);
    at = e.end;
    previous = key;
  }
  if (at !== dataSize) throw new UserError(`${file}: ${dataSize - at} bytes after the last tensor are not described by the header (the file is longer than its tensors)`);
  return { entries, metadata, dataStart };
}

/** Read and validate only the header (the metadata of a large file without its tensors). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const { fd, stats } = openRegularFile(file, 'safetensors file');
  try {
    const size = stats.size;
    const first = Buffer.alloc(8);
    fs.readSync(fd, first, 0, 8, 0);
    const n = headerLength(file, first, size);
    const header = Buffer.alloc(n);
    fs.readSync(fd, header, 0, n, 8);
    return parseHeader(file, header.toString('utf8'), 8 + n, size);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a buffer starts like a safetensors file: a plausible length followed by `{`. */
export function looksLikeSafetensors(head: Buffer): boolean {
  return head.length >= 9 && head.readBigUInt64LE(0) < BigInt(MAX_HEADER_BYTES) && head[8] === 0x7b;
}

export interface SafetensorsFile {
  tensors: Map<string, WeightTensor>;
  metadata: Record<string, string>;
}

/** Read every tensor (F16/BF16 widened to float32) and the metadata of `buf`, read from `file`. */
export function decodeSafetensors(file: string, buf: Buffer): SafetensorsFile {
  const n = headerLength(file, buf, buf.length);
  const header = parseHeader(file, buf.toString('utf8', 8, 8 + n), 8 + n, buf.length);
  const tensors = new Map<string, WeightTensor>();
  for (const [key, e] of header.entries) {
    const bytes = buf.subarray(header.dataStart + e.begin, header.dataStart + e.end);
    tensors.set(key, { shape: e.shape, stored: e.dtype, values: decodeValues(bytes, e.dtype, numel(e.shape)) });
  }
  return { tensors, metadata: header.metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  return decodeSafetensors(file, readRegularFile(file, { what: 'safetensors file' }));
}

export interface TensorBytes {
  dtype: StoredDtype;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * The parts of a safetensors file (length, header, tensor bytes) for `writeAtomic`: tensors sorted
 * by name, the header padded with spaces so the data starts 8-byte aligned, as the reference
 * writer does.
 */
export function encodeSafetensors(tensors: Iterable<[string, TensorBytes]>, metadata: Record<string, string>): Buffer[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const expected = numel(t.shape) * ITEM_SIZE[t.dtype];
    if (t.bytes.length !== expected) throw new Error(`safetensors: tensor "${name}" has ${t.bytes.length} bytes for shape [${t.shape}] of ${t.dtype} (expected ${expected})`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    chunks.push(Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength));
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  return [len, headerBytes, ...chunks];
}
