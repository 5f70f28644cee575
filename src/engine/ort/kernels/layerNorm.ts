/**
 * The kernels behind `layerNormTrain` (ops/layerNorm.ts) on wasm-ort, each one onnxruntime graph
 * over the input viewed as [rows, D]: the forward pass is ONNX's LayerNormalization (opset 17),
 * which also returns the per-row mean and σ⁻¹ the gradient needs; the gradient is the closed form
 * of ops/layerNorm.ts (x̂ recomputed from x, two row means, two column sums). The wasm backend ran
 * these as a dozen single-threaded passes; onnxruntime's are vectorised and use every core. Rows
 * and D are symbolic: one session per ε serves every shape.
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { LAYER_NORM_TRAIN, LAYER_NORM_TRAIN_GRAD } from '../../ops/layerNorm';
import { OnnxType, type OnnxGraph } from '../onnxModel';
import { runFused } from './common';

const F = OnnxType.FLOAT;
const rowsByD = (name: string) => ({ name, type: F, shape: ['rows', 'd'] });
const perRow = (name: string) => ({ name, type: F, shape: ['rows', 1] });
const perFeature = (name: string) => ({ name, type: F, shape: ['d'] });

const forwardGraph = (epsilon: number) => (): OnnxGraph => ({
  name: 'layer_norm_train',
  nodes: [{ op: 'LayerNormalization', inputs: ['x', 'gamma', 'beta'], outputs: ['y', 'mean', 'inv'], attrs: { axis: -1, epsilon: { float: epsilon } } }],
  inputs: [rowsByD('x'), perFeature('gamma'), perFeature('beta')],
  outputs: [rowsByD('y'), perRow('mean'), perRow('inv')],
});

const gradientGraph = (): OnnxGraph => ({
  name: 'layer_norm_train_grad',
  nodes: [
    { op: 'Sub', inputs: ['x', 'mean'], outputs: ['xc'] },
    { op: 'Mul', inputs: ['xc', 'inv'], outputs: ['xhat'] },
    { op: 'Mul', inputs: ['dy', 'gamma'], outputs: ['g'] },
    { op: 'ReduceMean', inputs: ['g'], outputs: ['g_mean'], attrs: { axes: [1], keepdims: 1 } },
    { op: 'Mul', inputs: ['g', 'xhat'], outputs: ['g_xhat'] },
    { op: 'ReduceMean', inputs: ['g_xhat'], outputs: ['g_xhat_mean'], attrs: { axes: [1], keepdims: 1 } },
    { op: 'Sub', inputs: ['g', 'g_mean'], outputs: ['t1'] },
    { op: 'Mul', inputs: ['xhat', 'g_xhat_mean'], outputs: ['t2'] },
    { op: 'Sub', inputs: ['t1', 't2'], outputs: ['t3'] },
    { op: 'Mul', inputs: ['t3', 'inv'], outputs: ['dx'] },
    { op: 'Mul', inputs: ['dy', 'xhat'], outputs: ['dy_xhat'] },
    { op: 'ReduceSum', inputs: ['dy_xhat', 'rows_axis'], outputs: ['dgamma'], attrs: { keepdims: 0 } },
    { op: 'ReduceSum', inputs: ['dy', 'rows_axis'], outputs: ['dbeta'], attrs: { keepdims: 0 } },
  ],
  initializers: [{ name: 'rows_axis', type: OnnxType.INT64, dims: [1], values: [0] }],
  inputs: [rowsByD('dy'), rowsByD('x'), perRow('mean'), perRow('inv'), perFeature('gamma')],
  outputs: [rowsByD('dx'), perFeature('dgamma'), perFeature('dbeta')],
});

type Args = { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: { epsilon: number } };

/** x's shape with its last axis replaced by 1 (the statistics), and x viewed as [rows, D]. */
function views(x: TensorInfo) {
  const d = x.shape[x.shape.length - 1];
  const rows = util.sizeFromShape(x.shape) / d;
  return { stats: [...x.shape.slice(0, -1), 1], matrix: [rows, d], column: [rows, 1] };
}

const layerNormTrainOrt: KernelConfig = {
  kernelName: LAYER_NORM_TRAIN,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend, attrs }: Args) => {
    const { x, gamma, beta } = inputs;
    const v = views(x);
    return runFused(LAYER_NORM_TRAIN, backend, `LayerNormTrain:${attrs.epsilon}`, forwardGraph(attrs.epsilon), { x, gamma, beta }, { y: x.shape, mean: v.stats, inv: v.stats }, {
      x: v.matrix,
      y: v.matrix,
      mean: v.column,
      inv: v.column,
    });
  }) as unknown as KernelFunc,
};

const layerNormTrainGradOrt: KernelConfig = {
  kernelName: LAYER_NORM_TRAIN_GRAD,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }: Args) => {
    const { dy, x, mean, inv, gamma } = inputs;
    const v = views(x);
    return runFused(LAYER_NORM_TRAIN_GRAD, backend, 'LayerNormTrainGrad', gradientGraph, { dy, x, mean, inv, gamma }, { dx: x.shape, dgamma: gamma.shape, dbeta: gamma.shape }, {
      dy: v.matrix,
      x: v.matrix,
      dx: v.matrix,
      mean: v.column,
      inv: v.column,
    });
  }) as unknown as KernelFunc,
};

export const ORT_LAYER_NORM_KERNELS = [layerNormTrainOrt, layerNormTrainGradOrt];
