/**
 * Geometric steps, with torchvision's semantics: RandomResizedCrop (Szegedy et al., Going Deeper
 * with Convolutions, CVPR 2015 — the "Inception crop" SimCLR, MoCo, BYOL and DINO all use), Resize,
 * CenterCrop and RandomHorizontalFlip. Each moves boxes and segmentation masks with the image.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import type { Random } from '../../core/random';
import type { ImageTensor } from '../types';
import { cropResizeBoxes, flipBoxes } from './boxes';
import { cropResizeMask, flipMask, padMask } from './masks';
import { roundHalfEven, sizeHW } from './image';
import { resampleRect, type Interpolation } from './resample';
import { composeFrame, interpolationParam, probabilityParam, rangeParam, sizeParam, type PipelineStep, type ViewState } from './step';

/** Crop (x0, y0, cw, ch) of the state's image resized to outW x outH, boxes included. */
function cropResize(state: ViewState, x0: number, y0: number, cw: number, ch: number, outW: number, outH: number, mode: Interpolation): void {
  const img = state.img;
  state.img = { ...img, data: resampleRect(img, x0, y0, cw, ch, outW, outH, mode), width: outW, height: outH };
  if (state.boxes) state.boxes = cropResizeBoxes(state.boxes, x0, y0, cw, ch, outW, outH);
  if (state.mask) state.mask = cropResizeMask(state.mask, x0, y0, cw, ch, outW, outH);
  state.frame = composeFrame(state.frame, outW / cw, (-x0 * outW) / cw, outH / ch, (-y0 * outH) / ch);
}

/**
 * torchvision's `RandomResizedCrop.get_params`: ten tries at an area fraction in `scale` and a
 * log-uniform aspect ratio in `ratio`, then a centre crop clamped to the ratio range.
 */
export function randomResizedCropRect(width: number, height: number, scale: [number, number], ratio: [number, number], rng: Random): [number, number, number, number] {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const y = rng.int(height - h + 1);
      const x = rng.int(width - w + 1);
      return [x, y, w, h];
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return [Math.floor((width - w) / 2), Math.floor((height - h) / 2), w, h];
}

register('pipeline', {
  type: 'RandomResizedCrop',
  description: 'Crop a random area fraction and aspect ratio of the image and resize it to `size`',
  paper: 'Szegedy et al., Going Deeper with Convolutions, CVPR 2015 (arXiv:1409.4842); torchvision RandomResizedCrop',
  params: z.strictObject({
    size: sizeParam.describe('Output size: one number for a square, or [height, width]'),
    scale: rangeParam(0.08, 1, 0, 1).describe('Range of the crop area as a fraction of the image area (SimCLR 0.08-1; DINO global crops 0.4-1, local 0.05-0.4)'),
    ratio: rangeParam(3 / 4, 4 / 3, 1e-6).describe('Range of the crop aspect ratio (width / height), drawn log-uniformly'),
    interpolation: interpolationParam,
  }),
  build: (p): PipelineStep => {
    const [outH, outW] = sizeHW(p.size);
    return {
      type: 'RandomResizedCrop',
      apply(state, rng) {
        const [x, y, w, h] = randomResizedCropRect(state.img.width, state.img.height, p.scale, p.ratio, rng);
        cropResize(state, x, y, w, h, outW, outH, p.interpolation);
      },
    };
  },
});

/** torchvision's output size of Resize for an int `size`: the shorter side becomes `size`. */
export function resizeShorterSide(width: number, height: number, size: number, maxSize?: number): [number, number] {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  let newShort = size;
  let newLong = Math.floor((size * long) / short);
  if (maxSize !== undefined && newLong > maxSize) {
    newShort = Math.floor((maxSize * newShort) / newLong);
    newLong = maxSize;
  }
  return width <= height ? [newShort, newLong] : [newLong, newShort];
}

