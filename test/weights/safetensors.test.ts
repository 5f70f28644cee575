/** The one safetensors reader: dtypes, metadata, and a located error for every malformed file (issue 23, point 4). */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { tempFiles } from '../helpers/tmp';
import { cvw } from '../helpers/cvw';
import { readSafetensors, readSafetensorsHeader, encodeSafetensors } from '../../src/weights/safetensors';
import { readWeights } from '../../src/weights/read';
import { unpickle } from '../../src/weights/pickle';
import { loadCheckpoint, readCheckpointMeta } from '../../src/train/checkpoint';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** A safetensors file from a header object and raw data bytes. */
function file(name: string, header: unknown, data: Buffer | number[] = [], headerText?: string): string {
  const json = Buffer.from(headerText ?? JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const p = t.file(name);
  fs.writeFileSync(p, Buffer.concat([len, json, Buffer.from(data as number[])]));
  return p;
}

/** A file whose 8-byte length says more than the file holds. */
function lyingLength(name: string): string {
  const p = t.file(name);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(5000n);
  fs.writeFileSync(p, Buffer.concat([len, Buffer.from('{"w":{}}')]));
  return p;
}

describe('safetensors reading', () => {
  it('decodes F16 and BF16 exactly (normals, subnormals, infinities) and keeps the metadata', () => {
    // F16: 1, -2.5, 65504 (largest), 2^-24 (smallest subnormal), -inf. BF16: 3.140625, -0.5.
    const f16 = Buffer.alloc(10);
    [0x3c00, 0xc100, 0x7bff, 0x0001, 0xfc00].forEach((h, i) => f16.writeUInt16LE(h, 2 * i));
    const bf16 = Buffer.alloc(4);
    [0x4049, 0xbf00].forEach((h, i) => bf16.writeUInt16LE(h, 2 * i));
    const p = file('dtypes.safetensors', { __metadata__: { format: 'pt', note: 'x' }, h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] }, b: { dtype: 'BF16', shape: [2], data_offsets: [10, 14] } }, Buffer.concat([f16, bf16]));
    const r = readSafetensors(p);
    expect(Array.from(r.tensors.get('h')!.values)).toEqual([1, -2.5, 65504, 2 ** -24, -Infinity]);
    expect(Array.from(r.tensors.get('b')!.values)).toEqual([3.140625, -0.5]);
    expect(r.tensors.get('b')!.stored).toBe('BF16');
    expect(r.metadata).toEqual({ format: 'pt', note: 'x' });
  });

  it('round-trips what encodeSafetensors writes, I64 included', () => {
    const parts = encodeSafetensors(
      [
        ['w', { dtype: 'F32', shape: [2], bytes: new Uint8Array(new Float32Array([1.5, -2]).buffer) }],
        ['n', { dtype: 'I64', shape: [], bytes: new Uint8Array(new BigInt64Array([7n]).buffer) }],
      ],
      { a: 'b' },
    );
    const p = t.file('rt.safetensors');
    fs.writeFileSync(p, Buffer.concat(parts));
    expect(Array.from(readSafetensors(p).tensors.get('w')!.values)).toEqual([1.5, -2]);
    expect(Array.from(readSafetensors(p).tensors.get('n')!.values)).toEqual([7]);
    expect(readSafetensorsHeader(p).metadata).toEqual({ a: 'b' });
  });

  const w = (offsets: unknown, shape: unknown = [2], dtype = 'F32') => ({ dtype, shape, data_offsets: offsets });
  const cases: Array<[string, () => string, RegExp]> = [
    ['a header length that lies', () => lyingLength('lies.safetensors'), /lies\.safetensors: not a safetensors file or truncated \(its header length says 5000 bytes but the file has 8 after the length\)/],
    ['a shape that does not match its bytes', () => file('shape.safetensors', { w: w([0, 12], [2, 2]) }, new Array(12).fill(0)), /tensor "w": shape \[2,2\] of F32 needs 16 bytes but data_offsets \[0, 12\] hold 12/],
    ['an odd byte count', () => file('odd.safetensors', { w: w([0, 3], [2], 'F16') }, [0, 0, 0]), /tensor "w": shape \[2\] of F16 needs 4 bytes but data_offsets \[0, 3\] hold 3/],
    ['metadata that is not a map of strings', () => file('meta.safetensors', { __metadata__: { epoch: 3 } }), /__metadata__\.epoch must be a string, got 3/],
    ['a header that is not JSON', () => file('json.safetensors', {}, [], '{"w": [1, 2'), /the safetensors header is not valid JSON/],
    ['a missing data_offsets', () => file('nooff.safetensors', { w: { dtype: 'F32', shape: [1] } }, [0, 0, 0, 0]), /tensor "w": missing data_offsets/],
    ['overlapping offsets', () => file('overlap.safetensors', { a: w([0, 8]), b: w([4, 12]) }, new Array(12).fill(0)), /tensor "b": data_offsets \[4, 12\] overlap tensor "a" \(which ends at 8\)/],
    ['offsets past the end of the file', () => file('range.safetensors', { w: w([0, 8]) }, [0, 0, 0, 0]), /truncated — tensor "w" ends at byte \d+ of \d+/],
    ['offsets that end before they begin', () => file('back.safetensors', { w: w([8, 0]) }, new Array(8).fill(0)), /tensor "w": data_offsets \[8, 0\] end before they begin/],
    ['an unknown dtype', () => file('dtype.safetensors', { w: w([0, 8], [2], 'F8') }, new Array(8).fill(0)), /tensor "w": unknown dtype "F8"/],
    ['bytes no tensor describes', () => file('extra.safetensors', { w: w([0, 8]) }, new Array(12).fill(0)), /4 bytes after the last tensor are not described/],
  ];
  for (const [what, make, message] of cases) {
    it(`names the file and the tensor for ${what}`, () => {
      const p = make();
      expect(() => readSafetensors(p)).toThrow(message);
      expect(() => readSafetensors(p)).toThrow(p);
      // The header-only reader (metadata of checkpoints) applies the same checks.
      expect(() => readSafetensorsHeader(p)).toThrow(message);
    });
  }

  it('reads a safetensors file whose header length starts with 0x80 (a pickle\'s first byte) as safetensors', () => {
    const json = JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const p = file('x80.safetensors', {}, [0, 0, 0x80, 0x3f], json.padEnd(0x80));
    expect(fs.readFileSync(p)[0]).toBe(0x80);
    expect(Array.from(readWeights(p).tensors.get('w')!.values)).toEqual([1]);
  });

  it('cuts a huge tensor name in errors instead of echoing it whole', () => {
    const key = 'k'.repeat(5_000_000);
    const p = file('longname.safetensors', { [key]: w([0, 12], [2, 2]) }, new Array(12).fill(0));
    let message = '';
    try {
      readSafetensors(p);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/tensor "k{100}\.\.\. \(5000000 characters\)": shape \[2,2\] of F32 needs 16 bytes/);
    expect(message.length).toBeLessThan(500);
  });

  it('cvw weights inspect --all lists a header of 200,000 tensors, not a stack overflow', async () => {
    // Math.max(...) of the names' lengths overflowed the call stack as arguments.
    const header = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`t${i}`, { dtype: 'F32', shape: [0], data_offsets: [0, 0] }]));
    const p = file('many.safetensors', header);
    const r = await cvw('weights', 'inspect', p, '--all');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('tensors: 200000 (200000 F32)');
    expect(r.out).toMatch(/\n {2}t199999 {2}F32 {3}\[0\]\n/);
  });

  it('a checkpoint whose __metadata__.cvw is not JSON gets a located error', () => {
    const p = file('cvwmeta.safetensors', { __metadata__: { format: 'cvw', cvw: '{"iter": 3,' } });
    expect(() => loadCheckpoint(p)).toThrow(/cvwmeta\.safetensors: __metadata__\.cvw is not valid JSON/);
    expect(() => readCheckpointMeta(p)).toThrow(/cvwmeta\.safetensors: __metadata__\.cvw is not valid JSON/);
  });

  it('says what a file that is neither safetensors nor torch.save is', () => {
    const p = t.file('text.bin');
    fs.writeFileSync(p, 'hello world, not weights');
    expect(() => readWeights(p)).toThrow(/text\.bin: not a weights file \(expected safetensors or a torch\.save archive/);
  });
});

