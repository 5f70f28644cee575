/**
 * Tensors as read from foreign weight files, before they become TensorFlow.js tensors: a shape,
 * the values widened to what tfjs computes with (float32, int32), and the dtype the file stored.
 */
export type StoredDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface WeightTensor {
  shape: number[];
  values: Float32Array | Int32Array;
  /** The dtype in the file (F16 and BF16 are widened to float32, I64 narrowed to int32). */
  stored: StoredDtype;
}

/** Bytes per element of each stored dtype. */
export const ITEM_SIZE: Record<StoredDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export function isStoredDtype(d: unknown): d is StoredDtype {
  return typeof d === 'string' && Object.hasOwn(ITEM_SIZE, d);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** IEEE half precision to float32. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Decode `count` little-endian elements of `dtype` starting at `bytes[0]` into tfjs values.
 * Always copies, so the result owns aligned memory whatever the offset in the file.
 */
export function decodeValues(bytes: Uint8Array, dtype: StoredDtype, count: number): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(out.buffer);
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      return out;
    }
    case 'I16': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
      return out;
    }
    case 'I8': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL':
      return Int32Array.from(bytes.subarray(0, count));
  }
}