register('pipeline', {
  type: 'Resize',
  description: 'Resize the image: one number sets the shorter side (keeping the aspect ratio), [height, width] sets both',
  paper: 'torchvision Resize',
  params: z.strictObject({
    size: sizeParam.describe('Shorter side in pixels, or [height, width] for an exact size'),
    max_size: z.number().int().min(1).optional().describe('Cap on the longer side when `size` is one number'),
    interpolation: interpolationParam,
  }),
  build: (p): PipelineStep => ({
    type: 'Resize',
    apply(state) {
      const { width, height } = state.img;
      const [outW, outH] = typeof p.size === 'number' ? resizeShorterSide(width, height, p.size, p.max_size) : [p.size[1], p.size[0]];
      if (outW === width && outH === height) return;
      cropResize(state, 0, 0, width, height, outW, outH, p.interpolation);
    },
  }),
});

/** The image padded with zeros to at least h x w, centred (torchvision pads before a larger centre crop). */
function padTo(img: ImageTensor, h: number, w: number): { img: ImageTensor; left: number; top: number } {
  if (img.height >= h && img.width >= w) return { img, left: 0, top: 0 };
  const H = Math.max(h, img.height);
  const W = Math.max(w, img.width);
  const left = Math.floor((W - img.width) / 2);
  const top = Math.floor((H - img.height) / 2);
  const C = img.channels;
  const out = new Float32Array(H * W * C);
  for (let y = 0; y < img.height; y++) {
    const from = y * img.width * C;
    out.set(img.data.subarray(from, from + img.width * C), ((y + top) * W + left) * C);
  }
  return { img: { ...img, data: out, height: H, width: W }, left, top };
}

register('pipeline', {
  type: 'CenterCrop',
  description: 'Crop the centre of the image to `size` (padding with zeros when the image is smaller)',
  paper: 'torchvision CenterCrop',
  params: z.strictObject({
    size: sizeParam.describe('Output size: one number for a square, or [height, width]'),
  }),
  build: (p): PipelineStep => {
    const [h, w] = sizeHW(p.size);
    return {
      type: 'CenterCrop',
      apply(state) {
        const padded = padTo(state.img, h, w);
        // By identity: a 1-pixel gap pads on the right or bottom only (left and top stay 0).
        if (padded.img !== state.img) {
          state.img = padded.img;
          if (state.mask) state.mask = padMask(state.mask, padded.img.width, padded.img.height, padded.left, padded.top);
          if (state.boxes) state.boxes = state.boxes.map((b) => ({ ...b, bbox: [b.bbox[0] + padded.left, b.bbox[1] + padded.top, b.bbox[2], b.bbox[3]] }));
          state.frame = composeFrame(state.frame, 1, padded.left, 1, padded.top);
        }
        const { width, height } = state.img;
        if (width === w && height === h) return;
        const top = roundHalfEven((height - h) / 2);
        const left = roundHalfEven((width - w) / 2);
        cropResize(state, left, top, w, h, w, h, 'bilinear');
      },
    };
  },
});

/** Mirror an HWC image left-right. */
export function flipHorizontal(img: ImageTensor): ImageTensor {
  const { width: W, height: H, channels: C } = img;
  const out = new Float32Array(img.data.length);
  const src = img.data;
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let x = 0; x < W; x++) {
      const from = row + x * C;
      const to = row + (W - 1 - x) * C;
      for (let c = 0; c < C; c++) out[to + c] = src[from + c];
    }
  }
  return { ...img, data: out };
}

register('pipeline', {
  type: 'RandomHorizontalFlip',
  description: 'Mirror the image left-right with probability p',
  paper: 'torchvision RandomHorizontalFlip',
  params: z.strictObject({ p: probabilityParam(0.5, 'the flip') }),
  build: (p): PipelineStep => ({
    type: 'RandomHorizontalFlip',
    apply(state, rng) {
      if (!rng.chance(p.p)) return;
      state.img = flipHorizontal(state.img);
      if (state.boxes) state.boxes = flipBoxes(state.boxes, state.img.width);
      if (state.mask) state.mask = flipMask(state.mask);
      state.frame = composeFrame(state.frame, -1, state.img.width, 1, 0);
    },
  }),
});
