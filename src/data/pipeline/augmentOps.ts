/**
 * The image operations of timm's auto_augment.py, which its three policies draw from (RandAugment,
 * AutoAugment and AugMix: randAugment.ts, autoAugment.ts, augMix.ts), computed as PIL computes them:
 * the colour operations blend with PIL's degenerate images, the lookup-table ones (posterize,
 * solarize, equalize) work on 0-255 levels, and the geometric ones map each output pixel through
 * PIL's inverse affine matrix, bilinearly, filling what falls outside with `fill` (timm's mean pixel;
 * timm draws bilinear or bicubic, this is bilinear). On float pixels, so values are not rounded to 8
 * bits between operations as PIL's are. Each operation's magnitude (0 to 10) maps to its argument as
 * timm's level_to_arg does, including its `...Increasing` variants (a larger magnitude always a
 * stronger change) and `PosterizeOriginal` (the AutoAugment paper's 4 to 8 bits kept).
 */
import { z } from 'zod';
import { UserError } from '../../core/problems';
import type { Random } from '../../core/random';
import type { ImageTensor } from '../types';
import { adjustBrightness, adjustContrast, adjustSaturation } from './color';
import { LUMA, whiteOf } from './image';
import { writablePixels, type ViewState } from './step';

/** An image whose pixels the step owns (policyInput). */
export type Owned = ImageTensor & { data: Float32Array };

export interface RandOp {
  /** The operation's argument at a magnitude in [0, 10] (timm's level_to_arg), random signs drawn from `rng`. */
  arg(magnitude: number, increasing: boolean, rng: Random): number;
  /** Apply with that argument; `fill` per channel, on the image's scale. */
  apply(img: Owned, arg: number, fill: number[]): Owned;
}

/** timm's _randomly_negate. */
const negate = (v: number, rng: Random) => (rng.next() > 0.5 ? -v : v);
/** Enhancement factor: around 1 by up to 0.9 either way (increasing), or 0.1 to 1.9. */
const enhanceArg = (m: number, increasing: boolean, rng: Random) => (increasing ? Math.max(0.1, 1 + negate((m / 10) * 0.9, rng)) : (m / 10) * 1.8 + 0.1);

/** Per channel: out = lut[round(v on 0-255)] (PIL's point operations on 8-bit levels). */
function pointOp(img: Owned, level: (v255: number, c: number) => number): Owned {
  const s = 255 / img.white!;
  const C = img.channels;
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = level(d[i] * s, i % C) / s;
  return img;
}

const to8 = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

/** PIL's ImageOps.equalize: per channel, levels spread by the cumulative histogram. */
function equalize(img: Owned): Owned {
  const s = 255 / img.white!;
  const C = img.channels;
  const luts = Array.from({ length: C }, (_, c) => {
    const h = new Array<number>(256).fill(0);
    for (let i = c; i < img.data.length; i += C) h[to8(img.data[i] * s)]++;
    const used = h.filter((n) => n > 0);
    const step = used.length > 1 ? Math.floor((used.reduce((a, b) => a + b, 0) - used[used.length - 1]) / 255) : 0;
    if (!step) return undefined;
    const lut = new Float32Array(256);
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(255, Math.floor(n / step));
      n += h[i];
    }
    return lut;
  });
  for (let i = 0; i < img.data.length; i++) {
    const lut = luts[i % C];
    if (lut) img.data[i] = lut[to8(img.data[i] * s)] / s;
  }
  return img;
}

/** PIL's ImageOps.autocontrast: each channel stretched from its darkest to its lightest level. */
function autoContrast(img: Owned): Owned {
  const C = img.channels;
  const white = img.white!;
  for (let c = 0; c < C; c++) {
    let [lo, hi] = [Infinity, -Infinity];
    for (let i = c; i < img.data.length; i += C) [lo, hi] = [Math.min(lo, img.data[i]), Math.max(hi, img.data[i])];
    if (hi <= lo) continue;
    const scale = white / (hi - lo);
    for (let i = c; i < img.data.length; i += C) img.data[i] = (img.data[i] - lo) * scale;
  }
  return img;
}

/** PIL's ImageEnhance.Sharpness: blend with its SMOOTH filter (3x3, centre 5, others 1, over 13; border pixels kept). */
function sharpness(img: Owned, f: number): Owned {
  const { width: W, height: H, channels: C, data: d } = img;
  const white = img.white!;
  const out = new Float32Array(d);
  for (let y = 1; y < H - 1; y++)
    for (let x = 1; x < W - 1; x++)
      for (let c = 0; c < C; c++) {
        const at = (yy: number, xx: number) => d[(yy * W + xx) * C + c];
        let sum = 4 * at(y, x);
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) sum += at(y + dy, x + dx);
        const smooth = sum / 13;
        const v = smooth + f * (at(y, x) - smooth);
        out[(y * W + x) * C + c] = v < 0 ? 0 : v > white ? white : v;
      }
  return { ...img, data: out };
}

