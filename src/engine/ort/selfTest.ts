/**
 * A start-up check of the onnxruntime-node behaviour the wasm-ort kernels rely on (session.ts):
 * the native `run` is synchronous, reads inputs in place and writes preallocated outputs in place,
 * also when both live inside a WebAssembly memory. Cheap (one tiny session, ~2 ms), so `auto`
 * never picks wasm-ort on an onnxruntime-node that changed underneath it.
 */
import { OnnxType } from './onnxModel';
import { f32, OrtOp, ortVersion, PINNED_ORT_VERSION } from './session';

export interface OrtCheck {
  ok: boolean;
  version?: string;
  /** What failed, for the engine report. */
  problem?: string;
}

let cached: OrtCheck | undefined;

export function checkOrt(): OrtCheck {
  if (cached) return cached;
  cached = runCheck();
  return cached;
}

function runCheck(): OrtCheck {
  const version = ortVersion();
  if (!version) return { ok: false, problem: 'onnxruntime-node not installed' };
  if (version !== PINNED_ORT_VERSION) return { ok: false, version, problem: `onnxruntime-node ${version} installed; the wasm-ort kernels are verified against ${PINNED_ORT_VERSION} only` };
  try {
    const op = new OrtOp({
      name: 'self_test',
      nodes: [{ op: 'Mul', inputs: ['a', 'b'], outputs: ['y'] }],
      inputs: [
        { name: 'a', type: OnnxType.FLOAT, shape: [4] },
        { name: 'b', type: OnnxType.FLOAT, shape: [4] },
      ],
      outputs: [{ name: 'y', type: OnnxType.FLOAT, shape: [4] }],
    });
    // Inputs and output are views into one WebAssembly memory, like wasm backend tensors.
    const memory = new WebAssembly.Memory({ initial: 1 });
    const heap = new Float32Array(memory.buffer);
    heap.set([1, 2, 3, 4], 4);
    heap.set([10, 20, 30, 40], 8);
    const returned = op.run({ a: f32(heap.subarray(4, 8), [4]), b: f32(heap.subarray(8, 12), [4]) }, { y: f32(heap.subarray(12, 16), [4]) });
    op.dispose();
    const got = Array.from(heap.subarray(12, 16));
    if (returned instanceof Promise) return { ok: false, version, problem: 'the native run returned a Promise (no longer synchronous)' };
    if (got.join() !== '10,40,90,160') return { ok: false, version, problem: `a preallocated output was not written in place (got ${got.join()})` };
    return { ok: true, version };
  } catch (err) {
    return { ok: false, version, problem: `onnxruntime-node failed its self-test: ${(err as Error).message}` };
  }
}
