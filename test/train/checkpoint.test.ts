import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import { tempFiles } from '../helpers/tmp';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint';

const t = tempFiles({});
beforeAll(async () => {
  await useCpu();
});
afterAll(() => t.cleanup());

describe('safetensors checkpoints', () => {
  it('round-trips float and int tensors with metadata, in the reference layout', () => {
    const file = path.join(t.dir, 'c.safetensors');
    saveCheckpoint(file, new Map<string, tf.Tensor>([['b', tf.tensor2d([[1, 2], [3, 4]])], ['a', tf.scalar(7, 'int32')]]), { iter: 12, note: 'x' });
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    expect(header.a).toEqual({ dtype: 'I32', shape: [], data_offsets: [0, 4] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [4, 20] });
    const back = loadCheckpoint(file);
    expect(back.meta).toEqual({ iter: 12, note: 'x' });
    expect(Array.from(back.tensors.get('b')!.dataSync())).toEqual([1, 2, 3, 4]);
    expect(back.tensors.get('a')!.dtype).toBe('int32');
    expect(fs.readdirSync(t.dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('reports a truncated file with its size', () => {
    const file = path.join(t.dir, 'c.safetensors');
    const cut = path.join(t.dir, 'cut.safetensors');
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, fs.statSync(file).size - 3));
    expect(() => loadCheckpoint(cut)).toThrow(/truncated — tensor "b" ends at byte \d+ of \d+/);
    fs.writeFileSync(cut, 'hello');
    expect(() => loadCheckpoint(cut)).toThrow(/not a safetensors file/);
  });
});
