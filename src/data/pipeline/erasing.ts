/**
 * RandomErasing (Zhong et al., Random Erasing Data Augmentation, AAAI 2020), as timm's: with
 * probability p, `count` rectangles of a random area (a fraction of the image, split between them)
 * and log-uniform aspect ratio, each placed uniformly where it fits (up to 10 tries), are replaced
 * by standard-normal noise per pixel (`pixel`, the recipes' `--remode pixel`), one normal colour
 * (`rand`) or zeros (`const`). Noise is on the scale of a normalised image, so those modes come
 * after Normalize. DeiT, ConvNeXt and MAE fine-tune with p 0.25.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { probabilityParam, rangeParam, writablePixels, type PipelineStep } from './step';

export const randomErasingParams = z.strictObject({
  p: probabilityParam(0.25, 'the erasing (timm --reprob; 0.25 in the DeiT, ConvNeXt and MAE recipes)'),
  area: rangeParam(0.02, 1 / 3, 0, 1).describe('Fraction of the image erased, drawn uniformly in [min, max] and shared between the rectangles'),
  aspect: rangeParam(0.3, 1 / 0.3, 0.001).describe('Height / width of a rectangle, drawn log-uniformly in [min, max]'),
  mode: z.enum(['pixel', 'rand', 'const']).default('pixel').describe('Fill: standard-normal noise per pixel, one standard-normal colour per rectangle, or zeros'),
  count: z.number().int().min(1).max(16).default(1).describe('Rectangles per erased image'),
});

register('pipeline', {
  type: 'RandomErasing',
  description: 'Replace random rectangles of the (normalised) image by noise or zeros, with probability p',
  paper: 'Zhong et al., Random Erasing Data Augmentation, AAAI 2020 (arXiv:1708.04896); timm RandomErasing',
  params: randomErasingParams,
  build: (p): PipelineStep => ({
    type: 'RandomErasing',
    apply(state, rng) {
      if (!rng.chance(p.p)) return;
      const { height: H, width: W, channels: C } = state.img;
      if (p.mode !== 'const' && state.img.white !== undefined) {
        throw new UserError(`RandomErasing: mode ${p.mode} fills with standard-normal values, the scale of a normalised image; put it after Normalize (or use mode: const)`);
      }
      const d = writablePixels(state);
      const [logLo, logHi] = [Math.log(p.aspect[0]), Math.log(p.aspect[1])];
      for (let n = 0; n < p.count; n++) {
        for (let attempt = 0; attempt < 10; attempt++) {
          const target = (rng.uniform(p.area[0], p.area[1]) * H * W) / p.count;
          const aspect = Math.exp(rng.uniform(logLo, logHi));
          const h = Math.round(Math.sqrt(target * aspect));
          const w = Math.round(Math.sqrt(target / aspect));
          if (!(w < W && h < H)) continue;
          const top = rng.int(H - h + 1);
          const left = rng.int(W - w + 1);
          const colour = Array.from({ length: C }, () => (p.mode === 'rand' ? rng.normal() : 0));
          for (let y = top; y < top + h; y++) {
            for (let x = left; x < left + w; x++) {
              const i = (y * W + x) * C;
              for (let c = 0; c < C; c++) d[i + c] = p.mode === 'pixel' ? rng.normal() : colour[c];
            }
          }
          break;
        }
      }
    },
  }),
});
