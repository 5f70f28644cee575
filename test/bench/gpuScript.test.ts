/**
 * bench/gpu/run.sh, the device script of issue 17, end to end with --tiny on this machine's adapter
 * (Mesa's llvmpipe in CI): a session lent a GPU gets minutes of it, so the script must already work
 * when one comes. Each of its four steps leaves a file in $OUT; this checks what they say, not
 * the speeds (a software adapter's are meaningless). Skipped without a WebGPU adapter.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onednnAvailability } from '../../src/engine/onednn';
import { probeWebgpu } from '../../src/engine/webgpu';
import { tempFiles } from '../helpers/tmp';

const root = path.resolve(__dirname, '../..');
const t = tempFiles({});
afterAll(() => t.cleanup());

let run: { code: number | null; out: string; err: string } | undefined;

function lines(file: string): Record<string, unknown>[] {
  return fs.readFileSync(path.join(t.dir, file), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  const probe = await probeWebgpu();
  if (!probe.available) {
    console.warn(`bench/gpu/run.sh test skipped: ${probe.note}`);
    return;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const r = spawnSync('bash', ['bench/gpu/run.sh', '--tiny'], { cwd: root, encoding: 'utf8', env: { ...process.env, OUT: t.dir }, timeout: 240_000 });
  run = { code: r.status, out: r.stdout, err: r.stderr };
}, 300_000);

describe('bench/gpu/run.sh --tiny', () => {
  it('runs every step and exits 0', (ctx) => {
    if (!run) return ctx.skip();
    expect(run.code, `${run.out.slice(-1500)}\n${run.err.slice(-1500)}`).toBe(0);
    for (const step of ['1. cvw env', '2. gradient grid on the adapter: 28 fuzz cases', '3. ResNet-18', '4. ResNet-18 32x32 inference', 'summary']) expect(run.out).toContain(`== ${step}`);
    // The device machine returns at most 8 files from $OUT.
    expect(fs.readdirSync(t.dir).sort()).toEqual(['env.txt', 'grid.txt', 'infer.jsonl', 'stderr.log', 'train.jsonl']);
  });

  it('names the adapter, and finds the gradient grid equal to the cpu backend on it', (ctx) => {
    if (!run) return ctx.skip();
    expect(fs.readFileSync(path.join(t.dir, 'env.txt'), 'utf8')).toMatch(/^ {2}\* webgpu .*: \S+.*\(/m);
    expect(fs.readFileSync(path.join(t.dir, 'grid.txt'), 'utf8')).toMatch(/^webgpu: 28 cases, 0 mismatches/m);
  });

  it('trains both engines at both batches, leaks no tensor, and says which convolutions the CPU baseline ran', (ctx) => {
    if (!run) return ctx.skip();
    const rows = lines('train.jsonl');
    expect(rows.map((r) => `${r.engine} ${r.batch}`)).toEqual(['webgpu 2', 'wasm-ort 2', 'webgpu 4', 'wasm-ort 4']);
    for (const r of rows) {
      expect(r).toMatchObject({ finiteLoss: true, tensorsLeft: 0, steps: 2, size: 16, baseWidth: 4 });
      expect(r.samplesPerS).toBeGreaterThan(0);
    }
    const onednn = onednnAvailability();
    for (const r of rows.filter((row) => row.engine === 'wasm-ort')) {
      expect(r.convolutions).toBe(onednn.available ? `oneDNN ${onednn.version} (${onednn.isa})` : 'onnxruntime MLAS');
    }
    expect(run.out).toMatch(/^training batch 4: webgpu [\d.]+ samples\/s, wasm-ort [\d.]+ samples\/s \(\d+ threads, convolutions on .+\), [\d.]+x$/m);
  });

  it('measures inference on onnxruntime\'s CPU provider, and its WebGPU provider or why not', (ctx) => {
    if (!run) return ctx.skip();
    const [cpu, gpu] = lines('infer.jsonl');
    expect(cpu).toMatchObject({ provider: 'cpu', batch: 2, size: 32 });
    expect(cpu.imagesPerS).toBeGreaterThan(0);
    expect(gpu.provider).toBe('webgpu');
    expect(gpu.imagesPerS ?? gpu.error).toBeTruthy();
  });
});
