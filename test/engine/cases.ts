/** Shapes, strides and paddings the kernel tests run over. */
import * as tf from '@tensorflow/tfjs-core';

export type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];

export interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number]; // kh, kw
  outChannels: number;
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export const CONV_CASES: ConvCase[] = [
  { x: [2, 6, 6, 3], filter: [3, 3], outChannels: 4, strides: 1, pad: 'same' },
  { x: [2, 6, 6, 3], filter: [3, 3], outChannels: 4, strides: 1, pad: 'valid' },
  { x: [2, 7, 7, 3], filter: [3, 3], outChannels: 5, strides: 2, pad: 'same' },
  { x: [2, 8, 8, 3], filter: [3, 3], outChannels: 5, strides: 2, pad: 'same' },
  { x: [2, 8, 7, 2], filter: [3, 3], outChannels: 3, strides: 2, pad: 'valid' }, // leftover rows/cols
  { x: [1, 9, 8, 2], filter: [2, 3], outChannels: 3, strides: [2, 3], pad: 'valid' },
  { x: [1, 9, 8, 2], filter: [2, 3], outChannels: 3, strides: [3, 2], pad: 'same' },
  { x: [2, 8, 8, 4], filter: [1, 1], outChannels: 6, strides: 2, pad: 'valid' }, // ResNet downsample
  { x: [2, 8, 8, 4], filter: [1, 1], outChannels: 6, strides: 1, pad: 'same' },
  { x: [1, 10, 10, 2], filter: [5, 5], outChannels: 2, strides: 1, pad: 2 },
  { x: [1, 10, 9, 2], filter: [3, 3], outChannels: 2, strides: 2, pad: 1, dimRoundingMode: 'floor' },
  { x: [1, 10, 9, 2], filter: [3, 3], outChannels: 2, strides: 2, pad: 1, dimRoundingMode: 'ceil' },
  { x: [1, 10, 9, 2], filter: [3, 3], outChannels: 2, strides: 2, pad: 1, dimRoundingMode: 'round' },
  { x: [2, 7, 6, 3], filter: [3, 2], outChannels: 2, strides: 1, pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
  // Padding wider than the kernel: some output rows see only padding (negative "full" padding).
  { x: [1, 5, 5, 2], filter: [2, 2], outChannels: 3, strides: 1, pad: [[0, 0], [3, 0], [0, 4], [0, 0]] },
  { x: [1, 6, 6, 2], filter: [3, 3], outChannels: 3, strides: 2, pad: [[0, 0], [4, 4], [3, 5], [0, 0]] },
  { x: [1, 7, 7, 1], filter: [7, 7], outChannels: 1, strides: 1, pad: 'valid' }, // output 1x1
  { x: [3, 5, 5, 1], filter: [3, 3], outChannels: 1, strides: 3, pad: 'same' },
];

export function convOutShape(c: ConvCase, format: 'NHWC' | 'NCHW'): number[] {
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.filter[0], c.filter[1], c.x[3], c.outChannels], c.strides, 1, c.pad, c.dimRoundingMode);
  return format === 'NHWC' ? info.outShape : [info.outShape[0], info.outShape[3], info.outShape[1], info.outShape[2]];
}

export function toFormat(shape: number[], format: 'NHWC' | 'NCHW'): number[] {
  return format === 'NHWC' ? shape : [shape[0], shape[3], shape[1], shape[2]];
}

/** Explicit paddings are written in the data format's axis order. */
export function padIn(pad: Pad, format: 'NHWC' | 'NCHW'): unknown {
  return Array.isArray(pad) && format === 'NCHW' ? [pad[0], pad[3], pad[1], pad[2]] : pad;
}

export interface DepthwiseCase {
  x: [number, number, number, number];
  filter: [number, number];
  multiplier: number;
  strides: number;
  dilations: number;
  pad: Pad;
}

export const DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [2, 6, 6, 3], filter: [3, 3], multiplier: 1, strides: 1, dilations: 1, pad: 'same' },
  { x: [2, 7, 7, 3], filter: [3, 3], multiplier: 2, strides: 2, dilations: 1, pad: 'same' },
  { x: [2, 8, 7, 2], filter: [3, 3], multiplier: 3, strides: 2, dilations: 1, pad: 'valid' },
  { x: [1, 9, 8, 4], filter: [2, 3], multiplier: 1, strides: 1, dilations: 1, pad: 'valid' },
  { x: [1, 9, 9, 2], filter: [5, 5], multiplier: 2, strides: 1, dilations: 1, pad: 2 },
  { x: [1, 8, 8, 2], filter: [3, 3], multiplier: 1, strides: 3, dilations: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [1, 5, 5, 2], filter: [2, 2], multiplier: 2, strides: 1, dilations: 1, pad: [[0, 0], [3, 0], [0, 3], [0, 0]] },
  // MobileNetV2's downsampling: PyTorch-style symmetric padding on an even size (not tfjs' 'same').
  { x: [2, 8, 8, 4], filter: [3, 3], multiplier: 1, strides: 2, dilations: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  // Channels in whole f32x4 vectors, multiplier 1: the filter gradient's SIMD runs (rows of 16 and 6 positions).
  { x: [2, 16, 16, 12], filter: [3, 3], multiplier: 1, strides: 1, dilations: 1, pad: 'same' },
  { x: [3, 13, 11, 8], filter: [3, 3], multiplier: 1, strides: 2, dilations: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  // ConvNeXt's 7x7, padding 3, on a map smaller than two filters: runs clipped on both sides.
  { x: [2, 9, 6, 16], filter: [7, 7], multiplier: 1, strides: 1, dilations: 1, pad: 3 },
];

// The cpu backend's depthwise gradients ignore dilations, so these compare with the plain loops.
export const DILATED_DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [2, 9, 9, 3], filter: [3, 3], multiplier: 1, strides: 1, dilations: 2, pad: 'same' },
  { x: [1, 10, 9, 2], filter: [3, 2], multiplier: 2, strides: 1, dilations: 3, pad: 'valid' },
  { x: [1, 11, 11, 2], filter: [3, 3], multiplier: 2, strides: 2, dilations: 2, pad: 'same' },
  { x: [2, 10, 10, 8], filter: [3, 3], multiplier: 1, strides: 1, dilations: 2, pad: 'same' },
];

export function depthwiseInfo(c: DepthwiseCase): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(c.x, [c.filter[0], c.filter[1], c.x[3], c.multiplier], c.strides, c.dilations, c.pad, undefined, true);
}

