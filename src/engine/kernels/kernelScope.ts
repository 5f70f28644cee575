/**
 * Composing a kernel from other kernels of the same backend.
 *
 * Inside a kernel function the engine's tensor bookkeeping is not available (creating tensors there
 * would land on the gradient tape), so composed kernels call the other kernels' functions directly
 * on TensorInfos and free every intermediate themselves. A `KernelScope` records what it created
 * and frees all of it, whatever happens, except the result handed back.
 */
import { getKernel, util, type DataType, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export class KernelScope {
  private readonly temps: TensorInfo[] = [];

  constructor(
    readonly backend: BackendWasm,
    readonly backendName = 'wasm',
  ) {}

  /** Run a registered kernel of this backend; its output is freed when the scope ends. */
  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(kernelName, this.backendName);
    if (!config) throw new Error(`kernel ${kernelName} is not registered for backend ${this.backendName}`);
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) throw new Error(`kernel ${kernelName} returned several outputs; use runMany`);
    this.temps.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    if (util.arraysEqual(x.shape, shape)) return x;
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    if (perm.every((p, i) => p === i)) return x;
    return this.run('Transpose', { x }, { perm });
  }

  /** Zero padding; `paddings[i] = [before, after]`, all non-negative. */
  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    if (begin.every((b) => b === 0) && util.arraysEqual(size, x.shape)) return x;
    return this.run('Slice', { x }, { begin, size });
  }

  /** A new zero-filled tensor (wasm memory from malloc is not zeroed). */
  zeros(shape: number[], dtype: DataType = 'float32'): TensorInfo {
    const out = this.backend.makeOutput(shape, dtype);
    this.backend.typedArrayFromHeap(out).fill(0);
    this.temps.push(out);
    return out;
  }

  /** Free `t` with the scope's other intermediates (a tensor made outside `run`). */
  track(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  /** Take `t` out of the scope: the caller owns it now. */
  keep(t: TensorInfo): TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i >= 0) {
      this.temps.splice(i, 1);
      return t;
    }
    // Every step was the identity: the result is one of the kernel's inputs, and the engine will
    // release output and input separately, so the output needs a reference of its own.
    this.backend.incRef(t.dataId);
    return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

/** Run `body` with a scope that frees every intermediate afterwards; `body` returns a kept result. */
export function composed(backend: BackendWasm, body: (s: KernelScope) => TensorInfo, backendName = 'wasm'): TensorInfo {
  const scope = new KernelScope(backend, backendName);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
