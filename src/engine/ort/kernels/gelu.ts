/**
 * The kernels behind `geluTrain` (ops/gelu.ts) on wasm-ort: the forward pass as onnxruntime's Gelu
 * (ONNX opset 20) and the gradient dy·(Φ(x) + x·φ(x)) as one graph. The wasm backend composes them
 * from single-threaded scalar passes (its Erf alone about half the forward); onnxruntime's Erf and
 * Exp are vectorised MLAS routines on every core (the ViT-S step: BENCHMARKS.md, issue 24). The graphs are element-wise, so one session of
 * each, over a flat symbolic length, serves every shape.
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { GELU, GELU_GRAD } from '../../ops/gelu';
import { OnnxType, type ConstTensor, type OnnxGraph } from '../onnxModel';
import { runFused } from './common';

const F = OnnxType.FLOAT;
const flat = (name: string) => ({ name, type: F, shape: ['n'] });
const scalar = (name: string, v: number): ConstTensor => ({ name, type: F, dims: [], values: [v] });

const forwardGraph = (): OnnxGraph => ({
  name: 'gelu',
  opset: 20,
  nodes: [{ op: 'Gelu', inputs: ['x'], outputs: ['y'] }],
  inputs: [flat('x')],
  outputs: [flat('y')],
});

const gradientGraph = (): OnnxGraph => ({
  name: 'gelu_grad',
  nodes: [
    // Φ(x) = (1 + erf(x/√2))/2
    { op: 'Mul', inputs: ['x', 'inv_sqrt2'], outputs: ['xs'] },
    { op: 'Erf', inputs: ['xs'], outputs: ['erf'] },
    { op: 'Add', inputs: ['erf', 'one'], outputs: ['erf1'] },
    { op: 'Mul', inputs: ['erf1', 'half'], outputs: ['cdf'] },
    // x·φ(x) = x·exp(−x²/2)/√(2π)
    { op: 'Mul', inputs: ['x', 'x'], outputs: ['x2'] },
    { op: 'Mul', inputs: ['x2', 'minus_half'], outputs: ['e'] },
    { op: 'Exp', inputs: ['e'], outputs: ['exp'] },
    { op: 'Mul', inputs: ['exp', 'inv_sqrt_2pi'], outputs: ['pdf'] },
    { op: 'Mul', inputs: ['x', 'pdf'], outputs: ['xpdf'] },
    { op: 'Add', inputs: ['cdf', 'xpdf'], outputs: ['slope'] },
    { op: 'Mul', inputs: ['dy', 'slope'], outputs: ['dx'] },
  ],
  initializers: [scalar('inv_sqrt2', Math.SQRT1_2), scalar('one', 1), scalar('half', 0.5), scalar('minus_half', -0.5), scalar('inv_sqrt_2pi', 1 / Math.sqrt(2 * Math.PI))],
  inputs: [flat('x'), flat('dy')],
  outputs: [flat('dx')],
});

type Args = { inputs: Record<string, TensorInfo>; backend: BackendWasm };

const geluOrt: KernelConfig = {
  kernelName: GELU,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }: Args) => {
    const { x } = inputs;
    const n = [util.sizeFromShape(x.shape)];
    return runFused(GELU, backend, 'Gelu', forwardGraph, { x }, { y: x.shape }, { x: n, y: n })[0];
  }) as unknown as KernelFunc,
};

const geluGradOrt: KernelConfig = {
  kernelName: GELU_GRAD,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }: Args) => {
    const { x, dy } = inputs;
    const n = [util.sizeFromShape(x.shape)];
    return runFused(GELU_GRAD, backend, 'GeluGrad', gradientGraph, { x, dy }, { dx: x.shape }, { x: n, dy: n, dx: n })[0];
  }) as unknown as KernelFunc,
};

export const ORT_GELU_KERNELS = [geluOrt, geluGradOrt];
