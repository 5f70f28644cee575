/**
 * AutoAugment (Cubuk et al., AutoAugment: Learning Augmentation Policies from Data, CVPR 2019,
 * arXiv:1805.09501) as timm's auto_augment_transform: each image draws one of a policy's sub-policies
 * uniformly and applies its two operations in order, each with its own probability at its own
 * magnitude (0 to 10; augmentOps.ts maps it to the operation's argument). The four ImageNet
 * policies timm ships ('v0', the TPU EfficientNet one, its default; 'original', the paper's ImageNet one; their
 * `r` variants with the research code's posterize), or `sub_policies` of one's own.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import { TIMM_OP_NAMES, applyOp, fillParam, magnitudeStdParam, policyInput, timmOp, type TimmOpName } from './augmentOps';
import type { PipelineStep } from './step';

/** [operation, probability, magnitude]: timm's tuples. */
type Entry = [TimmOpName, number, number];

/** The TPU EfficientNet ImageNet policy (timm: "cannot find a paper reference"). */
const V0: Entry[][] = [
  [['Equalize', 0.8, 1], ['ShearY', 0.8, 4]],
  [['Color', 0.4, 9], ['Equalize', 0.6, 3]],
  [['Color', 0.4, 1], ['Rotate', 0.6, 8]],
  [['Solarize', 0.8, 3], ['Equalize', 0.4, 7]],
  [['Solarize', 0.4, 2], ['Solarize', 0.6, 2]],
  [['Color', 0.2, 0], ['Equalize', 0.8, 8]],
  [['Equalize', 0.4, 8], ['SolarizeAdd', 0.8, 3]],
  [['ShearX', 0.2, 9], ['Rotate', 0.6, 8]],
  [['Color', 0.6, 1], ['Equalize', 1.0, 2]],
  [['Invert', 0.4, 9], ['Rotate', 0.6, 0]],
  [['Equalize', 1.0, 9], ['ShearY', 0.6, 3]],
  [['Color', 0.4, 7], ['Equalize', 0.6, 0]],
  [['Posterize', 0.4, 6], ['AutoContrast', 0.4, 7]],
  [['Solarize', 0.6, 8], ['Color', 0.6, 9]],
  [['Solarize', 0.2, 4], ['Rotate', 0.8, 9]],
  [['Rotate', 1.0, 7], ['TranslateYRel', 0.8, 9]],
  [['ShearX', 0.0, 0], ['Solarize', 0.8, 4]],
  [['ShearY', 0.8, 0], ['Color', 0.6, 4]],
  [['Color', 1.0, 0], ['Rotate', 0.6, 2]],
  [['Equalize', 0.8, 4], ['Equalize', 0.0, 8]],
  [['Equalize', 1.0, 4], ['AutoContrast', 0.6, 2]],
  [['ShearY', 0.4, 7], ['SolarizeAdd', 0.6, 7]],
  [['Posterize', 0.8, 2], ['Solarize', 0.6, 10]],
  [['Solarize', 0.6, 8], ['Equalize', 0.6, 1]],
  [['Color', 0.8, 6], ['Rotate', 0.4, 5]],
];

/** The paper's ImageNet policy. */
const ORIGINAL: Entry[][] = [
  [['PosterizeOriginal', 0.4, 8], ['Rotate', 0.6, 9]],
  [['Solarize', 0.6, 5], ['AutoContrast', 0.6, 5]],
  [['Equalize', 0.8, 8], ['Equalize', 0.6, 3]],
  [['PosterizeOriginal', 0.6, 7], ['PosterizeOriginal', 0.6, 6]],
  [['Equalize', 0.4, 7], ['Solarize', 0.2, 4]],
  [['Equalize', 0.4, 4], ['Rotate', 0.8, 8]],
  [['Solarize', 0.6, 3], ['Equalize', 0.6, 7]],
  [['PosterizeOriginal', 0.8, 5], ['Equalize', 1.0, 2]],
  [['Rotate', 0.2, 3], ['Solarize', 0.6, 8]],
  [['Equalize', 0.6, 8], ['PosterizeOriginal', 0.4, 6]],
  [['Rotate', 0.8, 8], ['Color', 0.4, 0]],
  [['Rotate', 0.4, 9], ['Equalize', 0.6, 2]],
  [['Equalize', 0.0, 7], ['Equalize', 0.8, 8]],
  [['Invert', 0.6, 4], ['Equalize', 1.0, 8]],
  [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
  [['Rotate', 0.8, 8], ['Color', 1.0, 2]],
  [['Color', 0.8, 8], ['Solarize', 0.8, 7]],
  [['Sharpness', 0.4, 7], ['Invert', 0.6, 8]],
  [['ShearX', 0.6, 5], ['Equalize', 1.0, 9]],
  [['Color', 0.4, 0], ['Equalize', 0.6, 3]],
  [['Equalize', 0.4, 7], ['Solarize', 0.2, 4]],
  [['Solarize', 0.6, 5], ['AutoContrast', 0.6, 5]],
  [['Invert', 0.6, 4], ['Equalize', 1.0, 8]],
  [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
  [['Equalize', 0.8, 8], ['Equalize', 0.6, 3]],
];

/** The `r` variants: the same, with the research code's posterize (more bits dropped at a larger magnitude). */
const researchPosterize = (policy: Entry[][]): Entry[][] =>
  policy.map((sub) => sub.map(([name, p, m]): Entry => [name === 'Posterize' || name === 'PosterizeOriginal' ? 'PosterizeIncreasing' : name, p, m]));

export const AUTO_AUGMENT_POLICIES = { v0: V0, v0r: researchPosterize(V0), original: ORIGINAL, originalr: researchPosterize(ORIGINAL) };

const entry = z.tuple([z.enum(TIMM_OP_NAMES), z.number().min(0).max(1), z.number().min(0).max(10)]);

export const autoAugmentParams = z.strictObject({
  policy: z.enum(['v0', 'v0r', 'original', 'originalr']).default('v0').describe("timm's ImageNet policies: v0 (TPU EfficientNet), original (the paper's), and their r variants (the research code's posterize)"),
  sub_policies: z
    .array(z.array(entry).min(1))
    .min(1)
    .optional()
    .describe('A policy of your own instead: a list of sub-policies, each a list of [operation, probability, magnitude 0-10] (timm names, e.g. [[Equalize, 0.8, 1], [ShearY, 0.8, 4]])'),
  magnitude_std: magnitudeStdParam(0),
  fill: fillParam([124, 116, 104], 'timm: the ImageNet mean'),
});

register('pipeline', {
  type: 'AutoAugment',
  description: "AutoAugment as timm's: one sub-policy of two operations per image, each at its own probability and magnitude (policies v0, original, or your own; before ToTensor/Normalize)",
  paper: 'Cubuk et al., AutoAugment: Learning Augmentation Policies from Data, CVPR 2019 (arXiv:1805.09501); timm auto_augment.py auto_augment_transform',
  params: autoAugmentParams,
  build: (p): PipelineStep => {
    const policy = (p.sub_policies ?? AUTO_AUGMENT_POLICIES[p.policy]).map((sub) => sub.map(([name, prob, magnitude]) => ({ op: timmOp(name), prob, magnitude })));
    return {
      type: 'AutoAugment',
      apply(state, rng) {
        const input = policyInput(state, 'AutoAugment', p.fill);
        let img = input.img;
        for (const { op, prob, magnitude } of policy[rng.int(policy.length)]) img = applyOp(img, op, prob, magnitude, p.magnitude_std, input.fill, rng);
        state.img = img;
      },
    };
  },
});
