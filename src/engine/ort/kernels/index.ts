/**
 * The kernels the wasm-ort engine runs on onnxruntime-node, installed over the wasm backend's
 * (and the composed training kernels), which stay below as their fallbacks.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { ORT_CONV_KERNELS } from './conv2d';
import { ORT_GELU_KERNELS } from './gelu';
import { ORT_LAYER_NORM_KERNELS } from './layerNorm';
import { ORT_MATMUL_KERNELS } from './matMul';
import { ORT_SUM_KERNELS } from './sum';
import { ORT_TRANSPOSE_KERNELS } from './transpose';

export const ORT_KERNELS: readonly KernelConfig[] = [
  ...ORT_CONV_KERNELS,
  ...ORT_MATMUL_KERNELS,
  ...ORT_TRANSPOSE_KERNELS,
  ...ORT_SUM_KERNELS,
  ...ORT_GELU_KERNELS,
  ...ORT_LAYER_NORM_KERNELS,
];
