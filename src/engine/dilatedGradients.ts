/**
 * Gradients of dilated convolutions (Conv2D and DepthwiseConv2dNative with dilations > 1), which
 * tfjs-core's gradient functions refuse ("dilation rates greater than 1 are not yet supported").
 * tfjs takes dilations > 1 only at stride 1. Undilated convolutions keep tfjs-core's gradients.
 *
 * Conv2D (NHWC), as convolutions every engine runs fast (onnxruntime's on wasm-ort):
 *   - input gradient: the full correlation of dy with the flipped, in/out-swapped filter at the
 *     same dilation: a forward dilated convolution (Dumoulin & Visin, arXiv:1603.07285, §4-5);
 *   - filter gradient: batch and channels trade places (x as [C,H,W,N], dy as the filter
 *     [Ho,Wo,N,Co]) and the dilation becomes the stride, as in kernels/conv2dBackpropFilter.ts.
 * Paddings that come out negative are crops.
 *
 * Depthwise (and NCHW Conv2D): a convolution with dilation d is the undilated one with the filter
 * spread out by d (d − 1 zeros between taps), so its gradients are the backprop kernels' for the
 * spread filter, the filter gradient read back at every d-th tap. (The cpu backend's depthwise
 * backprop kernels ignore dilations, so they must not see any.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, DepthwiseConv2dNative, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput, type GradConfig, type NamedAttrMap } from '@tensorflow/tfjs-core';

function pair(v: unknown): [number, number] {
  if (v == null) return [1, 1];
  return typeof v === 'number' ? [v, v] : [(v as number[])[0], (v as number[])[1]];
}

/** [kh, kw, a, b] → [(kh−1)·dh+1, (kw−1)·dw+1, a, b] with zeros between the taps. */
export function spreadFilter(filter: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [kh, kw, a, b] = filter.shape;
  // Two pads of rank 3 rather than one of rank 5: tfjs-webgpu's Pad writes invalid WGSL (`vec5`) at rank 5.
  const rows = tf.pad(tf.reshape(filter, [kh, 1, kw * a * b]), [
    [0, 0],
    [0, dh - 1],
    [0, 0],
  ]);
  const spaced = tf.pad(tf.reshape(rows, [kh * dh * kw, 1, a * b]), [
    [0, 0],
    [0, dw - 1],
    [0, 0],
  ]);
  return tf.slice(tf.reshape(spaced, [kh * dh, kw * dw, a, b]) as tf.Tensor4D, [0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, a, b]);
}

/** The taps of a spread filter's gradient that are real filter entries. */
function gatherTaps(spread: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [h, w, a, b] = spread.shape;
  return tf.stridedSlice(spread, [0, 0, 0, 0], [h, w, a, b], [dh, dw, 1, 1]) as tf.Tensor4D;
}

/** Pad (positive) or crop (negative) axes 1 and 2 of an NHWC tensor; undefined when nothing is left. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): { x: tf.Tensor4D; pad: tf.backend_util.ExplicitPadding } | undefined {
  const [n, h, w, c] = t.shape;
  const ct = Math.max(0, -top);
  const cb = Math.max(0, -bottom);
  const cl = Math.max(0, -left);
  const cr = Math.max(0, -right);
  if (h - ct - cb <= 0 || w - cl - cr <= 0) return undefined;
  const x = ct || cb || cl || cr ? tf.slice(t, [0, ct, cl, 0], [n, h - ct - cb, w - cl - cr, c]) : t;
  return {
    x,
    pad: [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ],
  };
}

/** dx of a stride-1 dilated NHWC convolution: a dilated correlation with the flipped filter. */
function conv2dInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, dilationHeight: dh, dilationWidth: dw, inHeight, inWidth, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  const before = (kh - 1) * dh - top;
  const beforeW = (kw - 1) * dw - left;
  const cropped = padOrCrop(dy, before, inHeight - outHeight + top, beforeW, inWidth - outWidth + left);
  if (!cropped) return tf.zeros([info.batchSize, inHeight, inWidth, info.inChannels]);
  return tf.conv2d(cropped.x, flipped, 1, cropped.pad, 'NHWC', [dh, dw]);
}

/** dW of a stride-1 dilated NHWC convolution: batch and channels swapped, the dilation as the stride. */
function conv2dFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, dilationHeight: dh, dilationWidth: dw, inHeight, inWidth, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;
  const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  // kh outputs at stride dh of an outHeight-row kernel read (kh − 1)·dh + outHeight rows.
  const cropped = padOrCrop(xT, top, (kh - 1) * dh + outHeight - inHeight - top, left, (kw - 1) * dw + outWidth - inWidth - left);
  if (!cropped) return tf.zeros([kh, kw, info.inChannels, info.outChannels]);
  return tf.transpose(tf.conv2d(cropped.x, dyT, [dh, dw], cropped.pad), [1, 2, 0, 3]);
}

function dilatedGradient(kernelName: string, original: GradConfig, depthwise: boolean): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
      const [dh, dw] = pair(attrs.dilations);
      if (dh === 1 && dw === 1) return original.gradFunc(dy, saved, attrs);
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad, dimRoundingMode } = attrs;
      const engine = tf.engine();
      const spreadShape = (): [number, number, number, number] => [(filter.shape[0] - 1) * dh + 1, (filter.shape[1] - 1) * dw + 1, filter.shape[2], filter.shape[3]];
      if (depthwise) {
        const common = { strides, pad, dimRoundingMode, dilations: [1, 1] };
        return {
          x: () => engine.runKernel(DepthwiseConv2dNativeBackpropInput, { dy: dy as tf.Tensor, filter: spreadFilter(filter, dh, dw) }, { ...common, inputShape: x.shape } as unknown as NamedAttrMap) as tf.Tensor,
          filter: () => gatherTaps(engine.runKernel(DepthwiseConv2dNativeBackpropFilter, { x, dy: dy as tf.Tensor }, { ...common, filterShape: spreadShape() } as unknown as NamedAttrMap) as tf.Tensor4D, dh, dw),
        };
      }
      if ((attrs.dataFormat ?? 'NHWC') === 'NHWC') {
        const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, 1, [dh, dw], pad as 'same', dimRoundingMode as 'floor' | undefined);
        return {
          x: () => conv2dInputGradient(dy as tf.Tensor4D, filter, info),
          filter: () => conv2dFilterGradient(x, dy as tf.Tensor4D, info),
        };
      }
      const common = { strides, pad, dimRoundingMode, dataFormat: attrs.dataFormat };
      return {
        x: () => engine.runKernel(Conv2DBackpropInput, { dy: dy as tf.Tensor, filter: spreadFilter(filter, dh, dw) }, { ...common, inputShape: x.shape } as unknown as NamedAttrMap) as tf.Tensor,
        filter: () => gatherTaps(engine.runKernel(Conv2DBackpropFilter, { x, dy: dy as tf.Tensor }, { ...common, filterShape: spreadShape() } as unknown as NamedAttrMap) as tf.Tensor4D, dh, dw),
      };
    },
  };
}

const installed = new Set<GradConfig>();

/** Put the dilation-aware gradients over tfjs-core's (registered first, by ensureGradients). */
export function installDilatedGradients(): void {
  for (const [kernelName, depthwise] of [
    [Conv2D, false],
    [DepthwiseConv2dNative, true],
  ] as const) {
    const current = tf.getGradient(kernelName);
    if (!current) throw new Error(`no gradient is registered for ${kernelName}: load tfjs-core's gradients first`);
    if (installed.has(current)) continue;
    const config = dilatedGradient(kernelName, current, depthwise);
    installed.add(config);
    tf.registerGradient(config);
  }
}
