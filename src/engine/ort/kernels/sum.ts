/**
 * Sum on onnxruntime (ReduceSum) for large float32 tensors. The wasm backend reduces only over
 * the innermost axes: any other reduction transposes the whole tensor first, single-threaded.
 * Every Linear layer's bias gradient is such a sum (over the rows of dy), 67 of them in a ViT-S
 * step; onnxruntime reduces over any axes in place, on every core.
 */
import { Sum, backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { OnnxType } from '../onnxModel';
import { tryOrtOp } from '../session';
import { runOrtOutputs, shapeKey, withFallback } from './common';

/** Below this many elements the wasm kernel is as fast as a session call. */
const MIN_ELEMENTS = 1 << 14;

export const sumOrtConfig = withFallback(Sum, ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) < MIN_ELEMENTS) return undefined;
  const axes = util.parseAxisParam(axis, x.shape);
  // ReduceSum with no axes sums everything; tfjs' sum over none is the identity.
  if (axes.length === 0) return undefined;
  const [kept] = backend_util.computeOutAndReduceShapes(x.shape, axes);
  const graphShape = backend_util.expandShapeToKeepDim(kept, axes);
  const outShape = keepDims ? graphShape : kept;
  const key = `Sum:${shapeKey(x.shape)}:${axes.join(',')}`;
  const op = tryOrtOp(key, () => ({
    name: 'sum',
    nodes: [{ op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['y'], attrs: { keepdims: 1 } }],
    initializers: [{ name: 'axes', type: OnnxType.INT64, dims: [axes.length], values: axes }],
    inputs: [{ name: 'x', type: OnnxType.FLOAT, shape: x.shape }],
    outputs: [{ name: 'y', type: OnnxType.FLOAT, shape: graphShape }],
  }));
  // The graph keeps the reduced axes (size 1): the same memory as outShape, told to ORT as graphShape.
  return op && runOrtOutputs(backend, key, op, { x }, { y: outShape }, { y: graphShape })?.[0];
});

export const ORT_SUM_KERNELS = [sumOrtConfig];