/**
 * PIL's Image.transform(AFFINE, [a, b, c, d, e, f], BILINEAR or NEAREST, fillcolor): each output
 * pixel centre (x + 0.5, y + 0.5) maps to the input point (a x + b y + c, d x + e y + f); a point
 * outside the image takes the fill, one inside is interpolated from its four neighbours, clamped at
 * the edges, or (`nearest`) takes the pixel it falls in.
 */
export function pilAffine(img: Owned, [a, b, c, d, e, f]: number[], fill: number[], nearest = false): Owned {
  const { width: W, height: H, channels: C, data: src } = img;
  const out = new Float32Array(src.length);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * C;
      const sx = a * (x + 0.5) + b * (y + 0.5) + c;
      const sy = d * (x + 0.5) + e * (y + 0.5) + f;
      if (!(sx >= 0 && sx < W && sy >= 0 && sy < H)) {
        for (let ch = 0; ch < C; ch++) out[o + ch] = fill[ch];
        continue;
      }
      if (nearest) {
        const i = (Math.floor(sy) * W + Math.floor(sx)) * C;
        for (let ch = 0; ch < C; ch++) out[o + ch] = src[i + ch];
        continue;
      }
      const [u, v] = [sx - 0.5, sy - 0.5];
      const [x0, y0] = [Math.floor(u), Math.floor(v)];
      const [fx, fy] = [u - x0, v - y0];
      const [xa, xb] = [Math.min(Math.max(x0, 0), W - 1), Math.min(Math.max(x0 + 1, 0), W - 1)];
      const [ya, yb] = [Math.min(Math.max(y0, 0), H - 1), Math.min(Math.max(y0 + 1, 0), H - 1)];
      for (let ch = 0; ch < C; ch++) {
        const at = (yy: number, xx: number) => src[(yy * W + xx) * C + ch];
        const top = at(ya, xa) + fx * (at(ya, xb) - at(ya, xa));
        const bottom = at(yb, xa) + fx * (at(yb, xb) - at(yb, xa));
        out[o + ch] = top + fy * (bottom - top);
      }
    }
  return { ...img, data: out };
}

const round15 = (v: number) => Math.round(v * 1e15) / 1e15;

/** PIL's Image.rotate(degrees) about the centre (counter-clockwise), as its inverse matrix. */
export function rotationMatrix(degrees: number, w: number, h: number): number[] {
  const angle = (-degrees * Math.PI) / 180;
  // Rounded to 15 decimals as PIL rounds them: a quarter turn's cosine is 0, not 6e-17 (which moves
  // nearest-neighbour sampling at pixel edges).
  const [cos, sin] = [round15(Math.cos(angle)), round15(Math.sin(angle))];
  const [cx, cy] = [w / 2, h / 2];
  return [cos, sin, cos * -cx + sin * -cy + cx, -sin, cos, -sin * -cx + cos * -cy + cy];
}

const none = () => 0;
const pixels = (img: Owned) => ({ d: img.data, channels: img.channels, white: img.white! });

export const RAND_OPS = {
  AutoContrast: { arg: none, apply: (img) => autoContrast(img) },
  Equalize: { arg: none, apply: (img) => equalize(img) },
  Invert: { arg: none, apply: (img) => pointOp(img, (v) => 255 - v) },
  Rotate: { arg: (m, _, rng) => negate((m / 10) * 30, rng), apply: (img, deg, fill) => pilAffine(img, rotationMatrix(deg, img.width, img.height), fill) },
  // Bits kept: 4 down to 0 (increasing), or 0 up to 4.
  Posterize: {
    arg: (m, increasing) => (increasing ? 4 - Math.floor((m / 10) * 4) : Math.floor((m / 10) * 4)),
    apply: (img, bits) => (bits >= 8 ? img : pointOp(img, (v) => to8(v) & (~(2 ** (8 - bits) - 1) & 0xff))),
  },
  // Levels at or above the threshold inverted: from 256 down to 0 (increasing), or up.
  Solarize: {
    arg: (m, increasing) => (increasing ? 256 - Math.min(256, Math.floor((m / 10) * 256)) : Math.min(256, Math.floor((m / 10) * 256))),
    apply: (img, threshold) => pointOp(img, (v) => (v < threshold ? v : 255 - v)),
  },
  SolarizeAdd: { arg: (m) => Math.min(128, Math.floor((m / 10) * 110)), apply: (img, add) => pointOp(img, (v) => (v < 128 ? Math.min(255, v + add) : v)) },
  Color: { arg: enhanceArg, apply: (img, f) => (adjustSaturation(pixels(img), f), img) },
  Contrast: { arg: enhanceArg, apply: (img, f) => (adjustContrast(pixels(img), f), img) },
  Brightness: { arg: enhanceArg, apply: (img, f) => (adjustBrightness(pixels(img), f), img) },
  Sharpness: { arg: enhanceArg, apply: (img, f) => sharpness(img, f) },
  ShearX: { arg: (m, _, rng) => negate((m / 10) * 0.3, rng), apply: (img, f, fill) => pilAffine(img, [1, f, 0, 0, 1, 0], fill) },
  ShearY: { arg: (m, _, rng) => negate((m / 10) * 0.3, rng), apply: (img, f, fill) => pilAffine(img, [1, 0, 0, f, 1, 0], fill) },
  TranslateXRel: { arg: (m, _, rng) => negate((m / 10) * 0.45, rng), apply: (img, pct, fill) => pilAffine(img, [1, 0, pct * img.width, 0, 1, 0], fill) },
  TranslateYRel: { arg: (m, _, rng) => negate((m / 10) * 0.45, rng), apply: (img, pct, fill) => pilAffine(img, [1, 0, 0, 0, 1, pct * img.height], fill) },
} satisfies Record<string, RandOp>;

