/**
 * Predictor inputs: image files, encoded bytes (Buffer / Uint8Array of a JPEG, PNG, WebP, ...),
 * or decoded pixels in RGB order. Each becomes the network's input the way the run evaluated:
 * decoded with sharp, then the export's evaluation pipeline (resize, crop, normalise), resized to
 * the network's size when that pipeline does not already give it.
 */
import { UserError } from '../../core/problems';
import { randomFor } from '../../core/random';
import { build } from '../../core/registry';
import { decodeImage } from '../../data/decode';
import { runPipeline, type PipelineStep } from '../../data/pipeline';
import type { Frame, ImageTensor } from '../../data/types';
import type { ExportMetadata } from '../metadata';

/** Decoded pixels, row-major HWC in RGB order (or grey), 0-255 (float values are rounded to 8 bits). */
export interface PixelImage {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  /** 3 (RGB, the default), 4 (RGBA: alpha is dropped) or 1 (grey). */
  channels?: number;
}

export type ImageInput = string | Uint8Array | PixelImage;

/** How an input is named in results and errors: its path, or its position and kind. */
export function describeInput(input: ImageInput, index: number): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return `image #${index} (${input.length} bytes)`;
  return `image #${index} (${input.width}x${input.height}x${input.channels ?? 3} pixels)`;
}

/** Pixels as 8-bit RGB or grey (alpha dropped, floats rounded), checked against their stated size. */
function pixelsToBytes(p: PixelImage, where: string): { data: Uint8Array; channels: number } {
  const c = p.channels ?? 3;
  if (!(p.data instanceof Uint8Array || p.data instanceof Uint8ClampedArray || p.data instanceof Float32Array)) {
    throw new UserError(`${where}: pixels must be a Uint8Array, Uint8ClampedArray or Float32Array`);
  }
  if (![1, 3, 4].includes(c)) throw new UserError(`${where}: ${c} channels; images must have 1 (grey), 3 (RGB) or 4 (RGBA) channels`);
  if (!Number.isInteger(p.width) || !Number.isInteger(p.height) || p.width < 1 || p.height < 1) throw new UserError(`${where}: width and height must be positive integers`);
  const n = p.width * p.height;
  if (p.data.length !== n * c) {
    throw new UserError(`${where}: ${p.data.length} values do not fit ${p.width}x${p.height}x${c} (expected ${n * c}, row-major HWC)`);
  }
  const keep = c === 4 ? 3 : c;
  const out = new Uint8Array(n * keep);
  const src = p.data;
  for (let i = 0, j = 0; i < src.length; i += c) for (let k = 0; k < keep; k++) out[j++] = Math.max(0, Math.min(255, Math.round(src[i + k])));
  return { data: out, channels: keep };
}

/** Decode one input to an image (values 0-255) with `channels` channels. */
export async function loadImage(input: ImageInput, channels: number, where: string): Promise<ImageTensor> {
  if (typeof input === 'string') return decodeImage({ kind: 'file', path: input }, channels, where);
  if (input instanceof Uint8Array) return decodeImage({ kind: 'encoded', bytes: input }, channels, where);
  if (input && typeof input === 'object' && 'data' in input) {
    const px = pixelsToBytes(input, where);
    return decodeImage({ kind: 'pixels', data: px.data, width: input.width, height: input.height, channels: px.channels }, channels, where);
  }
  throw new UserError(`${where}: not an image (expected a file path, encoded bytes, or {data, width, height, channels} pixels)`);
}

/** The network input of one image, HWC float, and where it came from (for detectors: the geometry). */
export interface PreparedImage {
  data: Float32Array;
  width: number;
  height: number;
  /** Size of the decoded image before pre-processing. */
  original: { width: number; height: number };
  /** Network-input pixels = scale x original pixels + shift, per axis (detectors map boxes back with it). */
  frame?: Frame;
}

/** Builds the export's pre-processing once and applies it to decoded images. */
export class Preprocessor {
  private readonly steps: PipelineStep[];
  private readonly fit?: PipelineStep;

  constructor(
    readonly meta: ExportMetadata,
    /** Resize images whose pre-processed size differs from the network's (else: an error). */
    readonly resize = true,
  ) {
    this.steps = meta.preprocess.in_graph ? [] : meta.preprocess.steps.map((s) => build<PipelineStep>('pipeline', s));
    if (!meta.preprocess.in_graph) this.fit = build<PipelineStep>('pipeline', { type: 'Resize', size: [meta.input.height, meta.input.width] });
  }

  prepare(img: ImageTensor, where: string): PreparedImage {
    const original = { width: img.width, height: img.height };
    if (this.meta.preprocess.in_graph) {
      const data = img.data instanceof Float32Array ? img.data : Float32Array.from(img.data);
      // The graph stretches the image to the network's size.
      const { height: H, width: W } = this.meta.input;
      return { data, width: img.width, height: img.height, original, frame: { sx: W / img.width, tx: 0, sy: H / img.height, ty: 0, ...original } };
    }
    const state = runPipeline(this.steps, { img, frame: { sx: 1, tx: 0, sy: 1, ty: 0, ...original } }, randomFor(0, 0));
    const { height, width } = this.meta.input;
    if (state.img.width !== width || state.img.height !== height) {
      if (!this.resize) {
        const names = this.meta.preprocess.steps.map((s) => s.type).join(', ') || 'none';
        throw new UserError(`${where}: the image is ${state.img.width}x${state.img.height} after the model's pre-processing (${names}) but the model takes ${width}x${height}; resize it first, or let the predictor resize it`);
      }
      this.fit!.apply(state, randomFor(0, 0));
    }
    if (state.img.channels !== this.meta.input.channels) {
      throw new UserError(`${where}: the image has ${state.img.channels} channels after pre-processing but the model takes ${this.meta.input.channels}`);
    }
    const data = state.img.data instanceof Float32Array ? state.img.data : Float32Array.from(state.img.data);
    return { data, width: state.img.width, height: state.img.height, original, frame: state.frame };
  }
}
