/**
 * RandAugment (Cubuk et al., RandAugment, CVPR Workshops 2020, arXiv:1909.13719) as timm's
 * `rand-m9-mstd0.5-inc1`, the policy of the DeiT, ConvNeXt and MAE fine-tuning recipes: `num_ops`
 * operations drawn with replacement from 15, each applied with probability `p` at a magnitude drawn
 * from N(magnitude, magnitude_std) clipped to [0, 10]. The operations and their arguments are timm's
 * (its auto_augment.py: `increasing` picks its "increasing" variants, where a larger magnitude is
 * always a stronger change), computed as PIL computes them: the colour operations blend with PIL's
 * degenerate images, the lookup-table ones (posterize, solarize, equalize) work on 0-255 levels, and
 * the geometric ones map each output pixel through PIL's inverse affine matrix, bilinearly, filling
 * what falls outside with `fill` (timm's mean pixel; timm draws bilinear or bicubic, this is bilinear). On float pixels, so values are not rounded to
 * 8 bits between operations as PIL's are.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import type { Random } from '../../core/random';
import type { ImageTensor } from '../types';
import { adjustBrightness, adjustContrast, adjustSaturation } from './color';
import { LUMA, whiteOf } from './image';
import { probabilityParam, writablePixels, type PipelineStep } from './step';

/** An image whose pixels this step owns. */
type Owned = ImageTensor & { data: Float32Array };

interface RandOp {
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
 * PIL's Image.transform(AFFINE, [a, b, c, d, e, f], BILINEAR, fillcolor): each output pixel centre
 * (x + 0.5, y + 0.5) maps to the input point (a x + b y + c, d x + e y + f); a point outside the
 * image takes the fill, one inside is interpolated from its four neighbours, clamped at the edges.
 */
function pilAffine(img: Owned, [a, b, c, d, e, f]: number[], fill: number[]): Owned {
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

/** PIL's Image.rotate(degrees) about the centre (counter-clockwise), as its inverse matrix. */
function rotationMatrix(degrees: number, w: number, h: number): number[] {
  const angle = (-degrees * Math.PI) / 180;
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
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
const OP_NAMES = Object.keys(RAND_OPS) as [RandOpName, ...RandOpName[]];

export const randAugmentParams = z.strictObject({
  num_ops: z.number().int().min(0).max(15).default(2).describe('Operations per image, drawn with replacement (timm n)'),
  magnitude: z.number().min(0).max(10).default(9).describe('Strength of each operation, 0 to 10 (timm m)'),
  magnitude_std: z.number().min(0).default(0.5).describe('Each operation draws its magnitude from N(magnitude, this), clipped to [0, 10] (timm mstd)'),
  increasing: z.boolean().default(true).describe("timm's increasing variants (inc1): posterize, solarize and the enhancements change more as the magnitude grows"),
  p: probabilityParam(0.5, 'each drawn operation'),
  ops: z.array(z.enum(OP_NAMES)).min(1).default(OP_NAMES).describe('The operations to draw from (default all 15; Posterize, Solarize, Color, Contrast, Brightness, Sharpness are the increasing ones with increasing: true)'),
  fill: z.array(z.number().min(0).max(255)).min(1).default([124, 116, 104]).describe('What the geometric operations fill in, per channel on the 0-255 scale (timm: the ImageNet mean)'),
});

/** One fill value per channel: as given, one for all, or (a grey image) the grey level of an RGB fill. */
function fillFor(fill: number[], channels: number): number[] {
  if (fill.length === channels) return fill;
  if (fill.length === 1) return new Array<number>(channels).fill(fill[0]);
  if (channels === 1 && fill.length === 3) return [LUMA[0] * fill[0] + LUMA[1] * fill[1] + LUMA[2] * fill[2]];
  throw new UserError(`RandAugment: fill has ${fill.length} values but the image has ${channels} channels; give ${channels} values or one`);
}

register('pipeline', {
  type: 'RandAugment',
  description: "RandAugment as timm's rand-m9-mstd0.5-inc1: num_ops of 15 colour and geometric operations at a random magnitude (before ToTensor/Normalize)",
  paper: 'Cubuk et al., RandAugment, CVPR Workshops 2020 (arXiv:1909.13719); timm auto_augment.py rand_augment_transform',
  params: randAugmentParams,
  build: (p): PipelineStep => ({
    type: 'RandAugment',
    apply(state, rng) {
      const white = whiteOf(state.img, 'RandAugment');
      const C = state.img.channels;
      const fill255 = fillFor(p.fill, C);
      const fill = fill255.map((v) => (v * white) / 255);
      writablePixels(state);
      for (let k = 0; k < p.num_ops; k++) {
        const op: RandOp = RAND_OPS[p.ops[rng.int(p.ops.length)]];
        if (p.p < 1 && rng.next() > p.p) continue;
        const m = Math.min(10, Math.max(0, p.magnitude_std > 0 ? rng.normal(p.magnitude, p.magnitude_std) : p.magnitude));
        state.img = op.apply(state.img as Owned, op.arg(m, p.increasing, rng), fill);
      }
    },
  }),
});