describe('restricted unpickler', () => {
  const opts = { resolve: () => undefined, persistentLoad: () => null, allowedDescription: 'plain values' };
  it('refuses a global outside the allow-list before calling anything', () => {
    // Protocol 2: GLOBAL 'os system', ('ls',), REDUCE, STOP.
    const evil = Buffer.from('\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.', 'latin1');
    expect(() => unpickle('x.pth', evil, opts)).toThrow(/x\.pth: refusing to load os\.system: a checkpoint must never run code/);
    // STACK_GLOBAL (protocol 4) is checked the same way.
    const stackGlobal = Buffer.from('\x80\x04\x8c\x08builtins\x8c\x04eval\x93.', 'latin1');
    expect(() => unpickle('x.pth', stackGlobal, opts)).toThrow(/refusing to load builtins\.eval/);
  });

  it('refuses opcodes that build arbitrary objects, and truncated pickles, with the byte offset', () => {
    expect(() => unpickle('x.pth', Buffer.from('(ios\nsystem\n.', 'latin1'), opts)).toThrow(/x\.pth: pickle byte 1: opcode 0x69 \('i'\) is not one a state dict uses/);
    expect(() => unpickle('x.pth', Buffer.from('\x80\x02X\x10\x00\x00\x00ab', 'latin1'), opts)).toThrow(/pickle byte 7: truncated/);
  });

  it('reads dicts, lists, tuples, numbers and strings', () => {
    // {'a': [1, 2.5, None, True], 'b': ('x', -3)}, protocol 2, as Python writes it.
    const p = Buffer.from('\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88eX\x01\x00\x00\x00bq\x03X\x01\x00\x00\x00xq\x04J\xfd\xff\xff\xff\x86q\x05u.', 'latin1');
    const v = unpickle('x.pth', p, opts) as Map<string, unknown>;
    expect(v.get('a')).toEqual([1, 2.5, null, true]);
    expect(v.get('b')).toEqual(['x', -3]);
  });

  it('APPENDS of 200,000 items (a 400 KB pickle) builds the list, not a stack overflow', () => {
    // push(...items) passed every item as an argument and overflowed the call stack.
    const n = 200_000;
    const many = Buffer.concat([Buffer.from('\x80\x02](', 'latin1'), Buffer.alloc(2 * n, Buffer.from([0x4b, 7])), Buffer.from('e.', 'latin1')]);
    const list = unpickle('many.pth', many, opts) as number[];
    expect(list).toHaveLength(n);
    expect(list[n - 1]).toBe(7);
  });
});
