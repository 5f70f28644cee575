import { build } from '../../src/core/registry';
import { Random } from '../../src/core/random';
import type { PipelineStep, ViewState } from '../../src/data/pipeline';
import type { Box, ImageTensor } from '../../src/data/types';

/** An HWC float image from rows of pixels (each pixel an array of channel values). */
/** `white: null` makes a normalised image (no white level). */
export function image(rows: number[][][], white: number | null = 255): ImageTensor {
  const height = rows.length;
  const width = rows[0].length;
  const channels = rows[0][0].length;
  const data = new Float32Array(rows.flat(2));
  return { data, height, width, channels, white: white ?? undefined };
}

/** A one-channel image from rows of values. */
export function grey(rows: number[][], white: number | null = 255): ImageTensor {
  return image(rows.map((r) => r.map((v) => [v])), white);
}

export function step(type: string, params: Record<string, unknown> = {}): PipelineStep {
  return build<PipelineStep>('pipeline', { type, ...params });
}

export function apply(s: PipelineStep, img: ImageTensor, seed = 0, boxes?: Box[]): ViewState {
  const state: ViewState = { img, boxes };
  s.apply(state, new Random(seed));
  return state;
}

export function values(img: ImageTensor): number[] {
  return Array.from(img.data);
}