export type RandOpName = keyof typeof RAND_OPS;
export const RAND_OP_NAMES = Object.keys(RAND_OPS) as [RandOpName, ...RandOpName[]];


/** The operations whose argument timm maps two ways (its `increasing` variants). */
const INCREASING = ['Posterize', 'Solarize', 'Color', 'Contrast', 'Brightness', 'Sharpness'] as const;

/** The names timm's policies use: the 15 operations, six `...Increasing` variants and `PosterizeOriginal`. */
export const TIMM_OP_NAMES = [...RAND_OP_NAMES, ...INCREASING.map((n) => `${n}Increasing` as const), 'PosterizeOriginal'] as const;
export type TimmOpName = (typeof TIMM_OP_NAMES)[number];

/** An operation of a policy: the image operation and its magnitude-to-argument map. */
export interface PolicyOp {
  arg(magnitude: number, rng: Random): number;
  apply: RandOp['apply'];
}

/** One of the 15 operations with timm's increasing map or not (the operations without one ignore it). */
export function randOp(name: RandOpName, increasing: boolean): PolicyOp {
  const op: RandOp = RAND_OPS[name];
  return { arg: (m, rng) => op.arg(m, increasing, rng), apply: op.apply };
}

/** A timm name's operation (`ColorIncreasing`: Color with the increasing map). */
export function timmOp(name: TimmOpName): PolicyOp {
  if (name === 'PosterizeOriginal') return { arg: (m) => Math.floor((m / 10) * 4) + 4, apply: RAND_OPS.Posterize.apply };
  const base = name.replace(/Increasing$/, '') as RandOpName;
  return randOp(base, base !== name);
}

/** timm's AugmentOp: with probability `prob`, `op` at a magnitude drawn around `magnitude` (drawMagnitude). */
export function applyOp(img: Owned, op: PolicyOp, prob: number, magnitude: number, std: number | 'uniform', fill: number[], rng: Random): Owned {
  if (prob < 1 && rng.next() > prob) return img;
  return op.apply(img, op.arg(drawMagnitude(magnitude, std, rng), rng), fill);
}

/**
 * `magnitude_std` of every policy: each operation draws its magnitude from N(magnitude, this), or
 * uniformly from [0, magnitude] with `uniform` (timm's mstd above 100, AugMix's default).
 */
export const magnitudeStdParam = (fallback: number | 'uniform') =>
  z
    .union([z.number().min(0), z.literal('uniform')])
    .default(fallback)
    .describe('Each operation draws its magnitude from N(magnitude, this), clipped to [0, 10]; `uniform`: from [0, magnitude] (timm mstd)');

/** `fill` of a policy: what its geometric operations fill in, `fallback` as `whose` has it. */
export const fillParam = (fallback: number[], whose: string) =>
  z
    .array(z.number().min(0).max(255))
    .min(1)
    .default(fallback)
    .describe(`What the geometric operations fill in, per channel on the 0-255 scale (${whose})`);

/** timm's AugmentOp magnitude: drawn around `magnitude` as `std` says, clipped to [0, 10]. */
function drawMagnitude(magnitude: number, std: number | 'uniform', rng: Random): number {
  const m = std === 'uniform' ? rng.uniform(0, magnitude) : std > 0 ? rng.normal(magnitude, std) : magnitude;
  return Math.min(10, Math.max(0, m));
}

/** One fill value per channel: as given, one for all, or (a grey image) the grey level of an RGB fill. */
function fillFor(type: string, fill: number[], channels: number): number[] {
  if (fill.length === channels) return fill;
  if (fill.length === 1) return new Array<number>(channels).fill(fill[0]);
  if (channels === 1 && fill.length === 3) return [LUMA[0] * fill[0] + LUMA[1] * fill[1] + LUMA[2] * fill[2]];
  throw new UserError(`${type}: fill has ${fill.length} values but the image has ${channels} channels; give ${channels} values or one`);
}

/**
 * Ready `state` for a policy step `type`: its pixels its own (the operations change them in place)
 * and `fill` on the image's scale. Refuses a normalised image (the operations work on intensities).
 */
export function policyInput(state: ViewState, type: string, fill: number[]): { img: Owned; fill: number[] } {
  const white = whiteOf(state.img, type);
  const scaled = fillFor(type, fill, state.img.channels).map((v) => (v * white) / 255);
  writablePixels(state);
  return { img: state.img as Owned, fill: scaled };
}
