/**
 * Reading what onnxruntime's JavaScript API does not expose: the model's `metadata_props`
 * (ModelProto field 14, where exports keep their class names and pre-processing). A small
 * protobuf walk over the top-level fields; a file that does not parse as a ModelProto is
 * reported as "not an ONNX model" before onnxruntime says something more cryptic.
 */
import { UserError } from '../../core/problems';

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else if (wire === 2) {
      const n = this.varint();
      this.pos += n;
    }
    else throw new Error(`unknown wire type ${wire}`);
    if (this.pos > this.buf.length) throw new Error('field runs past the end');
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error('field runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

const utf8 = new TextDecoder();

export interface OnnxModelInfo {
  irVersion?: number;
  producer?: string;
  metadata: Record<string, string>;
  hasGraph: boolean;
}

/** The top-level facts of an ONNX model file's bytes; throws a UserError naming `file` when it is not one. */
export function readOnnxModelInfo(bytes: Uint8Array, file: string): OnnxModelInfo {
  const info: OnnxModelInfo = { metadata: {}, hasGraph: false };
  const r = new Reader(bytes);
  try {
    if (bytes.length === 0) throw new Error('empty file');
    while (r.pos < bytes.length) {
      const tag = r.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === 0) throw new Error('field number 0');
      if (field === 1 && wire === 0) info.irVersion = r.varint();
      else if (field === 2 && wire === 2) info.producer = utf8.decode(r.bytes());
      else if (field === 7 && wire === 2) {
        r.bytes();
        info.hasGraph = true;
      } else if (field === 14 && wire === 2) {
        const entry = new Reader(r.bytes());
        let key = '';
        let value = '';
        while (entry.pos < entry.buf.length) {
          const t = entry.varint();
          if (t === (1 << 3) + 2) key = utf8.decode(entry.bytes());
          else if (t === (2 << 3) + 2) value = utf8.decode(entry.bytes());
          else entry.skip(t & 7);
        }
        info.metadata[key] = value;
      } else r.skip(wire);
    }
  } catch (err) {
    throw new UserError(`${file}: not an ONNX model (${(err as Error).message} at byte ${r.pos})`);
  }
  if (!info.hasGraph || !info.irVersion) throw new UserError(`${file}: not an ONNX model (no graph${info.irVersion ? '' : ' or IR version'})`);
  return info;
}
