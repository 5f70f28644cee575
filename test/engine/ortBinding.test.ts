/**
 * Pins the onnxruntime-node internals the wasm-ort engine relies on (src/engine/ort/session.ts),
 * so that an upgrade that changes them fails here, loudly, instead of corrupting tensors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { encodeModel, OnnxType, type OnnxGraph } from '../../src/engine/ort/onnxModel';
import { clearOrtSessions, f32, MAX_ORT_SESSIONS, OrtOp, ortOp, ortRejections, ortSessionStats, ortVersion, PINNED_ORT_VERSION, setOrtThreads, tryOrtOp } from '../../src/engine/ort/session';
import { checkOrt } from '../../src/engine/ort/selfTest';
import { conv2dFilterGradGraph, conv2dFilterGradTapsGraph, conv2dGraph, conv2dInputGradAsConvGraph, conv2dInputGradGraph, pointwiseConvGraph, pointwiseInputGradGraph } from '../../src/engine/ort/convGraphs';

const ROOT = path.join(__dirname, '..', '..');

function addGraph(n: number): OnnxGraph {
  return {
    name: 'add',
    nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
    inputs: [
      { name: 'a', type: OnnxType.FLOAT, shape: [n] },
      { name: 'b', type: OnnxType.FLOAT, shape: [n] },
    ],
    outputs: [{ name: 'y', type: OnnxType.FLOAT, shape: [n] }],
  };
}

describe('onnxruntime-node, pinned', () => {
  it(`is version ${PINNED_ORT_VERSION}, pinned exactly in package.json`, () => {
    expect(ortVersion()).toBe(PINNED_ORT_VERSION);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.dependencies['onnxruntime-node']).toBe(PINNED_ORT_VERSION);
  });

  it('its JavaScript run is the native synchronous run deferred by setImmediate', () => {
    // What makes calling the binding directly equivalent to the public API, minus the Promise.
    const src = fs.readFileSync(require.resolve('onnxruntime-node/dist/backend.js'), 'utf8');
    expect(src).toMatch(/setImmediate\(\(\) => \{\s*try \{\s*resolve\(__classPrivateFieldGet\(this, _OnnxruntimeSessionHandler_inferenceSession, "f"\)\.run\(feeds, fetches, options\)\)/);
  });

  it('passes the engine start-up self-test (synchronous, in-place, inside a WebAssembly memory)', () => {
    expect(checkOrt()).toEqual({ ok: true, version: PINNED_ORT_VERSION });
  });

  it('reads inputs and writes preallocated outputs in place, honouring byte offsets, touching nothing else', () => {
    const op = new OrtOp(addGraph(3));
    const heap = new Float32Array(16).fill(-1);
    heap.set([1, 2, 3], 1);
    heap.set([10, 20, 30], 5);
    const result = op.run({ a: f32(heap.subarray(1, 4), [3]), b: f32(heap.subarray(5, 8), [3]) }, { y: f32(heap.subarray(9, 12), [3]) });
    expect(result).not.toBeInstanceOf(Promise);
    expect(Array.from(heap)).toEqual([-1, 1, 2, 3, -1, 10, 20, 30, -1, 11, 22, 33, -1, -1, -1, -1]);
    // Inputs are not copied at session level: new values in the same memory give new results.
    heap[1] = 100;
    op.run({ a: f32(heap.subarray(1, 4), [3]), b: f32(heap.subarray(5, 8), [3]) }, { y: f32(heap.subarray(9, 12), [3]) });
    expect(heap[9]).toBe(110);
    op.dispose();
  });

  it('refuses an output whose shape disagrees with the graph instead of writing past it', () => {
    const op = new OrtOp(addGraph(3));
    const a = new Float32Array([1, 2, 3]);
    expect(() => op.run({ a: f32(a, [3]), b: f32(a, [3]) }, { y: f32(new Float32Array(4), [4]) })).toThrow();
    op.dispose();
  });

  it('caches one session per key, and remembers graphs it refused', () => {
    const first = ortOp('test:add3', () => addGraph(3));
    expect(ortOp('test:add3', () => addGraph(3))).toBe(first);
    const bad: OnnxGraph = { ...addGraph(3), nodes: [{ op: 'NoSuchOp', inputs: ['a', 'b'], outputs: ['y'] }] };
    expect(tryOrtOp('test:bad', () => bad)).toBeUndefined();
    expect(ortRejections().get('test:bad')).toMatch(/NoSuchOp/);
  });

  it('writes models the ONNX checker accepts (full check, with shape inference)', () => {
    const info = tf.backend_util.computeConv2DInfo([2, 8, 8, 3], [3, 3, 3, 4], 2, 1, 'same');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-onnx-'));
    try {
      const pointwise = tf.backend_util.computeConv2DInfo([2, 7, 7, 3], [1, 1, 3, 4], 2, 1, 'valid');
      const stride1 = tf.backend_util.computeConv2DInfo([2, 8, 8, 3], [3, 3, 3, 4], 1, 1, 'same');
      const graphs: OnnxGraph[] = [
        addGraph(2),
        conv2dGraph(info, [0, 0, 1, 1], true, true),
        conv2dFilterGradTapsGraph(info)!,
        conv2dFilterGradGraph(info)!,
        conv2dInputGradGraph(info, [0, 0, 1, 1], [0, 0]),
        conv2dInputGradAsConvGraph(stride1)!,
        pointwiseConvGraph(pointwise),
        pointwiseInputGradGraph(pointwise),
      ];
      const files = graphs.map((g, i) => {
        const file = path.join(dir, `${i}.onnx`);
        fs.writeFileSync(file, encodeModel(g));
        return file;
      });
      const script = 'import onnx, sys\nfor f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)\nprint("ok")';
      const r = spawnSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('ok');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the session cache', () => {
  it('keeps the most recently used sessions and disposes the oldest beyond its bound', () => {
    setOrtThreads(1); // no thread pool per session for these 513 sessions
    clearOrtSessions();
    const first = ortOp('lru:0', () => addGraph(1));
    for (let i = 1; i < MAX_ORT_SESSIONS; i++) ortOp(`lru:${i}`, () => addGraph(1));
    expect(ortOp('lru:0', () => addGraph(1))).toBe(first); // used again: now the most recent
    ortOp('lru:new', () => addGraph(1)); // one too many: lru:1 goes
    expect(ortSessionStats().cached).toBe(MAX_ORT_SESSIONS);
    let rebuilt = false;
    ortOp('lru:1', () => ((rebuilt = true), addGraph(1)));
    expect(rebuilt).toBe(true);
    expect(ortOp('lru:0', () => addGraph(1))).toBe(first);
    setOrtThreads(0);
    clearOrtSessions();
  });
});
