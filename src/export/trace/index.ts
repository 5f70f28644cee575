/** Tracing a model function into a TraceGraph, with a dynamic batch when the model allows it. */
import * as tf from '@tensorflow/tfjs-core';
import { traceOnce, type RawTrace } from './tracer';
import { fixedGraph, mergeTraces, TraceMismatch, TRACE_BATCHES } from './symbolic';
import { optimizeTrace } from './optimize';
import { fuseAffine } from './fuse';
import type { TraceGraph } from './types';

export type { TraceGraph, TNode, TRef, TValue, TConst, TDtype, Dim, BatchExpr } from './types';
export { isBatchExpr, evalDim, dimToString } from './types';
export { graphIndex } from './optimize';

export interface TraceOptions {
  /** `[height, width, channels]` of one input image (NHWC, as the model takes it). */
  imageShape: [number, number, number];
  /** 'dynamic' (the default) traces at two batch sizes; a number fixes the batch. */
  batch?: 'dynamic' | number;
  /** Height and width of the graph's input may vary (in-graph pre-processing resizes first). */
  dynamicSpatial?: boolean;
  /** Fold scale/shift/activation tails into convolutions and matrix products (default true). */
  fuse?: boolean;
}

export interface TraceResult {
  graph: TraceGraph;
  /** Why the batch is fixed when a dynamic one was asked for. */
  fixedBatchReason?: string;
}

function traceAt(fn: (x: tf.Tensor) => Record<string, tf.Tensor>, n: number, shape: [number, number, number]): RawTrace {
  // Values do not matter (the graph cannot branch on them), but zeros could hide a bad trace.
  const x = tf.randomUniform([n, ...shape], 0, 1, 'float32', 7);
  let trace: RawTrace | undefined;
  try {
    tf.tidy(() => {
      trace = traceOnce(fn, x);
    });
  } finally {
    x.dispose();
  }
  return trace!;
}

/**
 * Trace `fn` (images NHWC in, named tensors out) into a graph. With a dynamic batch the forward
 * pass runs at batch 2 and 3; a model whose kernels differ between the two falls back to a fixed
 * batch of 1, and the reason is returned.
 */
export function traceModel(fn: (x: tf.Tensor) => Record<string, tf.Tensor>, options: TraceOptions): TraceResult {
  const batch = options.batch ?? 'dynamic';
  const dynamicSpatial = options.dynamicSpatial ?? false;
  const finish = (g: TraceGraph) => {
    const clean = optimizeTrace(g);
    return options.fuse === false ? clean : optimizeTrace(fuseAffine(clean));
  };
  if (batch !== 'dynamic') return { graph: finish(fixedGraph(traceAt(fn, batch, options.imageShape), dynamicSpatial)) };
  const t2 = traceAt(fn, TRACE_BATCHES[0], options.imageShape);
  const t3 = traceAt(fn, TRACE_BATCHES[1], options.imageShape);
  try {
    return { graph: finish(mergeTraces(t2, t3, dynamicSpatial)) };
  } catch (err) {
    if (!(err instanceof TraceMismatch)) throw err;
    return { graph: finish(fixedGraph(traceAt(fn, 1, options.imageShape), dynamicSpatial)), fixedBatchReason: err.message };
  }
}
