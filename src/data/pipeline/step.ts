/**
 * A pipeline step: one registered transform of a decoded image (and of its boxes, for geometric
 * steps). Steps draw their random choices from the Random they are given, which the loader
 * derives from (seed, epoch, sample index, view), so a sample is augmented the same way whatever
 * worker handles it.
 */
import { z } from 'zod';
import type { Random } from '../../core/random';
import type { Box, ImageTensor } from '../types';

/** What flows through a pipeline: the image and, for detection, its boxes in the image's pixels. */
export interface ViewState {
  img: ImageTensor;
  boxes?: Box[];
  /**
   * The decoded pixels every view of the sample starts from: a step that changes pixels in place
   * must not change these (use `writablePixels`).
   */
  shared?: Float32Array;
}

/** The image's pixels, copied first when they are the decoded pixels the views share. */
export function writablePixels(state: ViewState): Float32Array {
  if (state.img.data === state.shared) state.img = { ...state.img, data: state.img.data.slice() };
  return state.img.data;
}

export interface PipelineStep {
  readonly type: string;
  /** Transform `state` in place (replacing `state.img` as needed). */
  apply(state: ViewState, rng: Random): void;
  /** Channels out for `channels` in (default: unchanged). */
  outChannels?(channels: number): number;
}

/** `size`: one number for a square, or `[height, width]` (torchvision's order). */
export const sizeParam = z.union([z.number().int().min(1), z.tuple([z.number().int().min(1), z.number().int().min(1)])]);

export const interpolationParam = z.enum(['bilinear', 'nearest', 'bicubic']).default('bilinear').describe('Resampling filter; bilinear and bicubic are antialiased when shrinking, like PIL');

export const probabilityParam = (p: number, what: string) => z.number().min(0).max(1).default(p).describe(`Probability of applying ${what}`);

/** A `[min, max]` range with min <= max. */
export function rangeParam(lo: number, hi: number, min: number, max = Infinity) {
  return z
    .tuple([z.number().min(min).max(max), z.number().min(min).max(max)])
    .default([lo, hi])
    .refine(([a, b]) => a <= b, { message: 'expected [min, max] with min <= max' });
}
