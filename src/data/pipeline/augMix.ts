/**
 * AugMix (Hendrycks et al., AugMix: A Simple Data Processing Method to Improve Robustness and
 * Uncertainty, ICLR 2020, arXiv:1912.02781) as timm's AugMixAugment (its default, not blended):
 * `width` chains, each of `depth` operations (1 to 3 at random with -1) drawn with replacement and
 * applied to the original image at a magnitude uniform in [0, magnitude]; the chains mixed with
 * Dirichlet(alpha) weights, clipped to the pixel range, and blended with the original by m ~
 * Beta(alpha, alpha). timm's operations for it: no Invert, Solarize/Posterize/enhancements increasing,
 * no SolarizeAdd. The image only: the paper's Jensen-Shannon consistency loss over clean and
 * augmented views is not part of this step.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import { TIMM_OP_NAMES, applyOp, fillParam, magnitudeStdParam, policyInput, timmOp, type Owned, type TimmOpName } from './augmentOps';
import type { PipelineStep } from './step';

const AUGMIX_OPS: TimmOpName[] = [
  'AutoContrast',
  'ColorIncreasing',
  'ContrastIncreasing',
  'BrightnessIncreasing',
  'SharpnessIncreasing',
  'Equalize',
  'Rotate',
  'PosterizeIncreasing',
  'SolarizeIncreasing',
  'ShearX',
  'ShearY',
  'TranslateXRel',
  'TranslateYRel',
];

export const augMixParams = z.strictObject({
  magnitude: z.number().min(0).max(10).default(3).describe('Severity: the largest magnitude an operation draws, 0 to 10 (timm m)'),
  width: z.number().int().min(1).max(16).default(3).describe('Augmentation chains mixed (timm w)'),
  depth: z.number().int().min(-1).max(16).refine((d) => d !== 0, 'depth is -1 (1 to 3 at random) or at least 1').default(-1).describe('Operations per chain; -1: 1 to 3 at random for each chain (timm d)'),
  alpha: z.number().gt(0).default(1).describe("Dirichlet's concentration for the chains' weights and Beta(alpha, alpha)'s for the blend with the original (timm a)"),
  magnitude_std: magnitudeStdParam('uniform'),
  ops: z.array(z.enum(TIMM_OP_NAMES)).min(1).default(AUGMIX_OPS).describe("The operations the chains draw from (timm's AugMix list by default)"),
  fill: fillParam([124, 116, 104], 'timm: the ImageNet mean'),
});

register('pipeline', {
  type: 'AugMix',
  description: "AugMix as timm's augmix-m3-w3: chains of random operations mixed with Dirichlet weights, then blended with the original image (before ToTensor/Normalize)",
  paper: 'Hendrycks et al., AugMix, ICLR 2020 (arXiv:1912.02781); timm auto_augment.py augment_and_mix_transform',
  params: augMixParams,
  build: (p): PipelineStep => {
    const ops = p.ops.map(timmOp);
    return {
      type: 'AugMix',
      apply(state, rng) {
        const { img, fill } = policyInput(state, 'AugMix', p.fill);
        const white = img.white!;
        const gammas = Array.from({ length: p.width }, () => rng.gamma(p.alpha));
        const total = gammas.reduce((a, b) => a + b, 0);
        const weights = gammas.map((g) => (total > 0 ? g / total : 1 / p.width));
        const m = rng.beta(p.alpha, p.alpha);
        const mixed = new Float32Array(img.data.length);
        for (const w of weights) {
          const depth = p.depth > 0 ? p.depth : 1 + rng.int(3);
          // Every chain starts from the original; the operations may change their input in place.
          let chain: Owned = { ...img, data: new Float32Array(img.data) };
          for (let k = 0; k < depth; k++) chain = applyOp(chain, ops[rng.int(ops.length)], 1, p.magnitude, p.magnitude_std, fill, rng);
          for (let i = 0; i < mixed.length; i++) mixed[i] += w * chain.data[i];
        }
        const d = img.data;
        for (let i = 0; i < d.length; i++) d[i] = (1 - m) * d[i] + m * Math.min(white, Math.max(0, mixed[i]));
        state.img = img;
      },
    };
  },
});
