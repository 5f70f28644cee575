/**
 * Engine selection: what `auto` picks and why, clear errors for engines that are not there, the
 * kernels each engine installs, and `cvw env`. tfjs-node cannot be installed here, so a fake
 * environment stands in for "installed" (a package that registers a `tensorflow` backend).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { chooseEngine, engineAvailability, initEngine, type Availability } from '../../src/engine';
import { defaultEnvironment, type EngineEnvironment } from '../../src/engine/engines';
import { ORT_KERNELS } from '../../src/engine/ort/kernels';
import { kernelBelow, originalKernel, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import { conv2DOrtConfig } from '../../src/engine/ort/kernels/conv2d';
import { UserError } from '../../src/core/problems';
import { cvw } from '../helpers/cvw';
import { onednnAvailability } from '../../src/engine/onednn';

function availability(available: Partial<Record<Availability['engine'], boolean>>): Availability[] {
  return (['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm-ort', 'wasm', 'cpu'] as const).map((engine) => ({
    engine,
    available: available[engine] ?? false,
    note: available[engine] ? `${engine} ok` : `${engine} missing`,
  }));
}

afterAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('chooseEngine', () => {
  const all = availability({ 'tfjs-node-gpu': true, 'tfjs-node': true, 'wasm-ort': true, wasm: true, cpu: true });
  const npmOnly = availability({ 'wasm-ort': true, wasm: true, cpu: true });

  it('auto takes the fastest available engine and says what it skipped', () => {
    expect(chooseEngine({ backend: 'auto', device: 'auto' }, all)).toEqual({ engine: 'tfjs-node-gpu', reason: 'auto: the fastest engine' });
    expect(chooseEngine({ backend: 'auto', device: 'auto' }, npmOnly)).toEqual({ engine: 'wasm-ort', reason: 'auto: tfjs-node-gpu missing; webgpu missing; tfjs-node missing' });
    expect(chooseEngine({ backend: 'auto', device: 'auto' }, availability({ wasm: true, cpu: true })).engine).toBe('wasm');
    expect(chooseEngine({ backend: 'auto', device: 'auto' }, availability({ cpu: true })).engine).toBe('cpu');
  });

  it('auto with device cpu never takes the GPU engine; device gpu takes nothing else', () => {
    expect(chooseEngine({ backend: 'auto', device: 'cpu' }, all).engine).toBe('tfjs-node');
    expect(chooseEngine({ backend: 'auto', device: 'gpu' }, all).engine).toBe('tfjs-node-gpu');
    expect(() => chooseEngine({ backend: 'auto', device: 'gpu' }, npmOnly)).toThrow(/found no GPU engine .*npm install --save-exact @tensorflow\/tfjs-node-gpu@4\.22\.0 .*CUDA/);
  });

  it('backend tensorflow maps to tfjs-node or tfjs-node-gpu by device, or explains how to install it', () => {
    expect(chooseEngine({ backend: 'tensorflow', device: 'cpu' }, all).engine).toBe('tfjs-node');
    expect(chooseEngine({ backend: 'tensorflow', device: 'auto' }, all).engine).toBe('tfjs-node-gpu');
    expect(chooseEngine({ backend: 'tensorflow', device: 'auto' }, availability({ 'tfjs-node': true })).engine).toBe('tfjs-node');
    const err = (() => {
      try {
        chooseEngine({ backend: 'tensorflow', device: 'auto' }, npmOnly);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err?.message).toMatch(/engine\.backend: tensorflow needs @tensorflow\/tfjs-node \(tfjs-node missing\); install it with npm install --save-exact @tensorflow\/tfjs-node@4\.22\.0/);
  });

  it('explicit npm engines: an error when missing, and no GPU', () => {
    expect(chooseEngine({ backend: 'wasm', device: 'auto' }, npmOnly)).toEqual({ engine: 'wasm', reason: 'engine.backend: wasm' });
    expect(() => chooseEngine({ backend: 'wasm-ort', device: 'auto' }, availability({ wasm: true, cpu: true }))).toThrow(/wasm-ort is not available here \(wasm-ort missing\); reinstall it with `npm install --save-exact onnxruntime-node@1\.30\.0`/);
    expect(() => chooseEngine({ backend: 'cpu', device: 'gpu' }, npmOnly)).toThrow(/runs on the CPU only/);
  });
});

describe('initEngine on this machine', () => {
  it('auto starts wasm-ort, reports why, and installs the onnxruntime and training kernels', async () => {
    const r = await initEngine();
    expect(r.engine).toBe('wasm-ort');
    expect(r.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(r.device).toBe('cpu');
    expect(r.reason).toMatch(/^auto: @tensorflow\/tfjs-node-gpu not installed; webgpu .*; @tensorflow\/tfjs-node not installed$/);
    // oneDNN where its addon is built (test/globalSetup.ts builds it wherever oneDNN is installed).
    const onednn = onednnAvailability();
    expect(r.versions).toEqual({ '@tensorflow/tfjs-core': '4.22.0', '@tensorflow/tfjs-backend-wasm': '4.22.0', 'onnxruntime-node': '1.30.0', ...(onednn.available ? { oneDNN: `${onednn.version} (${onednn.isa})` } : {}) });
    expect(!!r.versions.oneDNN).toBe(onednn.installed);
    expect(r.summary).toMatch(/^wasm-ort on CPU: .* — auto: /);
    for (const k of [...ORT_KERNELS, ...WASM_TRAINING_KERNELS.filter((w) => !ORT_KERNELS.some((o) => o.kernelName === w.kernelName))]) {
      expect(tf.getKernel(k.kernelName, 'wasm'), k.kernelName).toBe(k);
    }
    expect(tf.getGradient('Conv2D')).toBeTruthy();
  });

  it('wasm takes the onnxruntime kernels out again, keeping the training kernels', async () => {
    const r = await initEngine({ backend: 'wasm', threads: 1 });
    expect(r.engine).toBe('wasm');
    expect(r.threads).toBe(1);
    for (const k of ORT_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm')).not.toBe(k);
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm')).toBe(k);
  });

  it('engine switches keep the stack in order: onnxruntime over the training kernels over the backend\'s own', async () => {
    const conv = WASM_TRAINING_KERNELS.find((k) => k.kernelName === 'Conv2D')!;
    await initEngine({ backend: 'wasm-ort', threads: 1 });
    await initEngine({ backend: 'wasm-ort', threads: 1 });
    expect(tf.getKernel('Conv2D', 'wasm')).toBe(conv2DOrtConfig);
    expect(kernelBelow(conv2DOrtConfig)).toBe(conv);
    expect(kernelBelow(conv)).toBe(originalKernel('Conv2D', 'wasm'));
    await initEngine({ backend: 'wasm', threads: 1 });
    expect(tf.getKernel('Conv2D', 'wasm')).toBe(conv);
    expect(kernelBelow(conv)).toBe(originalKernel('Conv2D', 'wasm'));
    expect(originalKernel('Conv2D', 'wasm')).toBeTruthy();
  });

  it('cpu switches to the plain JavaScript backend', async () => {
    const r = await initEngine({ backend: 'cpu' });
    expect(r).toMatchObject({ engine: 'cpu', backend: 'cpu', reason: 'engine.backend: cpu' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('availability lists every engine with a reason', () => {
    const a = engineAvailability();
    expect(a.map((x) => [x.engine, x.available])).toEqual([
      ['tfjs-node-gpu', false],
      ['webgpu', false],
      ['tfjs-node', false],
      ['wasm-ort', true],
      ['wasm', true],
      ['cpu', true],
    ]);
  });
});

describe('initEngine with tfjs-node present (a stand-in package)', () => {
  it('auto prefers it, loads it once, and reports its version', async () => {
    let loads = 0;
    const env: EngineEnvironment = {
      resolvePackage: (name) => (name === '@tensorflow/tfjs-node' ? { name, version: tf.version_core, dir: '/nowhere' } : defaultEnvironment.resolvePackage(name)),
      gpuVisible: () => false,
      load: () => {
        loads++;
        tf.registerBackend('tensorflow', () => new MathBackendCPU());
      },
    };
    const r = await initEngine({}, env);
    expect(r).toMatchObject({ engine: 'tfjs-node', backend: 'tensorflow', device: 'cpu' });
    expect(r.reason).toMatch(/^auto: @tensorflow\/tfjs-node-gpu not installed; webgpu /);
    expect(r.versions['@tensorflow/tfjs-node']).toBe(tf.version_core);
    expect(tf.getBackend()).toBe('tensorflow');
    await initEngine({ backend: 'tensorflow', device: 'cpu' }, env);
    expect(loads).toBe(1);
    tf.removeBackend('tensorflow');
  });

  it('a version that does not match tfjs-core is not used, and says so', async () => {
    const env: EngineEnvironment = { ...defaultEnvironment, resolvePackage: (name) => (name === '@tensorflow/tfjs-node' ? { name, version: '4.17.0', dir: '/nowhere' } : undefined) };
    const r = await initEngine({}, env);
    expect(r.engine).toBe('wasm-ort');
    expect(r.reason).toContain('@tensorflow/tfjs-node 4.17.0 does not match @tensorflow/tfjs-core 4.22.0');
  });

  it('a GPU package without a visible GPU is skipped by auto', async () => {
    const env: EngineEnvironment = { ...defaultEnvironment, resolvePackage: (name) => (name === '@tensorflow/tfjs-node-gpu' ? { name, version: tf.version_core, dir: '/nowhere' } : undefined), gpuVisible: () => false };
    const r = await initEngine({}, env);
    expect(r.reason).toContain('@tensorflow/tfjs-node-gpu 4.22.0 installed, but no NVIDIA GPU is visible');
  });
});

describe('cvw env', () => {
  const capture = (argv: string[]) => cvw(...argv);

  it('prints the report, and JSON with --json', async () => {
    const text = await capture(['env']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^wasm-ort on CPU/);
    expect(text.out).toMatch(/\* wasm-ort {7}onnxruntime-node 1\.30\.0/);
    // env itself is not relaunched: it says the allocator's state in its own process.
    expect(text.out).toMatch(/\nmalloc: {6}(glibc defaults in this process; cvw train, benchmark, eval, predict, extract, retrieve run under GLIBC_TUNABLES=|glibc, freed tensor memory kept|not glibc)/);
    // The test set-up builds the oneDNN addon where oneDNN is installed (test/globalSetup.ts).
    const onednn = onednnAvailability();
    expect(text.out).toContain(`\noneDNN:      ${onednn.available ? '+' : '-'} ${onednn.note}\n`);
    if (onednn.installed) expect(text.out).toMatch(/\noneDNN: {6}\+ oneDNN 2\.\d+\.\d+ \(\w+\) runs wasm-ort's convolutions\n/);
    const json = await capture(['env', '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ engine: 'wasm-ort', backend: 'wasm', threads: expect.any(Number), malloc: expect.any(String), onednn: { available: onednn.available, installed: onednn.installed } });
  });

  it('explains how to get an engine that is missing (exit 1)', async () => {
    const r = await capture(['env', '--backend', 'tensorflow']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cvw env: engine\.backend: tensorflow needs @tensorflow\/tfjs-node .*npm install --save-exact @tensorflow\/tfjs-node@4\.22\.0/);
  });
});
