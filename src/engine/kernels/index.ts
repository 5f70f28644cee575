/**
 * The kernels the wasm backend needs for training, registered in one loop (tfjs's own habit:
 * one kernel per file, one array). Importing this module registers nothing: `initEngine` calls
 * `registerWasmTrainingKernels` after the wasm backend is loaded.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { installKernels } from './install';
import { conv2DBackpropFilterConfig } from './conv2dBackpropFilter';
import { conv2DBackpropInputConfig } from './conv2dBackpropInput';
import { depthwiseConv2dNativeConfig } from './depthwiseConv2dNative';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwiseConv2dNativeBackpropFilter';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwiseConv2dNativeBackpropInput';
import { unsortedSegmentSumConfig } from './unsortedSegmentSum';
import { batchNormTrainConfig, batchNormTrainGradConfig, perSampleChannelSumsConfig, runningStatisticsConfig } from './batchNormTrain';
import { castConfig, identityConfig } from './identity';
import { EXPLICIT_SAME_PADDING_KERNELS } from './explicitSamePadding';
import { maxPoolGradConfig } from './maxPoolGrad';
import { unpackConfig } from './unpack';
import { relu6GradConfig } from './relu6Grad';
import { adamwStepConfig, sgdStepConfig } from './optimizerSteps';

export { installKernels, uninstallKernels, kernelBelow, originalKernel } from './install';

export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
  batchNormTrainConfig,
  batchNormTrainGradConfig,
  perSampleChannelSumsConfig,
  runningStatisticsConfig,
  identityConfig,
  castConfig,
  ...EXPLICIT_SAME_PADDING_KERNELS,
  depthwiseConv2dNativeConfig,
  maxPoolGradConfig,
  unpackConfig,
  relu6GradConfig,
  sgdStepConfig,
  adamwStepConfig,
];

/**
 * The kernels that route around XNNPACK's wrong `same` padding (explicitSamePadding.ts), the depthwise
 * convolution's included: what the tests take out to show the upstream kernels still need them.
 */
export const SAME_PADDING_WORKAROUNDS: readonly KernelConfig[] = [...EXPLICIT_SAME_PADDING_KERNELS, depthwiseConv2dNativeConfig];

export function registerWasmTrainingKernels(): void {
  installKernels(WASM_TRAINING_KERNELS);
}
