/**
 * RandomHSV: YOLOX's `augment_hsv` — shift hue, saturation and value by random integers within
 * ±(hue, saturation, value) on OpenCV's 8-bit HSV scales (hue 0-180, the others 0-255), each of
 * the three shifts kept with probability 1/2; hue wraps around, the others are clipped.
 */
import { z } from 'zod';
import { register } from '../../../core/registry';
import { UserError } from '../../../core/problems';
import { whiteOf } from '../image';
import { probabilityParam, writablePixels, type PipelineStep } from '../step';

/** Shift one RGB pixel (0-1 scale) in HSV by dh (in 0-180 units), ds and dv (0-255 units). */
export function shiftHsv(rgb: [number, number, number], dh: number, ds: number, dv: number): [number, number, number] {
  const [r, g, b] = rgb;
  const v = Math.max(r, g, b);
  const m = Math.min(r, g, b);
  const c = v - m;
  let h = 0;
  if (c > 0) {
    if (v === r) h = ((g - b) / c) * 60;
    else if (v === g) h = 120 + ((b - r) / c) * 60;
    else h = 240 + ((r - g) / c) * 60;
  }
  if (h < 0) h += 360;
  let s = v > 0 ? c / v : 0;
  // OpenCV 8-bit: H = h/2 in 0..180, S and V in 0..255.
  h = (((h / 2 + dh) % 180) + 180) % 180;
  s = Math.min(Math.max(s * 255 + ds, 0), 255) / 255;
  const v2 = Math.min(Math.max(v * 255 + dv, 0), 255) / 255;
  const hh = (h * 2) / 60;
  const cc = v2 * s;
  const x = cc * (1 - Math.abs((hh % 2) - 1));
  const mm = v2 - cc;
  const sector = Math.floor(hh) % 6;
  const [r1, g1, b1] = sector === 0 ? [cc, x, 0] : sector === 1 ? [x, cc, 0] : sector === 2 ? [0, cc, x] : sector === 3 ? [0, x, cc] : sector === 4 ? [x, 0, cc] : [cc, 0, x];
  return [r1 + mm, g1 + mm, b1 + mm];
}

register('pipeline', {
  type: 'RandomHSV',
  description: 'Random hue, saturation and value shifts in HSV space, each applied with probability 1/2 (YOLOX augment_hsv)',
  paper: 'Ge et al., YOLOX, arXiv:2107.08430 (data_augment.augment_hsv)',
  params: z.strictObject({
    hue: z.number().min(0).max(90).default(5).describe('Largest hue shift, on the 0-180 scale of OpenCV'),
    saturation: z.number().min(0).max(255).default(30).describe('Largest saturation shift, on 0-255'),
    value: z.number().min(0).max(255).default(30).describe('Largest value (brightness) shift, on 0-255'),
    p: probabilityParam(1, 'the HSV shifts'),
  }),
  build: (p): PipelineStep => ({
    type: 'RandomHSV',
    apply(state, rng) {
      if (!rng.chance(p.p)) return;
      // numpy: uniform(-1, 1, 3) * gains * randint(0, 2, 3), truncated to integers.
      const gains = [p.hue, p.saturation, p.value].map((g) => rng.uniform(-1, 1) * g);
      const keep = [0, 1, 2].map(() => rng.int(2));
      const [dh, ds, dv] = gains.map((g, i) => Math.trunc(g * keep[i]));
      if (!dh && !ds && !dv) return;
      const img = state.img;
      if (img.channels !== 3) throw new UserError('RandomHSV needs RGB images (color: rgb in the source)');
      const white = whiteOf(img, 'RandomHSV');
      const d = writablePixels(state);
      for (let i = 0; i < d.length; i += 3) {
        const [r, g, b] = shiftHsv([d[i] / white, d[i + 1] / white, d[i + 2] / white], dh, ds, dv);
        d[i] = r * white;
        d[i + 1] = g * white;
        d[i + 2] = b * white;
      }
    },
  }),
});
