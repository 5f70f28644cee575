/**
 * RandAugment (Cubuk et al., RandAugment, CVPR Workshops 2020, arXiv:1909.13719) as timm's
 * `rand-m9-mstd0.5-inc1`, the policy of the DeiT, ConvNeXt and MAE fine-tuning recipes: `num_ops`
 * operations drawn with replacement from 15 (augmentOps.ts), each applied with probability `p` at a
 * magnitude drawn from N(magnitude, magnitude_std) clipped to [0, 10]; `increasing` picks timm's
 * "increasing" variants (inc1), where a larger magnitude is always a stronger change.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import { RAND_OP_NAMES, applyOp, fillParam, magnitudeStdParam, policyInput, randOp } from './augmentOps';
import { probabilityParam, type PipelineStep } from './step';

export const randAugmentParams = z.strictObject({
  num_ops: z.number().int().min(0).max(15).default(2).describe('Operations per image, drawn with replacement (timm n)'),
  magnitude: z.number().min(0).max(10).default(9).describe('Strength of each operation, 0 to 10 (timm m)'),
  magnitude_std: magnitudeStdParam(0.5),
  increasing: z.boolean().default(true).describe("timm's increasing variants (inc1): posterize, solarize and the enhancements change more as the magnitude grows"),
  p: probabilityParam(0.5, 'each drawn operation'),
  ops: z.array(z.enum(RAND_OP_NAMES)).min(1).default(RAND_OP_NAMES).describe('The operations to draw from (default all 15; Posterize, Solarize, Color, Contrast, Brightness, Sharpness are the increasing ones with increasing: true)'),
  fill: fillParam([124, 116, 104], 'timm: the ImageNet mean'),
});

register('pipeline', {
  type: 'RandAugment',
  description: "RandAugment as timm's rand-m9-mstd0.5-inc1: num_ops of 15 colour and geometric operations at a random magnitude (before ToTensor/Normalize)",
  paper: 'Cubuk et al., RandAugment, CVPR Workshops 2020 (arXiv:1909.13719); timm auto_augment.py rand_augment_transform',
  params: randAugmentParams,
  build: (p): PipelineStep => {
    const ops = p.ops.map((name) => randOp(name, p.increasing));
    return {
      type: 'RandAugment',
      apply(state, rng) {
        const input = policyInput(state, 'RandAugment', p.fill);
        let img = input.img;
        for (let k = 0; k < p.num_ops; k++) img = applyOp(img, ops[rng.int(ops.length)], p.p, p.magnitude, p.magnitude_std, input.fill, rng);
        state.img = img;
      },
    };
  },
});
