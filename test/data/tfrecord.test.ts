import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32c, maskCrc, maskedCrc32c } from '../../src/data/tfrecord/crc32c';
import { decodeExample, encodeExample, IMAGE_KEYS, int64Of, stringOf, utf8 } from '../../src/data/tfrecord/example';
import { frameRecord, parseIndex, readRecords, readRecordSync, scanRecords, TFRecordError } from '../../src/data/tfrecord/records';
import { TFRecordWriter } from '../../src/data/tfrecord/writer';
import { tempFiles } from '../helpers/tmp';
import { pythonHas, runPython } from './python';

const t = tempFiles({});
afterAll(() => t.cleanup());

describe('CRC-32C', () => {
  it('matches the published check value and TensorFlow\'s test vectors', () => {
    expect(crc32c(utf8('123456789'))).toBe(0xe3069283);
    // tensorflow/core/lib/hash/crc32c_test.cc (from RFC 3720, iSCSI)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('gives the same value 8 bytes at a time as byte by byte, at any alignment and in pieces', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff);
    const slow = (b: Uint8Array) => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    for (const [from, to] of [[0, 1000], [3, 997], [1, 2], [5, 13]]) expect(crc32c(data, from, to)).toBe(slow(data.subarray(from, to)));
    expect(crc32c(data, 500, 1000, crc32c(data, 0, 500))).toBe(crc32c(data));
  });

  it('masks as TensorFlow does', () => {
    // crc32c::Mask: rotate right 15, add 0xa282ead8
    expect(maskCrc(0)).toBe(0xa282ead8);
    // 0x12345678 rotated right by 15 is 0xacf02468; plus 0xa282ead8, modulo 2^32
    expect(maskCrc(0x12345678)).toBe(0x4f730f40);
  });
});

describe('record framing', () => {
  it('frames length, masked CRC of the length, data, masked CRC of the data', () => {
    const data = utf8('hello');
    const rec = frameRecord(data);
    expect(rec.length).toBe(5 + 16);
    expect(Number(rec.readBigUInt64LE(0))).toBe(5);
    expect(rec.readUInt32LE(8)).toBe(maskedCrc32c(rec, 0, 8));
    expect(Buffer.from(rec.subarray(12, 17)).toString()).toBe('hello');
    expect(rec.readUInt32LE(17)).toBe(maskedCrc32c(data));
  });
});

describe('tf.train.Example', () => {
  it('round-trips bytes, int64 (negative too) and float lists', () => {
    const bytes = encodeExample({
      [IMAGE_KEYS.encoded]: { bytes: [Uint8Array.from([1, 2, 3, 0, 255])] },
      [IMAGE_KEYS.format]: { bytes: [utf8('png')] },
      [IMAGE_KEYS.label]: { int64: [7] },
      'x/ints': { int64: [0, -1, 2 ** 40, -(2 ** 33)] },
      'x/floats': { float: [0.5, -2.25] },
      'x/empty': { int64: [] },
    });
    const f = decodeExample(bytes);
    expect(Array.from((f[IMAGE_KEYS.encoded] as { bytes: Uint8Array[] }).bytes[0])).toEqual([1, 2, 3, 0, 255]);
    expect(stringOf(f, IMAGE_KEYS.format)).toBe('png');
    expect(int64Of(f, IMAGE_KEYS.label)).toBe(7);
    expect(f['x/ints']).toEqual({ int64: [0, -1, 2 ** 40, -(2 ** 33)] });
    expect(f['x/floats']).toEqual({ float: [0.5, -2.25] });
    expect(f['x/empty']).toEqual({ int64: [] });
  });

  it('reports malformed protos', () => {
    expect(() => decodeExample(Uint8Array.from([0x0a, 0x05, 0x0a]))).toThrow(/malformed protobuf/);
  });
});

function writeShard(file: string, examples: Uint8Array[]): void {
  const w = new TFRecordWriter(file);
  for (const e of examples) w.write(e);
  w.close();
}

const examples = [0, 1, 2, 3].map((i) =>
  encodeExample({
    [IMAGE_KEYS.encoded]: { bytes: [Uint8Array.from({ length: 50 + 30 * i }, (_, k) => (k * 7 + i) & 0xff)] },
    [IMAGE_KEYS.format]: { bytes: [utf8('jpeg')] },
    [IMAGE_KEYS.label]: { int64: [i] },
  }),
);

