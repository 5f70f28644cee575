/**
 * Image resizing. tfjs's `alignCorners` / `halfPixelCenters` map onto ONNX Resize's coordinate
 * transformation modes (align_corners / half_pixel, or asymmetric for neither); nearest-neighbour
 * rounding follows tfjs (floor, or round-half-up with aligned corners).
 */
import { NCHW } from '../layout';
import { attr, nth, type OnnxTranslator } from './common';

function resize(mode: 'linear' | 'nearest'): OnnxTranslator {
  return (ctx, node) => {
    const x = nth(node, 0);
    const [h, w] = attr<[number, number]>(node, 'size');
    const alignCorners = !!attr(node, 'alignCorners');
    const halfPixel = !!attr(node, 'halfPixelCenters');
    const shape = ctx.shape(x);
    const coordinates = alignCorners ? 'align_corners' : halfPixel ? (mode === 'linear' ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric';
    const attrs: Record<string, string> = { mode, coordinate_transformation_mode: coordinates };
    if (mode === 'nearest') attrs.nearest_mode = alignCorners ? 'round_prefer_ceil' : 'floor';
    const sizes = ctx.ints([shape[0], shape[3], h, w]);
    ctx.out(node, ctx.op('Resize', [ctx.inLayout(x, NCHW), '', '', sizes], attrs), [...NCHW]);
  };
}

export const IMAGE = {
  ResizeBilinear: resize('linear'),
  ResizeNearestNeighbor: resize('nearest'),
};
