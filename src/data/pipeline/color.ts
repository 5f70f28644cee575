/**
 * Colour steps with torchvision's float-tensor semantics (values between 0 and the image's white,
 * clamped after each adjustment): ColorJitter, RandomGrayscale, Grayscale, Solarization.
 * SimCLR (Chen et al., arXiv:2002.05709, appendix A) found strong colour distortion essential for
 * contrastive learning; BYOL (Grill et al., arXiv:2006.07733) adds solarization.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import type { Random } from '../../core/random';
import type { ImageTensor } from '../types';
import { LUMA, luma, whiteOf } from './image';
import { probabilityParam, writablePixels, type PipelineStep } from './step';

type Jitter = number | [number, number];

/** torchvision's factor range: `b` means [max(0, 1 - b), 1 + b]; a pair is taken as is. */
function factorRange(v: Jitter, center: number, floor: number): [number, number] | undefined {
  const range: [number, number] = typeof v === 'number' ? [Math.max(floor, center - v), center + v] : v;
  return range[0] === center && range[1] === center ? undefined : range;
}

/** What the adjustments work on: a view's own float pixels, their channels and white level. */
interface Pixels {
  d: Float32Array;
  channels: number;
  white: number;
}

/** Multiply by `f` (blend with black). */
export function adjustBrightness({ d, white: hi }: Pixels, f: number): void {
  for (let i = 0; i < d.length; i++) {
    const v = d[i] * f;
    d[i] = v > hi ? hi : v;
  }
}

/** Mean grey level of an image. */
function meanLuma(d: Float32Array, channels: number): number {
  let sum = 0;
  if (channels === 1) for (let i = 0; i < d.length; i++) sum += d[i];
  else {
    const [wr, wg, wb] = LUMA;
    for (let i = 0; i < d.length; i += channels) sum += wr * d[i] + wg * d[i + 1] + wb * d[i + 2];
  }
  return (sum * channels) / d.length;
}

/** Blend with the mean grey level of the whole image. */
export function adjustContrast({ d, channels, white: hi }: Pixels, f: number): void {
  const offset = (1 - f) * meanLuma(d, channels);
  for (let i = 0; i < d.length; i++) {
    const v = f * d[i] + offset;
    d[i] = v < 0 ? 0 : v > hi ? hi : v;
  }
}

/** Blend each pixel with its own grey level (no change on grey images). */
export function adjustSaturation({ d, channels: C, white: hi }: Pixels, f: number): void {
  if (C < 3) return;
  const [wr, wg, wb] = LUMA;
  const g1 = 1 - f;
  for (let i = 0; i < d.length; i += C) {
    const grey = g1 * (wr * d[i] + wg * d[i + 1] + wb * d[i + 2]);
    const r = f * d[i] + grey;
    const g = f * d[i + 1] + grey;
    const b = f * d[i + 2] + grey;
    d[i] = r < 0 ? 0 : r > hi ? hi : r;
    d[i + 1] = g < 0 ? 0 : g > hi ? hi : g;
    d[i + 2] = b < 0 ? 0 : b > hi ? hi : b;
  }
}

/**
 * Rotate the hue by `shift` turns: torchvision's RGB -> HSV -> RGB, written with HSV's p = min,
 * q = max - chroma·f, t = min + chroma·f so that no pixel divides by its value. Grey pixels (and
 * grey images) have no hue and stay as they are.
 */
export function adjustHue({ d, channels: C }: Pixels, shift: number): void {
  if (C < 3) return;
  const turn = shift * 6;
  for (let i = 0; i < d.length; i += C) {
    const r = d[i];
    const g = d[i + 1];
    const b = d[i + 2];
    const max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const min = r < g ? (r < b ? r : b) : g < b ? g : b;
    const chroma = max - min;
    if (chroma === 0) continue;
    // hue in sixths of a turn, in [0, 6)
    let h = max === r ? (g - b) / chroma : max === g ? 2 + (b - r) / chroma : 4 + (r - g) / chroma;
    h += turn;
    h -= 6 * Math.floor(h / 6);
    const sector = h | 0;
    const rise = chroma * (h - sector);
    const t = min + rise;
    const q = max - rise;
    let R: number, G: number, B: number;
    if (sector === 0) [R, G, B] = [max, t, min];
    else if (sector === 1) [R, G, B] = [q, max, min];
    else if (sector === 2) [R, G, B] = [min, max, t];
    else if (sector === 3) [R, G, B] = [min, q, max];
    else if (sector === 4) [R, G, B] = [t, min, max];
    else [R, G, B] = [max, min, q];
    d[i] = R;
    d[i + 1] = G;
    d[i + 2] = B;
  }
}

const jitterParam = (what: string, example: string) =>
  z
    .union([z.number().min(0), z.tuple([z.number().min(0), z.number().min(0)])])
    .default(0)
    .describe(`${what}: b draws a factor in [max(0, 1 - b), 1 + b], [lo, hi] draws in [lo, hi]; 0 leaves it (${example})`);

