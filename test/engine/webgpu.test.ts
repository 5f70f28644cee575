/**
 * The webgpu engine (tfjs' WebGPU backend on Dawn). The selection rules run everywhere; the rest
 * needs the optional `webgpu` package and an adapter — in CI and on these machines Mesa's llvmpipe
 * through Dawn's OpenGL backend (scripts/setup-test-env.sh installs it), a software adapter about
 * a hundred times slower than a GPU, so every case is tiny. Without an adapter those tests are
 * skipped with the reason printed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { chooseEngine, initEngine, type Availability } from '../../src/engine';
import { defaultEnvironment } from '../../src/engine/engines';
import { describeGpuError, isSoftwareAdapter, probeWebgpu, type AdapterSummary } from '../../src/engine/webgpu';
import { UserError } from '../../src/core/problems';
import { cvw } from '../helpers/cvw';
import { formatReport } from '../../src/cli/commands/env';
import { resnet18Step } from '../../bench/engine/trainStep';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { checkOnEngine, convPrepared, FUZZ_OPS, reproLine, runFuzz, type ConvKind, type ConvSpec } from './engineFuzz';
import { maxAbsDiff } from './kernelHarness';
import { BACKBONES, modelStep } from './modelStep';
import { Random } from '../../src/core/random';

const LLVMPIPE: AdapterSummary = { vendor: '', architecture: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version 4.5 (Core Profile) Mesa 22.3.6', api: 'opengl', software: true };
const H200: AdapterSummary = { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200', description: 'NVIDIA: 550.54.15', api: 'default', software: false };

function availability(available: Partial<Record<Availability['engine'], boolean>>, adapter?: AdapterSummary): Availability[] {
  return (['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm-ort', 'wasm', 'cpu'] as const).map((engine) => ({
    engine,
    available: available[engine] ?? false,
    note: available[engine] ? `${engine} ok` : `${engine} missing`,
    ...(engine === 'webgpu' && adapter ? { adapter } : {}),
  }));
}

describe('webgpu selection rules', () => {
  const npm = { 'wasm-ort': true, wasm: true, cpu: true };

  it('software adapters are recognised by name or by the fallback flag', () => {
    expect(isSoftwareAdapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', device: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)', device: 'lavapipe' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', device: 'NVIDIA H200', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200', description: 'NVIDIA: 550.54.15' })).toBe(false);
  });

  it('auto: tfjs-node-gpu, then webgpu on a hardware adapter, then the CPU engines; a software adapter is never picked', () => {
    expect(chooseEngine({ backend: 'auto', device: 'auto' }, availability({ ...npm, webgpu: true }, H200)).engine).toBe('webgpu');
    expect(chooseEngine({ backend: 'auto', device: 'auto' }, availability({ ...npm, webgpu: true, 'tfjs-node-gpu': true }, H200)).engine).toBe('tfjs-node-gpu');
    const soft = chooseEngine({ backend: 'auto', device: 'auto' }, availability({ ...npm, webgpu: true }, LLVMPIPE));
    expect(soft.engine).toBe('wasm-ort');
    expect(soft.reason).toContain('webgpu has only a software adapter, llvmpipe-llvm-15-0-6-256-bits- (auto never picks one');
    expect(chooseEngine({ backend: 'auto', device: 'cpu' }, availability({ ...npm, webgpu: true }, H200)).engine).toBe('wasm-ort');
  });

  it('engine.device: gpu takes a hardware adapter and otherwise says what it found and how to install', () => {
    expect(chooseEngine({ backend: 'auto', device: 'gpu' }, availability({ ...npm, webgpu: true }, H200)).engine).toBe('webgpu');
    const err = (() => {
      try {
        chooseEngine({ backend: 'auto', device: 'gpu' }, availability({ ...npm, webgpu: true }, LLVMPIPE));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err?.message).toMatch(/^engine\.device: gpu found no GPU engine that can run here \(tfjs-node-gpu missing; webgpu has only a software adapter, llvmpipe.*\); install one — webgpu: npm install --save-exact webgpu@0\.6\.2 @tensorflow\/tfjs-backend-webgpu@4\.22\.0 .*tfjs-node-gpu: npm install/);
    expect(() => chooseEngine({ backend: 'auto', device: 'gpu' }, availability(npm))).toThrow(/tfjs-node-gpu missing; webgpu missing\); install one — webgpu: npm install/);
  });

  it('auto asks Dawn for hardware adapters only; engine.backend: webgpu for any (software ones too)', async () => {
    const scopes: string[] = [];
    const env = { ...defaultEnvironment, probeWebgpu: async (scope: string) => (scopes.push(scope), { available: false, note: 'stub' }) };
    await initEngine({ backend: 'auto' }, env);
    await initEngine({ backend: 'auto', device: 'gpu' }, env).catch(() => undefined);
    await initEngine({ backend: 'webgpu' }, env).catch(() => undefined);
    await initEngine({ backend: 'wasm' }, env);
    expect(scopes).toEqual(['hardware', 'hardware', 'all']);
  });

  it('a GPU out-of-memory error says what to lower', () => {
    class GPUOutOfMemoryError extends Error {}
    expect(describeGpuError(new GPUOutOfMemoryError('Out of memory allocating buffer\n - While calling CreateBuffer'))).toBe("the GPU ran out of memory (Out of memory allocating buffer); lower data.train.batch_size (or the input size, or the model's width) and start again");
    expect(describeGpuError({ message: 'Buffer size (4) exceeds the limit.\n - While calling' })).toBe('WebGPU error: Buffer size (4) exceeds the limit.');
  });

  it('without the packages: not available, saying which is missing, and cvw env says how to install', async () => {
    expect(await probeWebgpu(() => undefined)).toEqual({ available: false, note: 'webgpu not installed' });
    const report = await initEngine({ backend: 'wasm' });
    const missing = { ...report, available: report.available.map((a) => (a.engine === 'webgpu' ? { engine: a.engine, available: false, note: 'webgpu not installed' } : a)) };
    expect(formatReport(missing)).toContain('\nGPU training from npm alone: npm install --save-exact webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0 ');
    expect(formatReport(report)).not.toContain('GPU training from npm alone');
  });

  it('engine.backend: webgpu uses a software adapter (not with engine.device: gpu), and explains a missing package', () => {
    expect(chooseEngine({ backend: 'webgpu', device: 'auto' }, availability({ ...npm, webgpu: true }, LLVMPIPE))).toEqual({ engine: 'webgpu', reason: 'engine.backend: webgpu (a software adapter)' });
    expect(chooseEngine({ backend: 'webgpu', device: 'gpu' }, availability({ ...npm, webgpu: true }, H200)).engine).toBe('webgpu');
    expect(() => chooseEngine({ backend: 'webgpu', device: 'gpu' }, availability({ ...npm, webgpu: true }, LLVMPIPE))).toThrow(/engine\.device: gpu, but the only WebGPU adapter here is a software one \(llvmpipe/);
    expect(() => chooseEngine({ backend: 'webgpu', device: 'cpu' }, availability({ ...npm, webgpu: true }, H200))).toThrow(/not on the CPU engines/);
    const missing = availability(npm).map((a) => (a.engine === 'webgpu' ? { ...a, note: 'webgpu not installed' } : a));
    expect(() => chooseEngine({ backend: 'webgpu', device: 'auto' }, missing)).toThrow(/engine\.backend: webgpu is not available here \(webgpu not installed\); install it with npm install --save-exact webgpu@0\.6\.2/);
  });
});

let probe: Awaited<ReturnType<typeof probeWebgpu>> = { available: false, note: 'not probed' };

/** max |got − want| ≤ tol · max(1, max |want|) for every parameter. */
function expectClose(got: Map<string, Float32Array>, want: Map<string, Float32Array>, tol: number, what: string): void {
  for (const [param, w] of want) {
    const { diff, scale } = maxAbsDiff(got.get(param)!, w);
    expect(diff, `${what} ${param}`).toBeLessThanOrEqual(tol * Math.max(1, scale));
  }
}

