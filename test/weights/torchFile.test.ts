/**
 * torch.save archives written here byte by byte (no PyTorch needed): what the reader makes of tensors
 * whose strides or storages a hostile file chooses.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { tempFiles } from '../helpers/tmp';
import { readWeights } from '../../src/weights/read';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** A stored (uncompressed) zip archive of `entries`, as torch.save writes them. */
function zip(entries: Array<[string, Buffer]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Pickle protocol 2 pieces. */
const str = (s: string) => {
  const b = Buffer.from(s);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([Buffer.from('X'), len, b]);
};
const int = (v: number) => {
  const b = Buffer.alloc(5);
  b.write('J');
  b.writeInt32LE(v, 1);
  return b;
};
const tuple = (items: Buffer[]) => Buffer.concat([Buffer.from('('), ...items, Buffer.from('t')]);

/** `_rebuild_tensor_v2((storage, FloatStorage, key, cpu, numel), offset, shape, stride)`. */
function tensorPickle(key: string, numel: number, offset: number, shape: number[], stride: number[]): Buffer {
  const storage = Buffer.concat([tuple([str('storage'), Buffer.from('ctorch\nFloatStorage\n'), str(key), str('cpu'), int(numel)]), Buffer.from('Q')]);
  return Buffer.concat([Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n'), tuple([storage, int(offset), tuple(shape.map(int)), tuple(stride.map(int))]), Buffer.from('R')]);
}

/** A torch.save archive of {name: tensor} over float32 storages (key -> values). */
function archive(name: string, tensors: Array<[string, Buffer]>, storages: Record<string, number[]>): string {
  const pkl = Buffer.concat([Buffer.from([0x80, 2, 0x7d, 0x28]), ...tensors.flatMap(([k, v]) => [str(k), v]), Buffer.from('u.')]);
  const data = Object.entries(storages).map(([k, v]) => [`archive/data/${k}`, Buffer.from(new Float32Array(v).buffer)] as [string, Buffer]);
  const p = t.file(name);
  fs.writeFileSync(p, zip([['archive/data.pkl', pkl], ...data]));
  return p;
}

describe('torch.save archives', () => {
  it('reads strided views and offsets of a shared storage', () => {
    const p = archive('views.pth', [['w', tensorPickle('0', 6, 0, [2, 3], [3, 1])], ['wt', tensorPickle('0', 6, 0, [3, 2], [1, 3])], ['col', tensorPickle('0', 6, 1, [2], [3])]], { '0': [0, 1, 2, 3, 4, 5] });
    const w = readWeights(p).tensors;
    expect(Array.from(w.get('w')!.values)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(w.get('wt')!.values)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(w.get('col')!.values)).toEqual([1, 4]);
  });

  it('refuses a tensor whose zero strides repeat one stored value, before allocating it', () => {
    // 2^26 values (256 MiB) from one, and 2^40 (past what JavaScript can allocate).
    const small = archive('expand.pth', [['w', tensorPickle('0', 1, 0, [1 << 26], [0])]], { '0': [0] });
    expect(() => readWeights(small)).toThrow(/expand\.pth: a tensor of shape \[67108864\] \(67108864 values\) repeats the 1 values of its storage "0" \(strides \[0\]\)/);
    const huge = archive('expand40.pth', [['w', tensorPickle('0', 1, 0, [1 << 20, 1 << 20], [0, 0])]], { '0': [0] });
    expect(() => readWeights(huge)).toThrow(/expand40\.pth: a tensor of shape \[1048576,1048576\]/);
  });

  it('refuses a pickle that names one storage from many tensors (a copy each)', () => {
    const many = Array.from({ length: 100 }, (_, i) => [`k${i}`, tensorPickle('0', 1024, 0, [1024], [1])] as [string, Buffer]);
    const p = archive('many.pth', many, { '0': new Array<number>(1024).fill(1) });
    expect(() => readWeights(p)).toThrow(/many\.pth: the pickle's tensors read 5120 values from storages holding 1024/);
    // Tied weights (one storage, two names) still read.
    const tied = archive('tied.pth', many.slice(0, 2), { '0': new Array<number>(1024).fill(1) });
    expect(readWeights(tied).tensors.size).toBe(2);
  });

  it("reads a training checkpoint whose args are an argparse.Namespace (torchvision references, timm, DeiT, MAE), building nothing of it", () => {
    // args = argparse.Namespace(lr=1): GLOBAL, NEWOBJ with no arguments, then BUILD with its __dict__.
    const args = Buffer.concat([Buffer.from('cargparse\nNamespace\n)\x81}(', 'latin1'), str('lr'), int(1), Buffer.from('ub')]);
    const weights = Buffer.concat([Buffer.from('}('), str('w'), tensorPickle('0', 2, 0, [2], [1]), Buffer.from('u')]);
    const p = archive('ckpt.pth', [['model', weights], ['args', args]], { '0': [1, 2] });
    const w = readWeights(p);
    expect(w.nestedKey).toBe('model');
    expect(Array.from(w.tensors.get('w')!.values)).toEqual([1, 2]);
    const flat = readWeights(archive('flat.pth', [['w', tensorPickle('0', 2, 0, [2], [1])], ['args', args]], { '0': [1, 2] }));
    expect(flat.skipped).toEqual(['args']);
  });

  it('--key goes down nested dicts, then selects a name prefix of the flat state dict there (a MoCo checkpoint)', () => {
    // {state_dict: {module.encoder_q.w: [1, 2], module.encoder_k.w: [3, 4]}, epoch: 3}
    const sd = Buffer.concat([Buffer.from('}('), str('module.encoder_q.w'), tensorPickle('0', 2, 0, [2], [1]), str('module.encoder_k.w'), tensorPickle('1', 2, 0, [2], [1]), Buffer.from('u')]);
    const p = archive('moco.pth', [['state_dict', sd], ['epoch', int(3)]], { '0': [1, 2], '1': [3, 4] });
    const values = (w: ReturnType<typeof readWeights>) => Object.fromEntries([...w.tensors].map(([k, t]) => [k, Array.from(t.values)]));
    const full = readWeights(p, { key: 'state_dict.module.encoder_k' });
    expect([values(full), full.nestedKey]).toEqual([{ w: [3, 4] }, 'state_dict.module.encoder_k']);
    // Not a top-level key: taken inside the checkpoint's state dict.
    const inner = readWeights(p, { key: 'module.encoder_q' });
    expect([values(inner), inner.nestedKey]).toEqual([{ w: [1, 2] }, 'state_dict.module.encoder_q']);
    // DataParallel's module. may be left out, as it is of the names read.
    expect(values(readWeights(p, { key: 'state_dict.encoder_k' }))).toEqual({ w: [3, 4] });
    expect(() => readWeights(p, { key: 'state_dict.encoder' })).toThrow(/moco\.pth: no tensors found under "state_dict\.encoder" \(top-level keys: state_dict, epoch\)/);
  });
});
