/**
 * `tf.train.Example`, the protocol buffer inside image TFRecords, encoded and decoded by hand
 * (tensorflow/core/example/example.proto, feature.proto):
 *
 *     Example  { Features features = 1; }
 *     Features { map<string, Feature> feature = 1; }
 *     Feature  { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
 *     BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
 *     Int64List { repeated int64 value = 1 [packed]; }
 *
 * Image datasets use the keys of TensorFlow's ImageNet/slim converters: `image/encoded`,
 * `image/format`, `image/class/label`, and optionally `image/class/text`, `image/height`,
 * `image/width`, `image/channels`, `image/filename`.
 */

export type Feature = { bytes: Uint8Array[] } | { int64: number[] } | { float: number[] };
export type Features = Record<string, Feature>;

/** The standard keys of an image Example. */
export const IMAGE_KEYS = {
  encoded: 'image/encoded',
  format: 'image/format',
  label: 'image/class/label',
  text: 'image/class/text',
  height: 'image/height',
  width: 'image/width',
  channels: 'image/channels',
  filename: 'image/filename',
  /** Segmentation: the class mask as an indexed or grey PNG (the keys of DeepLab's TFRecords). */
  mask: 'image/segmentation/class/encoded',
  maskFormat: 'image/segmentation/class/format',
} as const;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

/** Serialize an Example (keys in the given order, as the Python API does for dicts). */
export function encodeExample(features: Features): Uint8Array {
  const w = new Writer();
  const entries: Uint8Array[] = [];
  for (const [key, feature] of Object.entries(features)) {
    const f = new Writer();
    if ('bytes' in feature) {
      const list = new Writer();
      for (const b of feature.bytes) list.bytesField(1, b);
      f.bytesField(1, list.finish());
    } else if ('float' in feature) {
      const packed = new Writer();
      for (const v of feature.float) packed.float32(v);
      const list = new Writer();
      if (feature.float.length) list.bytesField(1, packed.finish());
      f.bytesField(2, list.finish());
    } else {
      const packed = new Writer();
      for (const v of feature.int64) packed.varint64(v);
      const list = new Writer();
      if (feature.int64.length) list.bytesField(1, packed.finish());
      f.bytesField(3, list.finish());
    }
    const entry = new Writer();
    entry.bytesField(1, utf8(key));
    entry.bytesField(2, f.finish());
    entries.push(entry.finish());
  }
  const feats = new Writer();
  for (const e of entries) feats.bytesField(1, e);
  w.bytesField(1, feats.finish());
  return w.finish();
}

/** Parse an Example; throws an Error saying what is malformed (callers add file and offset). */
export function decodeExample(bytes: Uint8Array): Features {
  const out: Features = {};
  const r = new Reader(bytes);
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) {
      const feats = r.sub();
      while (!feats.done()) {
        const [ff, fw] = feats.tag();
        if (ff === 1 && fw === 2) {
          const [key, feature] = decodeEntry(feats.sub());
          out[key] = feature;
        } else feats.skip(fw);
      }
    } else r.skip(wire);
  }
  return out;
}

function decodeEntry(r: Reader): [string, Feature] {
  let key = '';
  let feature: Feature = { bytes: [] };
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) key = textDecoder.decode(r.bytes());
    else if (field === 2 && wire === 2) feature = decodeFeature(r.sub());
    else r.skip(wire);
  }
  return [key, feature];
}

function decodeFeature(r: Reader): Feature {
  let feature: Feature = { bytes: [] };
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (wire !== 2) {
      r.skip(wire);
      continue;
    }
    const list = r.sub();
    if (field === 1) {
      const values: Uint8Array[] = [];
      while (!list.done()) {
        const [lf, lw] = list.tag();
        if (lf === 1 && lw === 2) values.push(list.bytes());
        else list.skip(lw);
      }
      feature = { bytes: values };
    } else if (field === 2) {
      const values: number[] = [];
      while (!list.done()) {
        const [lf, lw] = list.tag();
        if (lf === 1 && lw === 2) {
          const packed = list.sub();
          while (!packed.done()) values.push(packed.float32());
        } else if (lf === 1 && lw === 5) values.push(list.float32());
        else list.skip(lw);
      }
      feature = { float: values };
    } else if (field === 3) {
      const values: number[] = [];
      while (!list.done()) {
        const [lf, lw] = list.tag();
        if (lf === 1 && lw === 2) {
          const packed = list.sub();
          while (!packed.done()) values.push(packed.varint64());
        } else if (lf === 1 && lw === 0) values.push(list.varint64());
        else list.skip(lw);
      }
      feature = { int64: values };
    }
  }
  return feature;
}

/** The first bytes value of a feature, if it is a bytes list. */
export function bytesOf(f: Features, key: string): Uint8Array | undefined {
  const v = f[key];
  return v && 'bytes' in v ? v.bytes[0] : undefined;
}

export function stringOf(f: Features, key: string): string | undefined {
  const b = bytesOf(f, key);
  return b ? textDecoder.decode(b) : undefined;
}

export function int64Of(f: Features, key: string): number | undefined {
  const v = f[key];
  return v && 'int64' in v ? v.int64[0] : undefined;
}

class Writer {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(64);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = new Uint8Array(Math.max(64, n));
    this.pos = 0;
  }

  varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  varint64(v: number): void {
    if (v >= 0 && Number.isSafeInteger(v)) return this.varint(v);
    // Negative int64: ten bytes of two's complement, as protobuf writes them.
    let b = BigInt.asUintN(64, BigInt(Math.trunc(v)));
    this.ensure(10);
    while (b > 0x7fn) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  float32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, v, true);
    this.pos += 4;
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  private raw(bytes: Uint8Array): void {
    if (bytes.length > 256) {
      this.chunks.push(this.buf.subarray(0, this.pos), bytes);
      this.buf = new Uint8Array(64);
      this.pos = 0;
      return;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  finish(): Uint8Array {
    const parts = [...this.chunks, this.buf.subarray(0, this.pos)];
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

class Reader {
  private pos: number;

  constructor(private readonly buf: Uint8Array, start = 0, private readonly end = buf.length) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error(`malformed protobuf: varint runs past the end at byte ${this.pos}`);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if (!(b & 0x80)) return result;
      scale *= 128;
    }
    throw new Error(`malformed protobuf: varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** An int64 varint as a number (negative values come back negative). */
  varint64(): number {
    const start = this.pos;
    const v = this.varint();
    if (v < 2 ** 63) return v;
    // Re-read exactly: large magnitudes are negative int64s in two's complement.
    let b = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      b |= BigInt(this.buf[p] & 0x7f) << shift;
      shift += 7n;
    }
    return Number(BigInt.asIntN(64, b));
  }

  float32(): number {
    if (this.pos + 4 > this.end) throw new Error(`malformed protobuf: float runs past the end at byte ${this.pos}`);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error(`malformed protobuf: a ${n}-byte field runs past the end at byte ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  sub(): Reader {
    const b = this.bytes();
    return new Reader(b);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`malformed protobuf: unsupported wire type ${wire} at byte ${this.pos}`);
    if (this.pos > this.end) throw new Error('malformed protobuf: a field runs past the end');
  }
}
