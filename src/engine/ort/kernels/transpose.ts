/**
 * Transpose of the wasm-ort engine on onnxruntime. The wasm backend's own kernel moves one element
 * at a time through a generic index loop: attention's rank-5 [b, n, 3, heads, d] → [3, b, heads,
 * n, d] ran at about 0.1 GB/s, a third of a ViT training step (BENCHMARKS.md); onnxruntime's copies
 * whole contiguous runs. Small tensors stay on the wasm kernel, where a session call costs more
 * than the copy.
 */
import { Transpose, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { OnnxType } from '../onnxModel';
import { tryOrtOp } from '../session';
import { runOrt, shapeKey, withFallback } from './common';

/** Below this many elements the wasm kernel is as fast as a session call. */
const MIN_ELEMENTS = 1 << 14;

export const transposeOrtConfig = withFallback(Transpose, ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const perm = (attrs as unknown as { perm: number[] }).perm;
  if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) < MIN_ELEMENTS) return undefined;
  const outShape = perm.map((p) => x.shape[p]);
  const key = `Transpose:${shapeKey(x.shape)}:${perm.join(',')}`;
  const op = tryOrtOp(key, () => ({
    name: 'transpose',
    nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attrs: { perm } }],
    inputs: [{ name: 'x', type: OnnxType.FLOAT, shape: x.shape }],
    outputs: [{ name: 'y', type: OnnxType.FLOAT, shape: outShape }],
  }));
  return op && runOrt(backend, key, op, outShape, { x }, 'y');
});

export const ORT_TRANSPOSE_KERNELS = [transposeOrtConfig];
