/**
 * Gradients of dilated convolutions (Conv2D and DepthwiseConv2dNative with dilations > 1), which
 * tfjs-core's gradient functions refuse ("dilation rates greater than 1 are not yet supported").
 *
 * A convolution with dilation d is the undilated convolution with the filter spread out by d
 * (d − 1 zeros between taps), so its gradients are the undilated ones of that spread filter:
 * the input gradient is the backprop-input kernel with the spread filter, and the filter gradient
 * is the backprop-filter kernel's result for the spread filter, read back at every d-th tap (the
 * zeros in between are not parameters). tfjs takes dilations > 1 only at stride 1, where these
 * kernels are the stride-1 ones every engine has (and onnxruntime runs on wasm-ort). Undilated
 * convolutions keep tfjs-core's own gradients.
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
  const spaced = tf.pad(tf.reshape(filter, [kh, 1, kw, 1, a * b]), [
    [0, 0],
    [0, dh - 1],
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
      const common = { strides, pad, dimRoundingMode, dataFormat: attrs.dataFormat ?? 'NHWC' };
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
