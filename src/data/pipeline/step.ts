/**
 * A pipeline step: one registered transform of a decoded image (and of its boxes, for geometric
 * steps). Steps draw their random choices from the Random they are given, which the loader
 * derives from (seed, epoch, sample index, view), so a sample is augmented the same way whatever
 * worker handles it.
 */
import { z } from 'zod';
import type { Random } from '../../core/random';
import type { Box, Frame, ImageTensor } from '../types';
import type { MaskImage } from '../masks/png';
import { maxImagePixels, tooManyPixels } from '../pixelLimit';

/** What flows through a pipeline: the image and, for detection, its boxes in the image's pixels. */
export interface ViewState {
  img: ImageTensor;
  boxes?: Box[];
  /** Segmentation: class indices of every pixel; geometric steps move it with the image (nearest-neighbour). */
  mask?: MaskImage;
  /**
   * The decoded pixels every view of the sample starts from: a step that changes pixels in place
   * must not change these (use `writablePixels`).
   */
  shared?: Float32Array | Uint8Array;
  /** The mapping from the source image to this view (detection); steps that move pixels update it. */
  frame?: Frame;
  /** Other decoded samples of the dataset for mixing steps (Mosaic, MixUp), consumed in order. */
  extras?: Array<{ img: ImageTensor; boxes: Box[] }>;
  /** 0-based epoch (steps that stop at some epoch, like Mosaic). */
  epoch?: number;
  /** Set by a Mosaic step: whether it made this view a mosaic (MixUp follows only a mosaic, as YOLOX). */
  mosaicked?: boolean;
}

/** `frame` after the output = scale * input + shift map (per axis). */
export function composeFrame(frame: Frame | undefined, sx: number, tx: number, sy: number, ty: number): Frame | undefined {
  return frame && { ...frame, sx: frame.sx * sx, tx: frame.tx * sx + tx, sy: frame.sy * sy, ty: frame.ty * sy + ty };
}

/**
 * The image's pixels as a Float32Array this view owns: a float copy when they are the decoded
 * pixels the views share (or 8-bit), the array itself otherwise. Call it before changing pixels.
 */
export function writablePixels(state: ViewState): Float32Array {
  const d = state.img.data;
  if (d instanceof Float32Array && d !== state.shared) return d;
  const copy = new Float32Array(d);
  state.img = { ...state.img, data: copy };
  return copy;
}

export interface PipelineStep {
  readonly type: string;
  /** Transform `state` in place (replacing `state.img` as needed). */
  apply(state: ViewState, rng: Random): void;
  /** Channels out for `channels` in (default: unchanged). */
  outChannels?(channels: number): number;
  /** Other random samples of the dataset this step mixes in (Mosaic: 3, MixUp: 1); the loader fetches them. */
  readonly mixImages?: number;
  /** Moves pixels and boxes but not a segmentation mask (the detection steps): refused where there are masks. */
  readonly ignoresMasks?: true;
}

/**
 * `size`: one number for a square, or `[height, width]` (torchvision's order). An output is an
 * image too: past the pixel limit (pixelLimit.ts) it is refused here, where the config says it,
 * not by a step allocating gigabytes for it (`size: 1e9` filled memory with resampling weights).
 */
export const sizeParam = z
  .union([z.number().int().min(1), z.tuple([z.number().int().min(1), z.number().int().min(1)])])
  .refine((size) => pixelsOf(size) <= maxImagePixels(), {
    error: (issue) => {
      const [h, w] = typeof issue.input === 'number' ? [issue.input, issue.input] : (issue.input as [number, number]);
      return tooManyPixels(w, h, maxImagePixels(), 'the output image would be');
    },
  });

function pixelsOf(size: number | [number, number]): number {
  return typeof size === 'number' ? size * size : size[0] * size[1];
}

export const interpolationParam = z.enum(['bilinear', 'nearest', 'bicubic']).default('bilinear').describe('Resampling filter; bilinear and bicubic are antialiased when shrinking, like PIL');

export const probabilityParam = (p: number, what: string) => z.number().min(0).max(1).default(p).describe(`Probability of applying ${what}`);

/** A `[min, max]` range with min <= max. */
export function rangeParam(lo: number, hi: number, min: number, max?: number) {
  // No .max(Infinity): the JSON Schema would say `"maximum": null`, which no validator compiles.
  const bound = () => (max === undefined ? z.number().min(min) : z.number().min(min).max(max));
  return z
    .tuple([bound(), bound()])
    .default([lo, hi])
    .refine(([a, b]) => a <= b, { message: 'expected [min, max] with min <= max' });
}
