/**
 * UnsortedSegmentSum for the wasm backend (which has none): the gradient of Gather (embedding
 * lookups, class-token selection). One pass over the rows in JavaScript, straight on the wasm
 * heap; the cpu backend builds one mask per segment instead (numSegments full passes).
 *
 * Semantics of TensorFlow's unsorted_segment_sum: ids of shape S, a prefix of x's shape; the
 * result has shape [numSegments, ...x.shape after S]; rows whose id is outside
 * [0, numSegments) are dropped.
 */
import { UnsortedSegmentSum, util, type KernelConfig, type KernelFunc, type TensorInfo, type UnsortedSegmentSumAttrs } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function unsortedSegmentSumWasm(args: { inputs: { x: TensorInfo; segmentIds: TensorInfo }; backend: BackendWasm; attrs: UnsortedSegmentSumAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, segmentIds } = inputs;
  const { numSegments } = attrs;
  const idsRank = segmentIds.shape.length;
  if (!util.arraysEqual(segmentIds.shape, x.shape.slice(0, idsRank))) {
    throw new Error(`unsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x's shape [${x.shape}]`);
  }
  const innerShape = x.shape.slice(idsRank);
  const inner = util.sizeFromShape(innerShape);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const result = backend.typedArrayFromHeap(out);
  result.fill(0);
  const values = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let row = 0; row < ids.length; row++) {
    const id = ids[row];
    if (id < 0 || id >= numSegments) continue;
    const src = row * inner;
    const dst = id * inner;
    for (let j = 0; j < inner; j++) result[dst + j] += values[src + j];
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSumWasm as unknown as KernelFunc,
};