describe('webgpu engine on this machine\'s adapter', () => {
  beforeAll(async () => {
    probe = await probeWebgpu();
    if (!probe.available) console.warn(`webgpu engine tests skipped: ${probe.note}`);
  });
  beforeEach((ctx) => {
    if (!probe.available) ctx.skip();
  });

  it('starts, names the adapter on the engine line, and warns when it is a software one', async () => {
    const r = await initEngine({ backend: 'webgpu' });
    expect(tf.getBackend()).toBe('webgpu');
    expect(r).toMatchObject({ engine: 'webgpu', backend: 'webgpu', adapter: probe.adapter });
    expect(r.versions).toMatchObject({ webgpu: '0.6.2', '@tensorflow/tfjs-backend-webgpu': '4.22.0' });
    const line = r.summary.split('\n')[0];
    expect(line).toContain(`adapter ${probe.adapter!.device}`);
    expect(line).toContain(probe.adapter!.description);
    if (probe.adapter!.software) {
      expect(r.device).toBe('cpu');
      expect(r.summary.split('\n')[1]).toMatch(/^warning: webgpu is running on a software adapter/);
    } else expect(r.device).toBe('gpu');
    // A synchronous read of a GPU tensor says what to do instead of failing inside tfjs.
    const y = tf.add(tf.ones([4096]), tf.ones([4096]));
    if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined') expect(() => y.dataSync()).toThrow(/await tensor\.data\(\)/);
    expect((await y.data())[0]).toBe(2);
    expect(y.dataSync()[4095]).toBe(2);
    y.dispose();
  });

  it('gradient grid: convolutions (strides, padding, dilation), depthwise, transposed — values and gradients equal to the cpu backend', async () => {
    await initEngine({ backend: 'webgpu' });
    const rng = new Random(5);
    const problems: string[] = [];
    const specs: [ConvKind, ConvSpec][] = [];
    for (const kind of ['conv2d', 'depthwiseConv2d'] as const) {
      for (const strides of [1, 2]) {
        for (const pad of ['same', 'valid'] as const) specs.push([kind, { x: [2, 7, 6, 3], filter: [3, 2, 3, kind === 'conv2d' ? 4 : 2], strides: [strides, strides], dilations: [1, 1], pad }]);
      }
      specs.push([kind, { x: [1, 8, 7, 2], filter: [3, 3, 2, 2], strides: [1, 1], dilations: [2, 2], pad: 'same' }]);
      specs.push([kind, { x: [1, 8, 7, 2], filter: [2, 3, 2, 1], strides: [1, 1], dilations: [2, 1], pad: 'valid' }]);
    }
    specs.push(['conv2dTranspose', { x: [1, 6, 5, 2], filter: [3, 3, 2, 3], strides: [2, 2], dilations: [1, 1], pad: 'same' }]);
    for (const [i, [kind, spec]] of specs.entries()) {
      const p = convPrepared(kind, spec, rng);
      for (const problem of await checkOnEngine('webgpu', 'webgpu', p, 100 + i)) problems.push(`${kind} ${JSON.stringify(p.desc)}: ${problem}`);
    }
    expect(problems).toEqual([]);
  });

  it('engine fuzz: two cases of every op (gather, batch norm, pooling, resizes, matrix products…) match the cpu backend', async () => {
    const seeds = Array.from({ length: 2 * FUZZ_OPS.length }, (_, i) => i);
    const summary = await runFuzz({ engines: ['webgpu'], seeds });
    expect(summary.failures.map(reproLine)).toEqual([]);
    for (const op of FUZZ_OPS) expect(summary.perOp[op], op).toBe(2);
  });

  it('one training step of a small ResNet, MobileNetV2, ViT, Swin, ConvNeXt and ConvNeXt V2: loss and gradients equal to the cpu backend', async () => {
    for (const [name, { backbone, train }] of Object.entries(BACKBONES)) {
      const want = await modelStep('cpu', backbone, train);
      const got = await modelStep('webgpu', backbone, train);
      expect(Math.abs(got.loss - want.loss), `${name} loss`).toBeLessThan(1e-4 * Math.max(1, Math.abs(want.loss)));
      expectClose(got.grads, want.grads, 2e-4, name);
    }
  });

  it('memory is stable over training steps: no tensor and no GPU byte more after step 6 than after step 2', async () => {
    await initEngine({ backend: 'webgpu' });
    const bench = resnet18Step(2, 0, 8, 4);
    const gpuBytes = () => (tf.memory() as tf.MemoryInfo & { numBytesInGPU: number }).numBytesInGPU;
    await bench.step();
    await bench.step();
    const after2 = { tensors: tf.memory().numTensors, bytes: gpuBytes() };
    for (let i = 0; i < 4; i++) expect(Number.isFinite(await bench.step())).toBe(true);
    expect({ tensors: tf.memory().numTensors, bytes: gpuBytes() }).toEqual(after2);
    expect(after2.bytes).toBeGreaterThan(0);
    bench.dispose();
  });

  it('cvw env lists the adapter; cvw train --backend webgpu runs two iterations, evaluates and writes a checkpoint', async () => {
    const env = await cvw('env', '--backend', 'webgpu');
    expect(env.code).toBe(0);
    expect(env.out).toMatch(new RegExp(`\\* webgpu +webgpu 0\\.6\\.2, @tensorflow/tfjs-backend-webgpu 4\\.22\\.0: .*${probe.adapter!.device.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const t = tempFiles({ 'tiny.yaml': tinyClassificationYaml({ seed: 4, runner: 'max_iters: 2', backend: 'webgpu', val: true }) });
    try {
      const run = t.file('run');
      const r = await cvw('train', t.file('tiny.yaml'), '--work-dir', run, '--max-iters', '2', '-q');
      expect(r.code, r.err).toBe(0);
      const log = fs.readFileSync(path.join(run, 'log.txt'), 'utf8');
      expect(log).toMatch(/engine: webgpu on (GPU|CPU): tfjs WebGPU backend on Dawn .*adapter /);
      if (probe.adapter!.software) expect(log).toMatch(/\n\S+ warning: webgpu is running on a software adapter/);
      const metrics = fs
        .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { split?: string; loss?: number; iter?: number });
      const losses = metrics.filter((m) => m.split === 'train' && typeof m.loss === 'number');
      expect(losses.length).toBeGreaterThan(0);
      for (const m of losses) expect(Number.isFinite(m.loss)).toBe(true);
      expect(fs.statSync(path.join(run, 'checkpoints', 'latest.safetensors')).size).toBeGreaterThan(10_000);
      // The evaluation at the end of the epoch ran on the engine too.
      const val = metrics.find((m) => m.split === 'val') as { accuracy_top1?: number } | undefined;
      expect(val?.accuracy_top1, JSON.stringify(metrics)).toBeGreaterThanOrEqual(0);
      expect(val!.accuracy_top1).toBeLessThanOrEqual(100);
    } finally {
      t.cleanup();
      await initEngine({ backend: 'wasm' });
    }
  });

  // Last: the error it provokes stays (a run ends at the first GPU error).
  it('a GPU error ends the next read with its message instead of going on with garbage', async () => {
    await initEngine({ backend: 'webgpu' });
    const device = (tf.backend() as unknown as { device: { createBuffer(d: { size: number; usage: number }): unknown } }).device;
    device.createBuffer({ size: 2 ** 40, usage: 0x80 | 0x8 }); // STORAGE | COPY_DST, far over the limit
    await new Promise((resolve) => setTimeout(resolve, 200));
    const y = tf.add(tf.ones([4096]), 1);
    await expect(y.data()).rejects.toThrow(/^WebGPU error: Buffer size \(1099511627776\) exceeds the max buffer size limit/);
    y.dispose();
  });
});
