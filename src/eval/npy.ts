/**
 * NumPy's .npy format (version 1.0), for features that Python tools read with `numpy.load`:
 * the magic string, a little-endian header length, a Python-literal header padded with spaces
 * so the data starts on a 64-byte boundary, then the raw little-endian values in C order.
 */
import { writeAtomic } from '../rundir/atomic';
import { readRegularFile } from '../core/boundedRead';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]);
const DESCR = { float32: '<f4', int32: '<i4' } as const;

export interface NpyArray {
  data: Float32Array | Int32Array;
  shape: number[];
}

/** The bytes of an .npy file holding `data` with `shape`. */
export function encodeNpy(data: Float32Array | Int32Array, shape: number[]): Buffer {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`npy: shape [${shape}] holds ${n} values, data has ${data.length}`);
  const descr = data instanceof Float32Array ? DESCR.float32 : DESCR.int32;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = MAGIC.length + 2 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length);
  return Buffer.concat([MAGIC, len, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export function writeNpy(file: string, data: Float32Array | Int32Array, shape: number[]): void {
  writeAtomic(file, [encodeNpy(data, shape)]);
}

/** Read an .npy file of little-endian float32 or int32 in C order (what writeNpy writes). */
export function readNpy(file: string): NpyArray {
  const buf = readRegularFile(file, { what: '.npy file' });
  if (!buf.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw new Error(`${file}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran-ordered arrays are not supported`);
  const body = buf.subarray(start + headerLen);
  const copy = new Uint8Array(body.length);
  copy.set(body);
  if (descr === DESCR.float32) return { data: new Float32Array(copy.buffer), shape };
  if (descr === DESCR.int32) return { data: new Int32Array(copy.buffer), shape };
  throw new Error(`${file}: dtype ${descr} is not supported (float32 and int32 are)`);
}
