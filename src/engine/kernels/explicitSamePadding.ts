/**
 * The wasm backend's convolutions with `same` padding, given the padding explicitly instead.
 *
 * Its forward kernels hand `same` to XNNPACK as a flag (XNN_FLAG_TENSORFLOW_SAME_PADDING), and the
 * result is wrong for non-square kernels at stride 2-3 and for stride 3 (relative error ~1:
 * tensorflow/tfjs#6629 for depthwise, the same family as tensorflow/tfjs#8405 for conv2d, where a
 * stride larger than the input gives zeros). The same convolutions with the paddings tfjs-core
 * computes for `same`, passed as explicit paddings, are right on every shape the engine fuzz
 * (test/engine/engineFuzz.ts) draws: these kernels rewrite the attribute and run the kernel below.
 */
import { backend_util, Conv2D, FusedConv2D, FusedDepthwiseConv2D, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { kernelBelow } from './install';

type Explicit = backend_util.ExplicitPadding;

/** tfjs-core's paddings for `same`, in the data format's axis order. */
export function explicitSamePadding(xShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise: boolean): Explicit {
  const format = backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC');
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    (attrs.dilations as number | [number, number] | undefined) ?? 1,
    'same',
    undefined,
    depthwise,
    format,
  );
  const { top, bottom, left, right } = info.padInfo;
  return format === 'channelsFirst'
    ? [
        [0, 0],
        [0, 0],
        [top, bottom],
        [left, right],
      ]
    : [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ];
}

type ConvArgs = { inputs: { x: TensorInfo; filter: TensorInfo }; attrs: NamedAttrMap; backend: unknown };

/** Run `below` (the backend's own kernel) with `same` padding given explicitly. */
export function runWithExplicitSame(below: KernelConfig, args: ConvArgs, depthwise: boolean): ReturnType<KernelFunc> {
  const { attrs, inputs } = args;
  if (attrs.pad !== 'same') return below.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
  const pad = explicitSamePadding(inputs.x.shape, inputs.filter.shape, attrs, depthwise);
  return below.kernelFunc({ ...args, attrs: { ...attrs, pad, dimRoundingMode: undefined } } as unknown as Parameters<KernelFunc>[0]);
}

function samePaddingMadeExplicit(kernelName: string, depthwise: boolean): KernelConfig {
  const config: KernelConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ((args: ConvArgs) => {
      const below = kernelBelow(config);
      if (!below) throw new Error(`${kernelName}: no wasm kernel is registered below the explicit-padding one`);
      return runWithExplicitSame(below, args, depthwise);
    }) as unknown as KernelFunc,
  };
  return config;
}

// DepthwiseConv2dNative's own kernel (depthwiseConv2dNative.ts) does this for what it passes on: one
// kernel per name here, so that installing the list again stacks nothing (kernels/install.ts).
export const EXPLICIT_SAME_PADDING_KERNELS: readonly KernelConfig[] = [samePaddingMadeExplicit(Conv2D, false), samePaddingMadeExplicit(FusedConv2D, false), samePaddingMadeExplicit(FusedDepthwiseConv2D, true)];
