/**
 * The hand-written WebAssembly SIMD modules (src/engine/simd/*.wat): the committed binaries are the
 * assembly of their sources, and each instantiates on the wasm backend's memory and works there.
 * (The kernels built on them are tested against the cpu backend in batchNorm.test.ts and
 * wasmKernels.test.ts.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { DEPTHWISE_CONV_WASM } from '../../src/engine/simd/depthwiseConvBinary';
import { heapOffset, onBackendMemory } from '../../src/engine/simd/module';

const DIR = 'src/engine/simd';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('SIMD modules', () => {
  const sources = fs.readdirSync(DIR).filter((f) => f.endsWith('.wat'));

  it.each(sources)('%s: the committed binary is its assembly (node scripts/build-simd.mjs)', async (file) => {
    const { assemble } = (await import('../../scripts/build-simd.mjs' as string)) as { assemble(watFile: string): Promise<string> };
    const binary = path.join(DIR, `${path.basename(file, '.wat')}Binary.ts`);
    expect(fs.readFileSync(binary, 'utf8')).toBe(await assemble(path.join(DIR, file)));
  });

  it('depthwiseConv.wat: a run of positions is summed per channel in float32, then added to the float64 accumulators', () => {
    const backend = tf.backend() as BackendWasm;
    const passes = onBackendMemory<{ tap_run(acc: number, x: number, xs: number, dy: number, c: number, len: number): void }>(backend, DEPTHWISE_CONV_WASM)!;
    expect(passes).toBeDefined();
    const [c, len, xs] = [8, 5, 16]; // x advances two pixels of 8 channels a position (stride 2)
    const x = tf.tensor1d(Array.from({ length: len * xs }, (_, i) => Math.fround(Math.sin(i) * 3)));
    const dy = tf.tensor1d(Array.from({ length: len * c }, (_, i) => Math.fround(Math.cos(i) + 0.1)));
    const acc = tf.tensor1d(new Float32Array(2 * c)); // 8 float64 zeros, then 0.5 added below
    const a64 = () => {
      const f32 = backend.typedArrayFromHeap(acc) as Float32Array;
      return new Float64Array(f32.buffer, f32.byteOffset, c);
    };
    a64().fill(0.5);
    passes.tap_run(heapOffset(backend, acc), heapOffset(backend, x), xs, heapOffset(backend, dy), c, len);
    const [xv, dv] = [x.dataSync(), dy.dataSync()];
    const expected = Array.from({ length: c }, (_, k) => {
      let s = 0;
      for (let p = 0; p < len; p++) s = Math.fround(s + Math.fround(xv[p * xs + k] * dv[p * c + k]));
      return 0.5 + s;
    });
    expect(Array.from(a64())).toEqual(expected);
    tf.dispose([x, dy, acc]);
  });

  it('depthwiseConv.wat: the forward run adds a strided run of x times the tap into a contiguous run of the output', () => {
    const backend = tf.backend() as BackendWasm;
    const passes = onBackendMemory<{ tap_run_forward(out: number, x: number, xs: number, f: number, c: number, len: number): void }>(backend, DEPTHWISE_CONV_WASM)!;
    const [c, len, xs] = [8, 5, 16];
    const x = tf.tensor1d(Array.from({ length: len * xs }, (_, i) => Math.fround(Math.sin(i) * 3)));
    const f = tf.tensor1d(Array.from({ length: c }, (_, k) => Math.fround(Math.cos(k) + 0.1)));
    const out = tf.tensor1d(new Float32Array(len * c).fill(0.5));
    passes.tap_run_forward(heapOffset(backend, out), heapOffset(backend, x), xs, heapOffset(backend, f), c, len);
    const [xv, fv] = [x.dataSync(), f.dataSync()];
    const expected = Array.from({ length: len * c }, (_, i) => Math.fround(0.5 + Math.fround(xv[Math.floor(i / c) * xs + (i % c)] * fv[i % c])));
    expect(Array.from(backend.typedArrayFromHeap(out))).toEqual(expected);
    tf.dispose([x, f, out]);
  });
});