describe('shards, index files and damage', () => {
  it('writes a shard and a DALI index (offset size per line) atomically', () => {
    const file = t.file('a.tfrecord');
    writeShard(file, examples);
    const spans = scanRecords(file);
    expect(spans.map((s) => s.size)).toEqual(examples.map((e) => e.length + 16));
    expect(fs.readFileSync(file + '.idx', 'utf8')).toBe(spans.map((s) => `${s.offset} ${s.size}\n`).join(''));
    expect(parseIndex(fs.readFileSync(file + '.idx', 'utf8'), file + '.idx', fs.statSync(file).size)).toEqual(spans);
    expect(fs.readdirSync(t.dir).filter((n) => n.includes('.tmp'))).toEqual([]);
    const fd = fs.openSync(file, 'r');
    expect(decodeExample(readRecordSync(fd, file, spans[2]))[IMAGE_KEYS.label]).toEqual({ int64: [2] });
    fs.closeSync(fd);
  });

  it('reports a changed data byte with the file and the record\'s offset', () => {
    const file = t.file('flip.tfrecord');
    writeShard(file, examples);
    const spans = scanRecords(file);
    const bytes = fs.readFileSync(file);
    bytes[spans[2].offset + 12 + 10] ^= 0x40;
    fs.writeFileSync(file, bytes);
    const fd = fs.openSync(file, 'r');
    try {
      expect(() => readRecordSync(fd, file, spans[2])).toThrow(`${file}@${spans[2].offset}: corrupt record: the CRC of its ${examples[2].length} data bytes does not match`);
      expect(() => readRecordSync(fd, file, spans[1])).not.toThrow();
    } finally {
      fs.closeSync(fd);
    }
    expect(() => [...readRecords(file)]).toThrow(TFRecordError);
  });

  it('reports a damaged length field and a truncated file with their offsets', () => {
    const file = t.file('len.tfrecord');
    writeShard(file, examples);
    const spans = scanRecords(file);
    const bytes = fs.readFileSync(file);
    const damaged = Buffer.from(bytes);
    damaged[spans[1].offset + 2] ^= 1;
    fs.writeFileSync(file, damaged);
    expect(() => scanRecords(file)).toThrow(`${file}@${spans[1].offset}: corrupt record: the CRC of the length field does not match`);
    const cut = t.file('cut.tfrecord');
    fs.writeFileSync(cut, bytes.subarray(0, spans[3].offset + 30));
    expect(() => scanRecords(cut)).toThrow(`${cut}@${spans[3].offset}: truncated record: its header announces ${examples[3].length} bytes of data, but the file ends 18 bytes after the header`);
    fs.writeFileSync(cut, bytes.subarray(0, spans[3].offset + 5));
    expect(() => scanRecords(cut)).toThrow(`${cut}@${spans[3].offset}: truncated record: 5 bytes left where a 12-byte header was expected`);
  });

  it('rejects a stale index', () => {
    const file = t.file('stale.tfrecord');
    writeShard(file, examples);
    const size = fs.statSync(file).size;
    expect(() => parseIndex('0 10\n', 'x.idx', size)).toThrow(/x\.idx:1: record at 0 of 10 bytes does not fit/);
    expect(() => parseIndex(fs.readFileSync(file + '.idx', 'utf8').split('\n').slice(0, 2).join('\n'), 'x.idx', size)).toThrow(/covers .* of the shard's .* bytes; it is stale/);
  });
});

// A TFRecord reader and writer written from the format's description alone, in Python with no
// TensorFlow: what we write it reads, what it writes we read.
const PY_TFRECORD = `
import json, struct, sys, base64
T = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
def mask(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
def varint(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1
        r |= (x & 0x7F) << s; s += 7
        if not x & 0x80: return r, i
def fields(b):
    i = 0
    while i < len(b):
        tag, i = varint(b, i)
        f, w = tag >> 3, tag & 7
        if w == 2:
            n, i = varint(b, i); yield f, w, b[i:i+n]; i += n
        elif w == 0:
            v, i = varint(b, i); yield f, w, v
        elif w == 5:
            yield f, w, b[i:i+4]; i += 4
        else:
            raise ValueError('wire type %d' % w)
def parse_example(b):
    out = {}
    for f, w, feats in fields(b):
        for f2, w2, entry in fields(feats):
            key = None; feat = None
            for f3, w3, v in fields(entry):
                if f3 == 1: key = v.decode()
                if f3 == 2: feat = v
            for kind, w4, lst in fields(feat):
                vals = []
                for f5, w5, v in fields(lst):
                    if kind == 1: vals.append(base64.b64encode(v).decode())
                    elif kind == 3 and w5 == 2:
                        j = 0
                        while j < len(v):
                            x, j = varint(v, j)
                            vals.append(x - (1 << 64) if x >= (1 << 63) else x)
                    elif kind == 3: vals.append(v - (1 << 64) if v >= (1 << 63) else v)
                    elif kind == 2 and w5 == 2: vals += list(struct.unpack('<%df' % (len(v) // 4), v))
                    elif kind == 2: vals.append(struct.unpack('<f', v)[0])
                out[key] = {1: 'bytes', 2: 'float', 3: 'int64'}[kind], vals
    return out
def read(path):
    recs = []
    with open(path, 'rb') as fh:
        data = fh.read()
    i = 0
    while i < len(data):
        (n,) = struct.unpack('<Q', data[i:i+8])
        assert struct.unpack('<I', data[i+8:i+12])[0] == mask(crc(data[i:i+8])), 'length crc at %d' % i
        body = data[i+12:i+12+n]
        assert struct.unpack('<I', data[i+12+n:i+16+n])[0] == mask(crc(body)), 'data crc at %d' % i
        recs.append(parse_example(body)); i += 16 + n
    return recs
def enc_varint(v):
    v &= (1 << 64) - 1
    out = b''
    while v > 0x7F:
        out += bytes([(v & 0x7F) | 0x80]); v >>= 7
    return out + bytes([v])
def ld(field, b):
    return enc_varint(field << 3 | 2) + enc_varint(len(b)) + b
def feature(kind, vals):
    if kind == 'bytes': lst = b''.join(ld(1, v) for v in vals); return ld(1, lst)
    if kind == 'int64': lst = b''.join(enc_varint(1 << 3) + enc_varint(v) for v in vals); return ld(3, lst)  # unpacked on purpose
    lst = ld(1, b''.join(struct.pack('<f', v) for v in vals)); return ld(2, lst)
def write(path, examples):
    with open(path, 'wb') as fh:
        for ex in examples:
            feats = b''.join(ld(1, ld(1, k.encode()) + ld(2, feature(kind, vals))) for k, (kind, vals) in ex.items())
            body = ld(1, feats)
            head = struct.pack('<Q', len(body))
            fh.write(head + struct.pack('<I', mask(crc(head))) + body + struct.pack('<I', mask(crc(body))))
cmd = sys.argv[1]
if cmd == 'read':
    print(json.dumps(read(sys.argv[2])))
else:
    spec = json.loads(sys.stdin.read())
    write(sys.argv[2], [{k: (kind, [base64.b64decode(v) for v in vals] if kind == 'bytes' else vals) for k, (kind, vals) in ex.items()} for ex in spec])
`;

describe.skipIf(!pythonHas('json'))('interoperability with an independent reader and writer (Python)', () => {
  it('Python reads our shard: both CRCs and every feature', () => {
    const file = t.file('ours.tfrecord');
    writeShard(file, [
      encodeExample({ [IMAGE_KEYS.encoded]: { bytes: [Uint8Array.from([255, 216, 255, 0, 1])] }, [IMAGE_KEYS.format]: { bytes: [utf8('jpeg')] }, [IMAGE_KEYS.label]: { int64: [3] } }),
      encodeExample({ 'a/ints': { int64: [-5, 2 ** 35] }, 'a/floats': { float: [1.5, -0.25] } }),
    ]);
    const recs = JSON.parse(runPython(PY_TFRECORD, ['read', file]));
    expect(recs[0]['image/encoded']).toEqual(['bytes', [Buffer.from([255, 216, 255, 0, 1]).toString('base64')]]);
    expect(recs[0]['image/format']).toEqual(['bytes', [Buffer.from('jpeg').toString('base64')]]);
    expect(recs[0]['image/class/label']).toEqual(['int64', [3]]);
    expect(recs[1]['a/ints']).toEqual(['int64', [-5, 2 ** 35]]);
    expect(recs[1]['a/floats']).toEqual(['float', [1.5, -0.25]]);
  });

  it('we read Python\'s shard (unpacked int64 lists too) and index it', () => {
    const file = t.file('theirs.tfrecord');
    const spec = [
      { 'image/encoded': ['bytes', [Buffer.from('not really a png').toString('base64')]], 'image/format': ['bytes', [Buffer.from('png').toString('base64')]], 'image/class/label': ['int64', [9]] },
      { 'image/class/label': ['int64', [-2, 7]], 'x/f': ['float', [0.125]] },
    ];
    runPython(PY_TFRECORD, ['write', file], JSON.stringify(spec));
    const recs = [...readRecords(file)].map((r) => decodeExample(r.data));
    expect(Buffer.from((recs[0]['image/encoded'] as { bytes: Uint8Array[] }).bytes[0]).toString()).toBe('not really a png');
    expect(stringOf(recs[0], 'image/format')).toBe('png');
    expect(int64Of(recs[0], 'image/class/label')).toBe(9);
    expect(recs[1]['image/class/label']).toEqual({ int64: [-2, 7] });
    expect(recs[1]['x/f']).toEqual({ float: [0.125] });
    expect(scanRecords(file).length).toBe(2);
    expect(path.basename(file)).toBe('theirs.tfrecord');
  });
});
