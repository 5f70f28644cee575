/**
 * TrivialAugment (Müller and Hutter, TrivialAugment: Tuning-free Yet State-of-the-Art Data
 * Augmentation, ICCV 2021, arXiv:2103.10158) as torchvision's TrivialAugmentWide, the policy of
 * torchvision's own recipe for its current ImageNet weights: one of 14 operations per image, uniformly,
 * at one of `num_magnitude_bins` magnitudes, uniformly, with a random sign where the operation has
 * one. torchvision's ranges ("wide") and its choices: shear and rotation about the top-left corner
 * and the centre as torchvision passes them to PIL, translations in whole pixels (up to 32),
 * nearest-neighbour resampling and a black fill by default, enhancement factors 1 + magnitude.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import { fillParam, pilAffine, policyInput, randOp, rotationMatrix, type Owned } from './augmentOps';
import type { PipelineStep } from './step';

interface WideOp {
  /** The magnitudes for `n` bins (torchvision's _augmentation_space); none: magnitude 0. */
  bins?(n: number): number[];
  /** A random sign on the drawn magnitude. */
  signed: boolean;
  apply(img: Owned, magnitude: number, fill: number[], nearest: boolean): Owned;
}

const linspace = (start: number, end: number) => (n: number) => Array.from({ length: n }, (_, k) => (n === 1 ? start : start + ((end - start) * k) / (n - 1)));

/** torch.round: halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The operations this policy shares with timm's (their arguments given here, not drawn). */
const [posterize, solarize, autoContrast, equalize] = (['Posterize', 'Solarize', 'AutoContrast', 'Equalize'] as const).map((name) => randOp(name, false).apply);

/** An enhancement at factor 1 + magnitude. */
function enhance(name: 'Brightness' | 'Color' | 'Contrast' | 'Sharpness'): WideOp {
  const op = randOp(name, false).apply;
  return { bins: linspace(0, 0.99), signed: true, apply: (img, m) => op(img, 1 + m, []) };
}

export const TRIVIAL_AUGMENT_OPS: Record<string, WideOp> = {
  Identity: { signed: false, apply: (img) => img },
  ShearX: { bins: linspace(0, 0.99), signed: true, apply: (img, m, fill, nearest) => pilAffine(img, [1, m, 0, 0, 1, 0], fill, nearest) },
  ShearY: { bins: linspace(0, 0.99), signed: true, apply: (img, m, fill, nearest) => pilAffine(img, [1, 0, 0, m, 1, 0], fill, nearest) },
  TranslateX: { bins: linspace(0, 32), signed: true, apply: (img, m, fill, nearest) => pilAffine(img, [1, 0, -Math.trunc(m), 0, 1, 0], fill, nearest) },
  TranslateY: { bins: linspace(0, 32), signed: true, apply: (img, m, fill, nearest) => pilAffine(img, [1, 0, 0, 0, 1, -Math.trunc(m)], fill, nearest) },
  Rotate: { bins: linspace(0, 135), signed: true, apply: (img, m, fill, nearest) => pilAffine(img, rotationMatrix(m, img.width, img.height), fill, nearest) },
  Brightness: enhance('Brightness'),
  Color: enhance('Color'),
  Contrast: enhance('Contrast'),
  Sharpness: enhance('Sharpness'),
  Posterize: { bins: (n) => Array.from({ length: n }, (_, k) => 8 - roundHalfEven(k / ((n - 1) / 6))), signed: false, apply: (img, bits) => posterize(img, bits, []) },
  Solarize: { bins: linspace(255, 0), signed: false, apply: (img, threshold) => solarize(img, threshold, []) },
  AutoContrast: { signed: false, apply: (img) => autoContrast(img, 0, []) },
  Equalize: { signed: false, apply: (img) => equalize(img, 0, []) },
};

export const trivialAugmentParams = z.strictObject({
  num_magnitude_bins: z.number().int().min(2).max(256).default(31).describe('Magnitudes each operation draws from, uniformly (torchvision num_magnitude_bins)'),
  interpolation: z.enum(['nearest', 'bilinear']).default('nearest').describe("Resampling of the geometric operations (torchvision's default: nearest)"),
  fill: fillParam([0], 'torchvision: black'),
});

register('pipeline', {
  type: 'TrivialAugmentWide',
  description: "TrivialAugment as torchvision's TrivialAugmentWide: one of 14 operations per image at a uniformly drawn magnitude (before ToTensor/Normalize)",
  paper: 'Müller and Hutter, TrivialAugment, ICCV 2021 (arXiv:2103.10158); torchvision transforms.TrivialAugmentWide',
  params: trivialAugmentParams,
  build: (p): PipelineStep => {
    const ops = Object.values(TRIVIAL_AUGMENT_OPS).map((op) => ({ op, bins: op.bins?.(p.num_magnitude_bins) }));
    return {
      type: 'TrivialAugmentWide',
      apply(state, rng) {
        const { img, fill } = policyInput(state, 'TrivialAugmentWide', p.fill);
        const { op, bins } = ops[rng.int(ops.length)];
        let magnitude = bins ? bins[rng.int(bins.length)] : 0;
        if (op.signed && rng.int(2)) magnitude = -magnitude;
        state.img = op.apply(img, magnitude, fill, p.interpolation === 'nearest');
      },
    };
  },
});