register('pipeline', {
  type: 'ColorJitter',
  description: 'Randomly change brightness, contrast, saturation and hue, in a random order',
  paper: 'Howard, Some Improvements on Deep CNN Based Image Classification, arXiv:1312.5402; SimCLR uses (0.8, 0.8, 0.8, 0.2) with p 0.8 (arXiv:2002.05709)',
  params: z.strictObject({
    brightness: jitterParam('Brightness factor range', 'SimCLR 0.8, MoCo v2 0.4'),
    contrast: jitterParam('Contrast factor range', 'SimCLR 0.8, MoCo v2 0.4'),
    saturation: jitterParam('Saturation factor range', 'SimCLR 0.8, MoCo v2 0.4'),
    hue: z
      .union([z.number().min(0).max(0.5), z.tuple([z.number().min(-0.5).max(0.5), z.number().min(-0.5).max(0.5)])])
      .default(0)
      .describe('Hue shift in turns: h draws in [-h, h] (at most 0.5); SimCLR 0.2, MoCo v2 0.1'),
    p: probabilityParam(1, 'the jitter (EasyCV wraps it in RandomAppliedTrans with p 0.8)'),
  }),
  build: (p): PipelineStep => {
    const ranges = [factorRange(p.brightness, 1, 0), factorRange(p.contrast, 1, 0), factorRange(p.saturation, 1, 0), factorRange(p.hue, 0, -0.5)];
    const ops = [adjustBrightness, adjustContrast, adjustSaturation, adjustHue];
    return {
      type: 'ColorJitter',
      apply(state, rng) {
        if (!rng.chance(p.p)) return;
        // torchvision draws the order first, then one factor per adjustment that is enabled.
        const order = rng.permutation(4);
        const factors = ranges.map((r) => (r ? rng.uniform(r[0], r[1]) : undefined));
        const px = { white: whiteOf(state.img, 'ColorJitter'), d: writablePixels(state), channels: state.img.channels };
        for (const k of order) {
          const f = factors[k];
          if (f !== undefined) ops[k](px, f);
        }
      },
    };
  },
});

/** The grey level of every pixel, written to `channels` channels. */
export function toGrey(img: ImageTensor, channels: number): ImageTensor {
  const pixels = img.width * img.height;
  const grey = luma(img.data, pixels, img.channels);
  if (channels === 1) return { ...img, data: grey, channels: 1 };
  const out = new Float32Array(pixels * channels);
  for (let p = 0, i = 0; p < pixels; p++, i += channels) for (let c = 0; c < channels; c++) out[i + c] = grey[p];
  return { ...img, data: out, channels };
}

register('pipeline', {
  type: 'RandomGrayscale',
  description: 'Replace the image by its grey levels with probability p, keeping the number of channels',
  paper: 'SimCLR (arXiv:2002.05709) uses p 0.2; torchvision RandomGrayscale',
  params: z.strictObject({ p: probabilityParam(0.1, 'the conversion') }),
  build: (p): PipelineStep => ({
    type: 'RandomGrayscale',
    apply(state, rng) {
      if (!rng.chance(p.p)) return;
      whiteOf(state.img, 'RandomGrayscale');
      state.img = toGrey(state.img, state.img.channels);
    },
  }),
});

register('pipeline', {
  type: 'Grayscale',
  description: 'Convert to grey levels with 1 or 3 output channels (3 also turns a grey image into RGB)',
  paper: 'torchvision Grayscale',
  params: z.strictObject({ num_output_channels: z.union([z.literal(1), z.literal(3)]).default(1).describe('1 for one grey channel, 3 to repeat it as RGB') }),
  build: (p): PipelineStep => ({
    type: 'Grayscale',
    apply(state) {
      whiteOf(state.img, 'Grayscale');
      state.img = toGrey(state.img, p.num_output_channels);
    },
    outChannels: () => p.num_output_channels,
  }),
});

register('pipeline', {
  type: 'Solarization',
  description: 'Invert the pixels at or above a threshold, with probability p',
  paper: 'Grill et al., Bootstrap Your Own Latent (BYOL), NeurIPS 2020, arXiv:2006.07733 (p 0 / 0.2 for its two views)',
  params: z.strictObject({
    threshold: z.number().min(0).max(255).default(128).describe('Threshold on the 0-255 scale (scaled to the image: 128/255 after ToTensor)'),
    p: probabilityParam(0.2, 'solarization'),
  }),
  build: (p): PipelineStep => ({
    type: 'Solarization',
    apply(state, rng: Random) {
      if (!rng.chance(p.p)) return;
      const white = whiteOf(state.img, 'Solarization');
      const d = writablePixels(state);
      const t = (p.threshold / 255) * white;
      for (let i = 0; i < d.length; i++) if (d[i] >= t) d[i] = white - d[i];
    },
  }),
});
