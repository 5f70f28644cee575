/**
 * `CvwSgdStep` and `CvwAdamWStep` for the wasm backend: an optimizer's update of one parameter in
 * one SIMD sweep (simd/optimizers.wat) where the composed update (ops/optimizerSteps.ts) takes
 * eight (SGD with momentum and weight decay) to fourteen (AdamW) full-size kernels. The last n mod 4
 * elements, and every element where the SIMD module cannot run, take the same operations in
 * JavaScript, each result rounded to float32.
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ADAMW_STEP, SGD_STEP, type AdamWStep, type SgdStep } from '../ops/optimizerSteps';
import { OPTIMIZERS_WASM } from '../simd/optimizersBinary';
import { heapOffset, onBackendMemory } from '../simd/module';

interface OptimizerPasses {
  sgd_step(w: number, grad: number, buf: number, n: number, lr: number, wd: number, mom: number, flags: number, wOut: number, bufOut: number): void;
  adamw_step(w: number, grad: number, m: number, v: number, n: number, b1: number, omb1: number, b2: number, omb2: number, sqrtc2: number, eps: number, decay: number, stepSize: number, flags: number, wOut: number, mOut: number, vOut: number): void;
}

const f = Math.fround;

function checkInputs(kernel: string, inputs: Record<string, TensorInfo | undefined>, n: number): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (!t) continue;
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
    if (util.sizeFromShape(t.shape) !== n) throw new Error(`${kernel}: ${name} [${t.shape}] differs in size from w`);
  }
}

function sgdStepWasm(args: { inputs: { w: TensorInfo; grad: TensorInfo; buf?: TensorInfo }; backend: BackendWasm; attrs: SgdStep }): TensorInfo[] {
  const { inputs, backend, attrs: s } = args;
  const { w, grad, buf } = inputs;
  const n = util.sizeFromShape(w.shape);
  checkInputs(SGD_STEP, { w, grad, buf }, n);
  const momentum = s.momentum > 0;
  if (momentum && !buf && !s.fresh) throw new Error(`${SGD_STEP}: momentum needs the buffer after the first step`);
  const wOut = backend.makeOutput(w.shape, 'float32');
  const bufOut = momentum ? backend.makeOutput(w.shape, 'float32') : undefined;
  const useWd = s.weightDecay > 0;
  const fresh = s.fresh || !buf;
  const flags = (useWd ? 1 : 0) | (momentum ? 2 : 0) | (fresh ? 4 : 0) | (s.nesterov ? 8 : 0);
  const passes = onBackendMemory<OptimizerPasses>(backend, OPTIMIZERS_WASM);
  const simd = passes ? n & ~3 : 0;
  if (passes && simd > 0) {
    const at = (t: TensorInfo | undefined) => (t ? heapOffset(backend, t) : 0);
    passes.sgd_step(at(w), at(grad), at(buf), simd, s.lr, s.weightDecay, s.momentum, flags, at(wOut), at(bufOut));
  }
  const [wv, gv, bv] = [w, grad, buf].map((t) => (t ? (backend.typedArrayFromHeap(t) as Float32Array) : undefined));
  const [wo, bo] = [wOut, bufOut].map((t) => (t ? (backend.typedArrayFromHeap(t) as Float32Array) : undefined));
  const [lr, wd, mom] = [f(s.lr), f(s.weightDecay), f(s.momentum)];
  for (let i = simd; i < n; i++) {
    let g = gv![i];
    if (useWd) g = f(g + f(wv![i] * wd));
    if (momentum) {
      const next = fresh ? g : f(f(bv![i] * mom) + g);
      bo![i] = next;
      g = s.nesterov ? f(g + f(next * mom)) : next;
    }
    wo![i] = f(wv![i] - f(g * lr));
  }
  return bufOut ? [wOut, bufOut] : [wOut];
}

function adamwStepWasm(args: { inputs: { w: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo }; backend: BackendWasm; attrs: AdamWStep }): TensorInfo[] {
  const { inputs, backend, attrs: s } = args;
  const { w, grad, m, v } = inputs;
  const n = util.sizeFromShape(w.shape);
  checkInputs(ADAMW_STEP, inputs, n);
  const outs = [0, 1, 2].map(() => backend.makeOutput(w.shape, 'float32'));
  // The scalars as the composed update's float32 scalar tensors hold them.
  const [b1, omb1, b2, omb2] = [s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2].map(f);
  const [sqrtc2, eps, decay, stepSize] = [Math.sqrt(s.correction2), s.eps, 1 - s.lr * s.weightDecay, s.lr / s.correction1].map(f);
  const useWd = s.weightDecay > 0;
  const passes = onBackendMemory<OptimizerPasses>(backend, OPTIMIZERS_WASM);
  const simd = passes ? n & ~3 : 0;
  if (passes && simd > 0) {
    const [wAt, gAt, mAt, vAt, wOutAt, mOutAt, vOutAt] = [w, grad, m, v, ...outs].map((t) => heapOffset(backend, t));
    passes.adamw_step(wAt, gAt, mAt, vAt, simd, b1, omb1, b2, omb2, sqrtc2, eps, decay, stepSize, useWd ? 1 : 0, wOutAt, mOutAt, vOutAt);
  }
  const [wv, gv, mv, vv, wo, mo, vo] = [w, grad, m, v, ...outs].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  for (let i = simd; i < n; i++) {
    const g = gv[i];
    const mn = f(f(mv[i] * b1) + f(g * omb1));
    const vn = f(f(vv[i] * b2) + f(f(g * g) * omb2));
    mo[i] = mn;
    vo[i] = vn;
    const decayed = useWd ? f(wv[i] * decay) : wv[i];
    wo[i] = f(decayed - f(f(mn / f(f(f(Math.sqrt(vn)) / sqrtc2) + eps)) * stepSize));
  }
  return outs;
}

export const sgdStepConfig: KernelConfig = {
  kernelName: SGD_STEP,
  backendName: 'wasm',
  kernelFunc: sgdStepWasm as unknown as KernelFunc,
};

export const adamwStepConfig: KernelConfig = {
  kernelName: ADAMW_STEP,
  backendName: 'wasm',
  kernelFunc: adamwStepWasm as unknown as KernelFunc,
};
